"""API: the token holder's reminders on a record; set and cancel."""

from __future__ import annotations

from datetime import datetime

from flask import Response
from werkzeug.exceptions import BadRequest

from engine.services import reminders
from web import now, uow
from web.blueprints.api.base import actor, bp, json_body, only_keys, reply


@bp.get("/records/<int:record_id>/reminders")
def record_reminders(record_id: int) -> Response:
    """The token holder's pending reminders on a record, soonest first."""
    return reply({"items": reminders.list_reminders(uow(), actor(), record_id)})


@bp.post("/records/<int:record_id>/reminders")
def set_reminder(record_id: int) -> Response:
    """Remind me about this record: `{"due_at": "2026-03-02T09:00:00+03:00", "note": "..."}`."""
    body = json_body()
    only_keys(body, {"due_at", "note"})
    due, note = body.get("due_at"), body.get("note", "")
    try:
        due_at = datetime.fromisoformat(due) if isinstance(due, str) else None
    except ValueError:
        due_at = None
    if due_at is None or due_at.tzinfo is None:
        raise BadRequest("'due_at' must be an ISO 8601 date-time with a UTC offset, like 2026-03-02T09:00:00+03:00")
    if not isinstance(note, str):
        raise BadRequest("'note' must be a string")
    return reply(reminders.set_reminder(uow(), actor(), record_id, due_at, note, now()), 201)


@bp.delete("/reminders/<int:reminder_id>")
def cancel_reminder(reminder_id: int) -> Response:
    """Cancel one of my reminders before it fires."""
    reminders.cancel_reminder(uow(), actor(), reminder_id)
    return Response(status=204)
