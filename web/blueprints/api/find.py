"""API: find records by a filter (docs/filters.md) — a page of records with the total, or only the count."""

from __future__ import annotations

from typing import Any

from flask import Response
from werkzeug.exceptions import BadRequest

from engine.services import finding
from web import now, uow
from web.blueprints.api.base import MAX_LIMIT, actor, bp, json_body, only_keys, reply


def _filter(body: dict[str, Any]) -> dict[str, Any]:
    flt = body.get("filter")
    if not isinstance(flt, dict):
        raise BadRequest("'filter' must be a JSON object {entity, where, sort} (see docs/filters.md)")
    return flt


def _bounded(body: dict[str, Any], name: str, default: int, minimum: int, maximum: int | None) -> int:
    value = body.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum or (
            maximum is not None and value > maximum):
        bounds = f"from {minimum} to {maximum}" if maximum is not None else f"at least {minimum}"
        raise BadRequest(f"'{name}' must be a whole number {bounds}")
    return value


@bp.post("/find")
def find_records() -> Response:
    """Records matching `{"filter": {...}, "limit": 50, "offset": 0}` that the token holder may see."""
    body = json_body()
    only_keys(body, {"filter", "limit", "offset"})
    flt = _filter(body)
    limit, offset = _bounded(body, "limit", 50, 1, MAX_LIMIT), _bounded(body, "offset", 0, 0, None)
    page = finding.find_records(uow(), actor(), flt, now(), limit=limit, offset=offset)
    return reply({"items": page.items, "total": page.total, "exact": page.exact, "limit": limit, "offset": offset})


@bp.post("/find/count")
def count_records() -> Response:
    """How many records match `{"filter": {...}}` among those the token holder may see: exact up to 10,000, an
    estimate beyond (`exact` false) on PostgreSQL."""
    body = json_body()
    only_keys(body, {"filter"})
    count, exact = finding.estimate_count(uow(), actor(), _filter(body), now())
    return reply({"count": count, "exact": exact, "total": count})
