"""Reports: the list, one report with its parameters form, table and chart, and its CSV/XLSX downloads."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from flask import Blueprint, Response, render_template, request

from engine.errors import ValidationError
from engine.reports.export import csv_text, xlsx_bytes
from engine.reports.service import list_reports, report_teams, run_report
from engine.reports.views import PER, ReportParams, ReportResult
from engine.store.report_spec import BUCKETS
from web import nav, now, uow
from web.auth import actor, login_required
from web.exports_http import CSV_TYPE
from web.i18n import engine_message, get_locale
from web.report_charts import chart_svg
from web.zones import user_zone

bp = Blueprint("reports", __name__, url_prefix="/reports")
nav.add("reports.index", "reports.nav", "sales", "head_of_sales", "admin", "auditor")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _day(args: Mapping[str, str], name: str, errors: dict[str, list[str]]) -> date | None:
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors[name] = [f"{raw!r} is not a date like 2026-03-31"]
        return None


def params_from(args: Mapping[str, str]) -> ReportParams:
    """Report parameters from a query string (from, to, bucket, team, per, tz); ValidationError names bad ones.
    Days and months are the reader's (their time zone; the APIs' is UTC unless `tz` names another)."""
    errors: dict[str, list[str]] = {}
    date_from, date_to = _day(args, "from", errors), _day(args, "to", errors)
    if errors:
        raise ValidationError(errors)
    return ReportParams(date_from, date_to, args.get("bucket") or "month", args.get("team") or None,
                        args.get("per") or "user", (args.get("tz") or "").strip() or user_zone().key)


def evaluate(name: str) -> ReportResult:
    """The named report for the signed-in user with the request's parameters."""
    return run_report(uow(), actor(), name, params_from(request.args), now(), get_locale())


@bp.get("")
@login_required
def index() -> str:
    """The reports the user may run."""
    return render_template("reports/index.html", reports=list_reports(uow(), actor(), get_locale()))


@bp.get("/<report>")
@login_required
def show(report: str) -> tuple[str, int]:
    """One report: parameters form, chart and table; bad parameters come back as messages."""
    errors: list[str] = []
    try:
        result = evaluate(report)
    except ValidationError as exc:
        errors = [f"{field}: {engine_message(m)}" for field, ms in exc.errors.items() for m in ms]
        result = run_report(uow(), actor(), report, ReportParams(zone=user_zone().key), now(), get_locale())
    query = {k: v for k, v in request.args.items() if k in ("from", "to", "bucket", "team", "per", "tz") and v}
    return render_template("reports/show.html", result=result, chart=chart_svg(result, result.info.title),
                           errors=errors, args=request.args, query=query, buckets=BUCKETS, per_choices=PER,
                           teams=report_teams(uow(), actor())), 422 if errors else 200


def _download(body: bytes, content_type: str, name: str, extension: str) -> Response:
    response = Response(body, content_type=content_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}-{now():%Y%m%d}.{extension}"'
    return response


@bp.get("/<report>.csv")
@login_required
def export_csv(report: str) -> Response:
    """The report as CSV."""
    return _download(csv_text(evaluate(report)).encode("utf-8"), CSV_TYPE, report, "csv")


@bp.get("/<report>.xlsx")
@login_required
def export_xlsx(report: str) -> Response:
    """The report as an XLSX workbook."""
    return _download(xlsx_bytes(evaluate(report)), XLSX, report, "xlsx")


@bp.app_template_filter("report_value")
def report_value(value: Any, fmt: str) -> str:
    """A table cell: numbers with thin grouping, percents with %, empty for no value."""
    if value is None:
        return "—"
    if fmt == "text" or isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    text = f"{value:,.2f}" if isinstance(value, float) and not float(value).is_integer() else f"{int(value):,}"
    text = text.replace(",", "\u202f")
    return f"{text} %" if fmt == "percent" else text
