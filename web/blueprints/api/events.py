"""API: inbound events (webhooks) configured in crm_model/events.yaml."""

from __future__ import annotations

from typing import Any

from flask import Response
from werkzeug.exceptions import BadRequest

from engine.services import events
from web import now, uow
from web.blueprints.api.base import actor, bp, json_body, only_keys, reply


def _event_body() -> tuple[str | None, dict[str, Any]]:
    body = json_body()
    only_keys(body, {"business_key", "data"})
    key, data = body.get("business_key"), body.get("data", {})
    if isinstance(key, int) and not isinstance(key, bool):
        key = str(key)  # a record id sent as a number
    if key is not None and (not isinstance(key, str) or not key):
        raise BadRequest("'business_key' must be a non-empty string (or a record id)")
    if not isinstance(data, dict):
        raise BadRequest(f"'data' must be a JSON object, not {type(data).__name__}")
    return key, data


@bp.post("/events/<name>")
def post_event(name: str) -> Response:
    """Post an inbound event: `{"business_key": "...", "data": {...}}`."""
    try:
        key, data = _event_body()
    except BadRequest as exc:  # kept like every refused event, then answered 400
        events.log_rejected(uow(), actor(), name, None, None, f"BadRequest: {exc.description}", now())
        raise
    return reply(events.receive_event(uow(), actor(), name, key, data, now()), 201)
