"""API: segments (saved filters), their records, mass actions on them, and their export as CSV or XLSX."""

from __future__ import annotations

from typing import Any

from flask import Response, request, url_for
from werkzeug.exceptions import BadRequest

from engine.services import segments
from engine.services.exports import FORMATS
from engine.services.mass_actions import parse_action, run_segment_action
from web import now, uow
from web.blueprints.api.base import actor, bp, json_body, only_keys, page, reply
from web.exports_http import export_response


def _text(body: dict[str, Any], key: str, required: bool) -> str | None:
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise BadRequest(f"'{key}' must be a string")
    return value


def _filter(body: dict[str, Any]) -> dict[str, Any]:
    value = body.get("filter")
    if not isinstance(value, dict):
        raise BadRequest("'filter' must be a JSON object (docs/filters.md)")
    return value


@bp.get("/segments")
def list_segments() -> Response:
    """Every segment, by entity and name (?entity= for one entity's)."""
    return reply({"items": segments.list_segments(uow(), actor(), request.args.get("entity") or None)})


@bp.post("/segments")
def create_segment() -> Response:
    """Save a filter as a segment: `{"entity", "name", "filter", "description"?}`."""
    body = json_body()
    only_keys(body, {"entity", "name", "filter", "description"})
    saved = segments.create_segment(uow(), actor(), _text(body, "entity", True) or "", _text(body, "name", True) or "",
                                    _filter(body), now(), description=_text(body, "description", False) or "")
    return reply(saved, 201, url_for("api.get_segment", segment_id=saved.id))


@bp.get("/segments/<int:segment_id>")
def get_segment(segment_id: int) -> Response:
    """One segment."""
    return reply(segments.get_segment(uow(), actor(), segment_id))


@bp.put("/segments/<int:segment_id>")
def update_segment(segment_id: int) -> Response:
    """Replace a segment's name, filter and description."""
    body = json_body()
    only_keys(body, {"name", "filter", "description"})
    return reply(segments.update_segment(uow(), actor(), segment_id, now(), name=_text(body, "name", True),
                                         filter=_filter(body), description=_text(body, "description", False) or ""))


@bp.delete("/segments/<int:segment_id>")
def delete_segment(segment_id: int) -> Response:
    """Remove a segment (its records stay)."""
    segments.delete_segment(uow(), actor(), segment_id)
    return Response(status=204)


@bp.get("/segments/<int:segment_id>/records")
def segment_records(segment_id: int) -> Response:
    """One page of the segment's records the token holder may see, with the total."""
    limit, offset = page()
    found = segments.run_segment(uow(), actor(), segment_id, now(), limit=limit, offset=offset)
    return reply({"items": found.items, "total": found.total, "exact": found.exact, "limit": limit,
                  "offset": offset})


@bp.post("/segments/<int:segment_id>/actions")
def segment_action(segment_id: int) -> Response:
    """A mass action on the segment's records, all or nothing (`"dry_run": true` only reports)."""
    body = json_body()
    dry_run = body.pop("dry_run", False)
    if not isinstance(dry_run, bool):
        raise BadRequest("'dry_run' must be true or false")
    return reply(run_segment_action(uow(), actor(), segment_id, parse_action(body), now(), dry_run=dry_run))


@bp.get("/segments/<int:segment_id>/export")
def export_segment(segment_id: int) -> Response:
    """The segment's records as CSV (UTF-8 with BOM) or XLSX: ?format=csv|xlsx&columns=a,b."""
    fmt = request.args.get("format", "csv")
    if fmt not in FORMATS:
        raise BadRequest(f"query parameter 'format' must be one of {', '.join(FORMATS)}, got {fmt!r}")
    segment = segments.get_segment(uow(), actor(), segment_id)
    return export_response(fmt, segment.filter, f"segment-{segment.id}")
