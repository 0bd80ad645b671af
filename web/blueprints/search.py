"""The header search box's results page: /search?q=… over every entity, grouped, keyboard navigable."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, render_template, request

from engine.services.search import search
from web import uow
from web.auth import actor, login_required
from web.i18n import label

bp = Blueprint("search", __name__, url_prefix="/search")


@bp.get("")
@login_required
def results() -> Any:
    """Records matching ?q= (names in any script, phones in any format, e-mails) that the user may see."""
    query = request.args.get("q", "").strip()
    found = search(uow(), actor(), query)  # an empty query finds nothing, but only readers may ask
    return render_template("search/results.html", query=query, found=found)


@bp.get("/choices")
@login_required
def choices() -> Response:
    """JSON for a picker over every entity (the card's link form): the records ?q= finds, with their entity."""
    found = search(uow(), actor(), request.args.get("q", "").strip())
    return jsonify({"items": [{"id": hit.id, "title": hit.title, "entity": label(group.label, group.entity)}
                              for group in found.groups for hit in group.hits]})
