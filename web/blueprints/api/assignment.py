"""API: mass reassignment of tasks and records; redistributing the work of a user who leaves."""

from __future__ import annotations

from typing import Any

from flask import Response, request
from werkzeug.exceptions import BadRequest

from engine.services import assignment
from web import now, uow
from web.blueprints.api.base import actor, bp, id_value, json_body, only_keys, reply


def _ids(body: dict[str, Any], key: str, kind: type) -> list[Any]:
    ids = body.get(key)
    if not isinstance(ids, list) or not all(isinstance(i, kind) and not isinstance(i, bool) for i in ids):
        raise BadRequest(f"{key!r} must be a list of {'strings' if kind is str else 'integers'}")
    return ids


def _to(body: dict[str, Any]) -> str:
    to = body.get("to")
    if not isinstance(to, str) or not to:
        raise BadRequest("'to' must be the login name of the new assignee")
    return to


@bp.post("/tasks/reassign")
def reassign_tasks() -> Response:
    """Give open tasks to one person: `{"task_ids": [...], "to": "username"}`; all or nothing."""
    body = json_body()
    only_keys(body, {"task_ids", "to"})
    return reply(assignment.reassign_tasks(uow(), actor(), _ids(body, "task_ids", str), _to(body), now()))


@bp.post("/records/reassign")
def reassign_records() -> Response:
    """Make one person the owner of records: `{"record_ids": [...], "to": "username"}`; all or nothing."""
    body = json_body()
    only_keys(body, {"record_ids", "to"})
    record_ids = [id_value(i, f"record_ids[{n}]") for n, i in enumerate(_ids(body, "record_ids", int))]
    return reply(assignment.reassign_records(uow(), actor(), record_ids, _to(body), now()))


@bp.post("/users/<username>/redistribute")
def redistribute_user(username: str) -> Response:
    """Deactivate a user and spread their open tasks and records over their team (`{"strategy": ...}` optional)."""
    body = json_body() if request.content_length else {}
    only_keys(body, {"strategy"})
    strategy = body.get("strategy", "round_robin")
    if not isinstance(strategy, str):
        raise BadRequest("'strategy' must be round_robin or fewest_open")
    return reply(assignment.redistribute_user(uow(), actor(), username, now(), strategy=strategy))
