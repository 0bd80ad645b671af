"""JSON REST API at /api/v1, authenticated by bearer tokens (`flowcrm create-token`)."""

from __future__ import annotations

from flask import Response, jsonify

from web.blueprints.api import (
    assignment,
    audit,
    boards,
    cards,
    duplicates,
    events,
    find,
    imports,
    incidents,
    links,
    processes,
    records,
    reminders,
    reports,
    search,
    segments,
    tasks,
)
from web.blueprints.api.base import actor, bp, reply
from web.openapi import openapi_document


@bp.get("/me")
def me() -> Response:
    """The token holder."""
    return reply(actor())


@bp.get("/openapi.json")
def openapi() -> Response:
    """The OpenAPI 3.1 document of this API (no token needed)."""
    return jsonify(openapi_document())


__all__ = ["assignment", "audit", "boards", "bp", "cards", "duplicates", "events", "find", "imports", "incidents",
           "links", "processes", "records", "reminders", "reports", "search", "segments", "tasks"]
