"""Incidents: background job items parked after their retries (admins and designers retry them; auditors read)."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.exceptions import BadRequest

from engine.errors import ConflictError
from engine.services.access import INCIDENT_READERS, INCIDENT_RESOLVERS
from engine.services.incidents import KINDS, STATES, list_incidents, retry_incident
from web import nav, now, uow
from web.auth import actor, login_required
from web.i18n import engine_message, t

bp = Blueprint("incidents", __name__, url_prefix="/admin/incidents")
nav.add("incidents.index", "incidents.nav", *INCIDENT_READERS, menu="admin")
PAGE = 50


def page_number() -> int:
    """The `page` query parameter (1-based); 400 naming it when it is not a whole number from 1."""
    raw = request.args.get("page", "1")
    if not raw.isdigit() or not 1 <= int(raw) <= 100_000:
        raise BadRequest(f"query parameter 'page' must be a whole number from 1 to 100000, got {raw!r}")
    return int(raw)


@bp.get("")
@login_required
def index() -> str:
    """Incidents, newest first, filtered by kind and state (open by default)."""
    kind = request.args.get("kind", "")
    state = request.args.get("state", "open")
    number = page_number()
    found = list_incidents(
        uow(), actor(), kind=kind or None, state=state or None, limit=PAGE, offset=(number - 1) * PAGE
    )
    return render_template(
        "incidents/index.html",
        page=found,
        number=number,
        kinds=KINDS,
        states=STATES,
        kind=kind,
        state=state,
        can_retry=actor().has(*INCIDENT_RESOLVERS),
    )


_SAME_SITE = re.compile(r"/(?![/\\])[^\s\\]*")  # a path on this site: no //host, no backslash, no blanks


def _back() -> str:
    """Where a retry returns: the same-site page it came from, else the incident list."""
    target = request.form.get("next", "")
    return target if _SAME_SITE.fullmatch(target) else url_for("incidents.index")


@bp.post("/<int:incident_id>/retry")
@login_required
def retry(incident_id: int) -> Any:
    """Make the incident's job due now with fresh attempts; the next worker tick runs it."""
    try:
        retry_incident(uow(), actor(), incident_id, now())
    except ConflictError as exc:
        flash(engine_message(str(exc)), "error")
        return redirect(_back())
    flash(t("incidents.retried", id=incident_id), "success")
    return redirect(_back())
