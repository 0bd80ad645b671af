"""Evaluate an `activity` report: per user (or team) counts of records, claims and tasks, and ratios."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from engine.config.model import label_text
from engine.reports.grouped import rounded
from engine.reports.views import FIXED_LABELS, Column, ReportParams
from engine.store import report_sql
from engine.store.report_spec import ActivityMeasure, FieldPath, Report
from engine.store.uow import UnitOfWork

WORKER_ROLES = ("sales", "head_of_sales")


def _counts(uow: UnitOfWork, measure: ActivityMeasure, params: ReportParams, now: datetime) -> dict[str, int]:
    if measure.source == "tasks_done":
        return uow.reports.tasks_done_per_user(params.date_from, params.date_to, params.zone)
    if measure.source == "tasks_overdue":
        return uow.reports.tasks_overdue_per_user(now)
    created = FieldPath("created_at", "created_at", "datetime")
    scope = report_sql.Scope(measure.entity or "", None, created, params.date_from, params.date_to, measure.where,
                             now, params.zone)
    if measure.source == "claims":
        return uow.reports.claims_per_user(scope)
    return uow.reports.records_per_user(scope, measure.by)


def _ratio(measure: ActivityMeasure, values: dict[str, Any]) -> float | None:
    first, second = (values.get(name) for name in measure.operands)
    if first is None or not second:
        return None
    return float(first) / float(second) * (100 if measure.format == "percent" else 1)


def evaluate_activity(uow: UnitOfWork, report: Report, params: ReportParams, now: datetime, locale: str,
                      only_user: str | None) -> tuple[tuple[Column, ...], list[list[Any]]]:
    """Columns and rows per active sales/head user (only `only_user` when given), or per team."""
    users = [u for u in uow.reports.report_users()
             if set(u[4].split(",")) & set(WORKER_ROLES) and (params.team is None or u[3] == params.team)
             and (only_user is None or u[1] == only_user)]
    counted = {m.name: _counts(uow, m, params, now) for m in report.activity if m.source != "ratio"}
    groups: dict[str, dict[str, Any]] = {}
    labels: dict[str, list[str]] = {}
    none = label_text(FIXED_LABELS["none"], locale)
    for _, username, display, team, _ in users:
        key = username if params.per == "user" else (team or "")
        labels[key] = [display or username, team or none] if params.per == "user" else [team or none]
        row = groups.setdefault(key, {name: 0 for name in counted})
        for name, per_user in counted.items():
            row[name] += per_user.get(username, 0)
    for row in groups.values():
        for measure in report.activity:
            if measure.source == "ratio":
                row[measure.name] = _ratio(measure, row)
    fixed = ["user", "team"] if params.per == "user" else ["team"]
    columns = [Column(k, label_text(FIXED_LABELS[k], locale), "text") for k in fixed]
    columns += [Column(m.name, label_text(m.label, locale, m.name), m.format) for m in report.activity]
    by_user = params.per == "user"
    if by_user:  # the user's login last, for programs (exports, the API); the page leaves it out
        columns.append(Column("login", label_text(FIXED_LABELS["login"], locale), "login"))
    rows = [[*labels[key], *(rounded(groups[key][m.name], m.format) for m in report.activity),
             *([key] if by_user else [])] for key in sorted(groups)]
    return tuple(columns), rows
