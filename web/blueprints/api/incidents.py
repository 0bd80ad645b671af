"""API: incidents (job items parked after their retries); list and retry."""

from __future__ import annotations

from flask import Response, request

from engine.services.incidents import list_incidents, retry_incident
from web import now, uow
from web.blueprints.api.base import actor, bp, int_arg, page, reply


@bp.get("/incidents")
def incidents() -> Response:
    """Incidents, newest first: `?kind=timer&state=open&instance_id=5&limit=50&offset=0`."""
    limit, offset = page()
    instance = request.args.get("instance_id")
    found = list_incidents(
        uow(),
        actor(),
        kind=request.args.get("kind") or None,
        state=request.args.get("state") or None,
        instance_id=int_arg("instance_id", 0, 1, 2**31 - 1) if instance else None,
        limit=limit,
        offset=offset,
    )
    return reply(found)


@bp.post("/incidents/<int:incident_id>/retry")
def retry(incident_id: int) -> Response:
    """Make the incident's job due now with fresh attempts (admins, designers)."""
    return reply(retry_incident(uow(), actor(), incident_id, now()))
