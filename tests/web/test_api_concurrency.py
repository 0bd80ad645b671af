"""Races over HTTP: two completions or two claims of one task, each in its own request and thread."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from werkzeug.test import TestResponse

from tests.web.api_client import (
    ApiUser,
    create_lead,
    open_task,
    task_completions,
)

ROUNDS = 5  # a race that happens not to overlap proves little: run a few


def race(posts: list[tuple[ApiUser, str, Any]], method: str = "POST") -> list[TestResponse]:
    """Send (user, path, body) each from its own thread and client, released together; exceptions fail the test."""
    barrier = threading.Barrier(len(posts))
    results: list[Any] = [None] * len(posts)

    def run(i: int) -> None:
        user, path, body = posts[i]
        client = user.fork()
        try:
            barrier.wait(timeout=10)
            results[i] = client.send(method, path, body)
        except BaseException as exc:  # reported below, not lost in the thread
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(posts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for r in results:
        if not isinstance(r, TestResponse):
            raise AssertionError(f"a racer did not get a response: {r!r}")
    return results


@pytest.mark.parametrize(("first", "second", "claimed"), [("sales", "sales2", False), ("sales", "sales", True)],
                         ids=["two-salespeople-on-a-pooled-task", "same-user-twice-on-a-claimed-task"])
def test_concurrent_completions_of_one_task_have_exactly_one_winner(api: dict[str, ApiUser], first: str,
                                                                   second: str, claimed: bool) -> None:
    for n in range(ROUNDS):
        lead = create_lead(api["sales"], f"Race {n}")
        task = open_task(api["sales"], lead["id"])
        if claimed:
            assert api["sales"].post(f"/tasks/{task['id']}/claim").status_code == 200
        path = f"/tasks/{task['id']}/complete"
        responses = race([(api[first], path, {"outcome": "convert"}), (api[second], path, {"outcome": "nurture"})])

        assert sorted(r.status_code for r in responses) == [200, 409], [r.get_json() for r in responses]
        loser = next(r for r in responses if r.status_code == 409)
        assert loser.get_json()["error"] == "ConflictError"
        completions = task_completions(api["admin"], task["instance_id"])
        assert len(completions) == 1
        winner_outcome = completions[0]["data"]["outcome"]
        assert winner_outcome in {"convert", "nurture"}
        status = api["admin"].get(f"/records/{lead['id']}").get_json()["data"]["status"]
        assert status == {"convert": "qualified", "nurture": "nurturing"}[winner_outcome]
        detail = api["admin"].get(f"/instances/{task['instance_id']}").get_json()
        assert [t["state"] for t in detail["tasks"] if t["element_id"] == "qualify_lead"] == ["completed"]
        assert len([t for t in detail["tasks"] if t["state"] == "open"]) == (winner_outcome == "convert")


def test_concurrent_claims_of_one_task_have_exactly_one_winner(api: dict[str, ApiUser]) -> None:
    for n in range(ROUNDS):
        lead = create_lead(api["head"], f"Claim race {n}")  # unowned, as a lead for the pool
        task = open_task(api["sales"], lead["id"])
        path = f"/tasks/{task['id']}/claim"
        responses = race([(api["sales"], path, None), (api["sales2"], path, None)])

        assert sorted(r.status_code for r in responses) == [200, 409], [r.get_json() for r in responses]
        winner = next(r for r in responses if r.status_code == 200).get_json()["assignee"]
        assert winner in {"sam", "sue"}
        current = api["admin"].get(f"/tasks/{task['id']}").get_json()["task"]
        assert current["assignee"] == winner
        steps = api["admin"].get(f"/instances/{task['instance_id']}").get_json()["steps"]
        assert [s["actor"] for s in steps if s["kind"] == "claimed"] == [winner]
        owner_changes = [h for h in api["admin"].get(f"/records/{lead['id']}/history").get_json()["items"]
                         if h["field"] == "owner"]
        assert [h["new_value"] for h in owner_changes] == [winner]


def test_concurrent_patches_without_expected_revision_all_win_and_the_last_one_stays(api: dict[str, ApiUser]) -> None:
    racers = ["sales", "head", "admin", "sales"]
    for n in range(ROUNDS):
        lead = create_lead(api["sales"], f"Patch race {n}")
        path = f"/records/{lead['id']}"
        titles = [f"title {n}.{i}" for i in range(len(racers))]
        responses = race([(api[who], path, {"changes": {"title": title}}) for who, title in zip(racers, titles,
                                                                                                 strict=True)],
                         method="PATCH")

        assert [r.status_code for r in responses] == [200] * len(racers), [r.get_json() for r in responses]
        final = api["admin"].get(path).get_json()
        assert final["revision"] == lead["revision"] + len(racers)
        last = max((r.get_json() for r in responses), key=lambda body: body["revision"])
        assert final["data"]["title"] == last["data"]["title"]
        history = api["admin"].get(f"{path}/history").get_json()["items"]
        assert sorted(h["new_value"] for h in history if h["field"] == "title" and h["source"] == "edit") == titles


def test_concurrent_patches_with_the_same_expected_revision_have_exactly_one_winner(api: dict[str, ApiUser]) -> None:
    for n in range(ROUNDS):
        lead = create_lead(api["sales"], f"Guarded patch race {n}")
        path = f"/records/{lead['id']}"
        bodies = [{"changes": {"title": f"guarded {n}.{i}"}, "expected_revision": lead["revision"]} for i in (1, 2)]
        responses = race([(api["sales"], path, bodies[0]), (api["head"], path, bodies[1])], method="PATCH")

        assert sorted(r.status_code for r in responses) == [200, 409], [r.get_json() for r in responses]
        assert api["admin"].get(path).get_json()["revision"] == lead["revision"] + 1
