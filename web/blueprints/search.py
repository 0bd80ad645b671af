"""The header search box's results page: /search?q=… over every entity, grouped, keyboard navigable."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request

from engine.services.search import search
from web import uow
from web.auth import actor, login_required

bp = Blueprint("search", __name__, url_prefix="/search")


@bp.get("")
@login_required
def results() -> Any:
    """Records matching ?q= (names in any script, phones in any format, e-mails) that the user may see."""
    query = request.args.get("q", "").strip()
    found = search(uow(), actor(), query)  # an empty query finds nothing, but only readers may ask
    return render_template("search/results.html", query=query, found=found)
