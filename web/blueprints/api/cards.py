"""API: a record's activity timeline, logging on a record in one step (log a call), reference choices."""

from __future__ import annotations

from flask import Response, request, url_for
from werkzeug.exceptions import BadRequest

from engine.errors import ValidationError
from engine.services.card_log import log_on_record
from engine.services.timeline import MAX_PAGE, TIMELINE_PAGE, record_timeline
from engine.services.titles import CHOICES, reference_choices
from web import now, uow
from web.blueprints.api.base import actor, bp, int_arg, json_body, reply


@bp.get("/records/<int:record_id>/timeline")
def record_timeline_page(record_id: int) -> Response:
    """The record's timeline, newest first: `kind` (repeat or comma-separate) narrows it, `after` pages it."""
    kinds = [k for raw in request.args.getlist("kind") for k in raw.split(",") if k]
    limit = int_arg("limit", TIMELINE_PAGE, 1, MAX_PAGE)
    try:
        page = record_timeline(uow(), actor(), record_id, kinds=kinds, after=request.args.get("after") or None,
                               limit=limit)
    except ValidationError as exc:
        raise BadRequest(f"bad query parameter: {exc}") from exc
    return reply({"items": page.items, "limit": limit, "next": page.next_cursor,
                  "titles": {str(k): v for k, v in page.titles.items()}})


@bp.post("/records/<int:record_id>/log/<entity>")
def log_on_record_route(record_id: int, entity: str) -> Response:
    """Log on the record with the entity's log form: the JSON body holds the fields the form asks."""
    who = actor()
    logged = log_on_record(uow(), who, record_id, entity, json_body(), now(), who.locale)
    return reply({"record": logged.record, "task_id": logged.task_id, "task_title": logged.task_title,
                  "task_due_at": logged.task_due_at}, 201, url_for("api.get_record", record_id=logged.record.id))


@bp.get("/records/<entity>/choices")
def record_choices(entity: str) -> Response:
    """Records of the entity the token holder may see whose title contains `q` (or whose number it is)."""
    limit = int_arg("limit", CHOICES, 1, 100)
    found = reference_choices(uow(), actor(), entity, request.args.get("q", ""), limit)
    return reply({"items": [{"id": i, "title": title} for i, title in found]})
