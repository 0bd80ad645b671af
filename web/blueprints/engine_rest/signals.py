"""/engine-rest/signal: broadcast a signal (Camunda's SignalDto) to every instance waiting for it."""

from __future__ import annotations

from flask import Response

from engine.services.rest_signals import broadcast_signal
from web import now, uow
from web.blueprints.engine_rest.base import actor, body, bp, field, no_content
from web.blueprints.engine_rest.variables import plain_all


@bp.post("/signal")
def signal() -> Response:
    """Deliver the signal with its variables to every waiting instance; 204."""
    data = body()
    broadcast_signal(
        uow(), actor(), field(data, "name", str, required=True), plain_all("variables", data.get("variables")), now()
    )
    return no_content()
