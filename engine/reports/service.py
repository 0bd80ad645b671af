"""Reports of the deployed configuration: list them and evaluate one for an actor (docs/reports.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from engine.config.model import Bundle, label_text
from engine.errors import NotFound
from engine.processes.deployed import active_bundle
from engine.reports.activity import evaluate_activity
from engine.reports.funnel import evaluate_funnel
from engine.reports.grouped import evaluate_grouped
from engine.reports.views import ChartView, Column, ReportInfo, ReportParams, ReportResult
from engine.services.access import require_permission
from engine.services.views import Actor
from engine.store import report_sql
from engine.store.report_spec import Report
from engine.store.uow import UnitOfWork

# head_of_sales, admin and auditor see reports over every record; sales over the records they own.
ALL_RECORDS = ("head_of_sales", "admin", "auditor")


def _info(report: Report, locale: str) -> ReportInfo:
    grouped_period = report.period is not None or any(d.bucket for d in report.dimensions)
    uses_period = report.kind == "activity" or grouped_period
    return ReportInfo(report.name, report.kind, label_text(report.label, locale, report.name),
                      label_text(report.description, locale), uses_period,
                      any(d.bucket for d in report.dimensions), report.kind == "activity")


def _bundle(uow: UnitOfWork, actor: Actor) -> Bundle:
    require_permission(actor, "report.read", action="read reports")
    bundle, _ = active_bundle(uow)
    return bundle


def list_reports(uow: UnitOfWork, actor: Actor, locale: str) -> list[ReportInfo]:
    """The deployed reports the actor may run, by title."""
    bundle = _bundle(uow, actor)
    return sorted((_info(r, locale) for r in bundle.reports.values()), key=lambda info: info.title.lower())


def _owner_ids(uow: UnitOfWork, actor: Actor, team: str | None) -> tuple[int, ...] | None:
    """Owners whose records count: everyone (None), the actor's own, narrowed to a team's members."""
    owners: set[int] | None = None if actor.has(*ALL_RECORDS) or "system" in actor.roles else {actor.id or 0}
    if team is not None:
        members = set(uow.users.team_member_ids(team))
        owners = members if owners is None else owners & members
    return None if owners is None else tuple(sorted(owners))


def _chart(report: Report, columns: tuple[Column, ...]) -> ChartView | None:
    if report.chart is None:
        return None
    keys = [c.key for c in columns]
    labels = tuple(i for i, c in enumerate(columns) if c.format == "text")
    if report.kind == "activity":
        labels = labels[:1]  # the user (or team); the team column only annotates the user
    series = tuple(keys.index(name) for name in report.chart.measures if name in keys)
    return ChartView(report.chart.type, labels, series) if series else None


def run_report(uow: UnitOfWork, actor: Actor, name: str, params: ReportParams, now: datetime,
               locale: str) -> ReportResult:
    """Evaluate a report over the records the actor may see; NotFound for an unknown name."""
    bundle = _bundle(uow, actor)
    report = bundle.reports.get(name)
    if report is None:
        raise NotFound(f"unknown report {name!r} (known: {', '.join(sorted(bundle.reports)) or 'none'})")
    with uow:
        owners = _owner_ids(uow, actor, params.team)
        rows: list[list[Any]]
        if report.kind == "activity":
            only = None if actor.has(*ALL_RECORDS) or "system" in actor.roles else actor.username
            columns, rows = evaluate_activity(uow, report, params, now, locale, only)
        else:
            period = report.period or next((d.path for d in report.dimensions if d.bucket), None)
            scope = report_sql.Scope(report.entity or "", owners, period, params.date_from, params.date_to,
                                     report.where, now, params.zone)
            if report.kind == "funnel":
                columns, rows = evaluate_funnel(uow, bundle, report, scope, locale)
            else:
                columns, rows = evaluate_grouped(uow, bundle, report, scope, params.bucket, locale)
    return ReportResult(_info(report, locale), params, columns, rows, _chart(report, columns))


def report_teams(uow: UnitOfWork, actor: Actor) -> list[str]:
    """The teams of active users, for the team parameter."""
    require_permission(actor, "report.read", action="read reports")
    with uow:
        return sorted({team for _, _, _, team, _ in uow.reports.report_users() if team})
