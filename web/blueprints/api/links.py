"""API: links between records, both directions; hand-made links added and removed."""

from __future__ import annotations

from flask import Response
from werkzeug.exceptions import BadRequest

from engine.services import links
from web import now, uow
from web.blueprints.api.base import actor, bp, id_value, json_body, only_keys, reply


@bp.get("/records/<int:record_id>/links")
def record_links(record_id: int) -> Response:
    """A record's outgoing and incoming links."""
    return reply(links.record_links(uow(), actor(), record_id))


@bp.post("/records/<int:record_id>/links")
def link_records(record_id: int) -> Response:
    """Link this record to another: `{"to_record_id": n, "kind": "code"}`."""
    body = json_body()
    only_keys(body, {"to_record_id", "kind"})
    target, kind = body.get("to_record_id"), body.get("kind")
    target = id_value(target, "to_record_id")
    if not isinstance(kind, str) or not kind:
        raise BadRequest("'kind' must be a non-empty string (a code of the link catalog)")
    return reply(links.link_records(uow(), actor(), record_id, target, kind, now()), 201)


@bp.delete("/links/<int:link_id>")
def unlink_records(link_id: int) -> Response:
    """Remove a hand-made link."""
    links.unlink_records(uow(), actor(), link_id, now())
    return Response(status=204)
