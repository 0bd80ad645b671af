"""Evaluate a `funnel` report from field history: how many records reached each stage and how long they stayed."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from statistics import mean, median
from typing import Any

from engine.config.model import Bundle, label_text
from engine.reports.views import FIXED_LABELS, Column
from engine.store import report_sql
from engine.store.report_spec import FunnelSpec, Report
from engine.store.uow import UnitOfWork

_SECONDS_PER_HOUR = 3600


def _stage_orders(bundle: Bundle, report: Report, spec: FunnelSpec, splits: set[str | None]) -> list[
        tuple[str | None, tuple[str, ...]]]:
    """(split value, ordered stage codes) per split: explicit stages, else the split value's pipeline."""
    catalog = bundle.catalogs.get(spec.split_catalog or "")
    ordered: list[str | None] = [c for c in (catalog.codes() if catalog else ()) if c in splits]
    ordered += sorted(s for s in splits if s not in ordered and s is not None)
    if None in splits:
        ordered.append(None)
    result: list[tuple[str | None, tuple[str, ...]]] = []
    for split in ordered:
        if spec.stages:
            codes = spec.stages
        else:
            pipeline = bundle.pipelines.get(split or "")
            if pipeline is None or pipeline.entity != report.entity or pipeline.stage_field != spec.stage_field:
                continue
            codes = tuple(stage.code for stage in pipeline.stages)
        result.append((split, tuple(code for code in codes if code not in spec.exclude)))
    return result


def _walk(history: list[tuple[int, str | None, datetime, Any]]) -> tuple[
        dict[int, str | None], dict[int, list[str]], dict[tuple[str | None, str], list[float]]]:
    """Per record: its split and the stages it entered; per (split, stage): hours of finished stays."""
    splits: dict[int, str | None] = {}
    visited: dict[int, list[str]] = defaultdict(list)
    stays: dict[tuple[str | None, str], list[float]] = defaultdict(list)
    previous: tuple[int, str | None, datetime] | None = None
    for record_id, split, at, stage in history:
        splits[record_id] = split
        if previous is not None and previous[0] == record_id and previous[1] is not None:
            stays[(split, previous[1])].append((at - previous[2]).total_seconds() / _SECONDS_PER_HOUR)
        if stage is not None:
            visited[record_id].append(str(stage))
        previous = (record_id, None if stage is None else str(stage), at)
    return splits, visited, stays


def evaluate_funnel(uow: UnitOfWork, bundle: Bundle, report: Report, scope: report_sql.Scope,
                    locale: str) -> tuple[tuple[Column, ...], list[list[Any]]]:
    """Columns and rows: per split and stage, records that reached it, conversion from the stage before, and
    median/average hours spent in it (finished stays only: from entering it to the next change)."""
    spec = report.funnel
    if spec is None:
        raise ValueError(f"report {report.name} is not a funnel")
    history = uow.reports.stage_history(scope, spec.stage_field, spec.split_by)
    splits, visited, stays = _walk(history)
    stage_catalog = bundle.catalogs.get(spec.stage_catalog or "")
    split_catalog = bundle.catalogs.get(spec.split_catalog or "")
    none = label_text(FIXED_LABELS["none"], locale)
    rows: list[list[Any]] = []
    for split, codes in _stage_orders(bundle, report, spec, set(splits.values())):
        records = [r for r, s in splits.items() if s == split]
        furthest = [max((codes.index(s) for s in visited[r] if s in codes), default=-1) for r in records]
        before: int | None = None
        for index, code in enumerate(codes):
            reached = sum(1 for f in furthest if f >= index)
            hours = stays.get((split, code), [])
            conversion = round(reached / before * 100, 2) if before else None
            split_label = (split_catalog.label_of(split, locale) if split_catalog and split else split) or none
            stage_label = stage_catalog.label_of(code, locale) if stage_catalog else code
            rows.append([split_label, stage_label, reached, conversion,
                         round(median(hours), 2) if hours else None, round(mean(hours), 2) if hours else None])
            before = reached
    keys = ("split", "stage", "reached", "conversion", "median_hours", "average_hours")
    formats = ("text", "text", "number", "percent", "duration", "duration")
    columns = tuple(Column(k, label_text(FIXED_LABELS[k], locale), f) for k, f in zip(keys, formats, strict=True))
    if spec.split_by is None:
        return columns[1:], [row[1:] for row in rows]
    return columns, rows
