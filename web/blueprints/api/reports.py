"""API: the configured reports and one report evaluated with parameters (docs/reports.md)."""

from __future__ import annotations

from flask import Response

from engine.reports.service import list_reports
from web import uow
from web.blueprints.api.base import actor, bp, reply
from web.blueprints.reports import evaluate
from web.i18n import get_locale


@bp.get("/reports")
def reports_list() -> Response:
    """The reports the token holder may run."""
    return reply({"items": list_reports(uow(), actor(), get_locale())})


@bp.get("/reports/<name>")
def report_result(name: str) -> Response:
    """One report over the records the token holder may see: `from`, `to`, `bucket`, `team`, `per`."""
    return reply(evaluate(name))
