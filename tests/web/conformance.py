"""Checks API responses against the OpenAPI document: each feature's tests exercise its documented routes."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator

from tests.web.api_client import ApiUser
from web.openapi import openapi_document


class Conformance:
    """Checks each response against the schema the document declares for its route and status."""

    def __init__(self) -> None:
        self.document = openapi_document()
        self.checked: set[tuple[str, str, str]] = set()

    def schema(self, path: str, method: str, status: int) -> dict[str, Any] | None:
        """The declared JSON schema of a response; None for a response without content (204)."""
        response = self.document["paths"][path][method]["responses"][str(status)]
        if "$ref" in response:
            response = self.document["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
        if "content" not in response:
            return None
        schema: dict[str, Any] = response["content"]["application/json"]["schema"]
        return schema

    def check(self, user: ApiUser, method: str, path: str, status: int, body: Any = None,
              **values: Any) -> dict[str, Any]:
        """Send a request to a documented path template and validate the answer against the document."""
        url = path.format(**values)
        response = user.send(method, url, body)
        assert response.status_code == status, (method, url, response.get_json(silent=True))
        declared = self.schema(path, method, status)
        if declared is None:
            assert response.get_data() == b"", (method, url)
            self.checked.add((path, method, str(status)))
            return {}
        root = {"$ref": "#/$defs/target", "$defs": {"target": declared},
                "components": self.document["components"]}
        errors = sorted(Draft202012Validator(root).iter_errors(response.get_json()), key=str)
        assert not errors, (method, url, [e.message for e in errors])
        self.checked.add((path, method, str(status)))
        answer: dict[str, Any] = response.get_json()
        return answer
