"""API: the global search (names in any script, phones in any format, e-mails), grouped by entity."""

from __future__ import annotations

from flask import Response, request
from werkzeug.exceptions import BadRequest

from engine.services.search import search
from web import uow
from web.blueprints.api.base import actor, bp, reply


@bp.get("/search")
def search_records() -> Response:
    """Records matching ?q= across entities (names in any script, phones in any format, e-mails), grouped."""
    query = request.args.get("q", "").strip()
    if not query:
        raise BadRequest("query parameter 'q' is required: a name, a phone or an e-mail")
    return reply(search(uow(), actor(), query))
