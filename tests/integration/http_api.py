"""JSON over real HTTP to a live `flowcrm run` (tests that start servers): one user's bearer token."""

from __future__ import annotations

from typing import Any

import requests


class Api:
    """The REST API of one live server, as one user."""

    def __init__(self, base: str, token: str) -> None:
        self.base, self.headers = f"{base}/api/v1", {"Authorization": f"Bearer {token}"}

    def get(self, path: str, **params: Any) -> Any:
        """GET a path under /api/v1; fails the test unless 200."""
        answer = requests.get(self.base + path, headers=self.headers, params=params, timeout=30)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def post(self, path: str, body: Any = None) -> Any:
        """POST a JSON body; fails the test unless 200 or 201."""
        answer = requests.post(self.base + path, headers=self.headers, json=body, timeout=60)
        assert answer.status_code in (200, 201), answer.text
        return answer.json()


def open_task(api: Api, record_id: int, scope: str = "pool") -> dict[str, Any]:
    """The one open task on a record in the user's scope (pool, mine, team)."""
    (task,) = [t for t in api.get("/tasks", scope=scope)["items"] if t["record_id"] == record_id]
    return task  # type: ignore[no-any-return]
