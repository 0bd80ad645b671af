"""API: records of configured entities, their field history and their process instances."""

from __future__ import annotations

from flask import Response, request, url_for
from werkzeug.exceptions import BadRequest

from engine.errors import ValidationError
from engine.input_limits import MAX_ID
from engine.services import instances, records
from web import now, uow
from web.blueprints.api.base import MAX_LIMIT, actor, bp, int_arg, json_body, only_keys, page, reply


@bp.get("/records/<entity>")
def list_records(entity: str) -> Response:
    """Records of an entity the token holder may see, newest first; paged by keyset (`after` a record id: a
    reply's `next_after`) or by offset."""
    limit, offset = page()
    after = int_arg("after", 0, 1, MAX_ID) or None  # 400 naming it when not an id
    # one row more than asked says whether a page lies beyond
    items = records.list_records(uow(), actor(), entity, limit=limit + 1, offset=offset, after=after)
    next_after = items[limit - 1].id if len(items) > limit else None
    return reply({"items": items[:limit], "limit": limit, "offset": offset, "after": after, "next_after": next_after})


@bp.post("/records/<entity>")
def create_record(entity: str) -> Response:
    """Create a record from its fields (the JSON body); processes configured with startOn=create start."""
    record = records.create_record(uow(), actor(), entity, json_body(), now())
    return reply(record, 201, url_for("api.get_record", record_id=record.id))


@bp.get("/records/<int:record_id>")
def get_record(record_id: int) -> Response:
    """One record."""
    return reply(records.get_record(uow(), actor(), record_id))


@bp.patch("/records/<int:record_id>")
def update_record(record_id: int) -> Response:
    """Change fields: `{"changes": {...}, "expected_revision": n}`; a stale revision is 409."""
    body = json_body()
    only_keys(body, {"changes", "expected_revision"})
    changes, expected = body.get("changes"), body.get("expected_revision")
    if not isinstance(changes, dict):
        raise BadRequest("'changes' must be a JSON object of field names to new values")
    if expected is not None and (not isinstance(expected, int) or isinstance(expected, bool)):
        raise BadRequest("'expected_revision' must be an integer (the record's 'revision') or null")
    return reply(records.update_record(uow(), actor(), record_id, changes, now(), expected_revision=expected))


@bp.get("/records/<int:record_id>/history")
def record_history(record_id: int) -> Response:
    """Field-level history of a record, newest first, a page at a time (`before`: the previous page's `older`)."""
    limit = int_arg("limit", records.HISTORY_PAGE, 1, MAX_LIMIT)
    before = int_arg("before", 0, 1) if request.args.get("before") else None
    try:
        page = records.record_history_page(uow(), actor(), record_id, before=before, limit=limit)
    except ValidationError as exc:
        raise BadRequest(f"bad query parameter: {exc}") from exc
    return reply({"items": page.items, "limit": limit, "older": page.older})


@bp.get("/records/<int:record_id>/instances")
def record_instances(record_id: int) -> Response:
    """The process instances that ran or run on a record."""
    return reply({"items": instances.instances_for_record(uow(), actor(), record_id)})
