"""API: the audit log (filtered, keyset-paged) and a record as it was at a past moment."""

from __future__ import annotations

from flask import Response, request
from werkzeug.exceptions import BadRequest

from engine.errors import ValidationError
from engine.services import audit
from engine.services.audit import AuditQuery
from web import uow
from web.blueprints.api.base import MAX_LIMIT, actor, bp, int_arg, reply
from web.blueprints.audit import audit_query


def _query() -> AuditQuery:
    try:
        return audit_query(request.args, request.args.getlist("kind"))
    except ValidationError as exc:
        raise BadRequest(f"bad query parameter: {exc}") from exc


@bp.get("/audit")
def audit_log() -> Response:
    """Field changes, process steps, inbound events and merges, newest first; `after` continues a page."""
    audit.require_audit_reader(actor())
    limit = int_arg("limit", 50, 1, MAX_LIMIT)
    query = _query()
    try:
        page = audit.audit_log(uow(), actor(), query, limit=limit, after=request.args.get("after") or None)
    except ValidationError as exc:
        raise BadRequest(f"bad query parameter: {exc}") from exc
    return reply({"items": page.items, "limit": limit, "next": page.next_cursor})


@bp.get("/records/<int:record_id>/as-of")
def record_as_of(record_id: int) -> Response:
    """The record as it was at `?at=` (ISO 8601; UTC when no offset), with the source of each value."""
    raw = request.args.get("at", "")
    if not raw.strip():
        raise BadRequest("query parameter 'at' is required: an ISO 8601 date-time, e.g. 2026-03-02T09:00:00Z")
    try:
        at = audit.parse_moment(raw, "at")
    except ValidationError as exc:
        raise BadRequest(f"bad query parameter: {exc}") from exc
    assert at is not None  # noqa: S101 - a non-blank value parses or raises
    return reply(audit.record_as_of(uow(), actor(), record_id, at))
