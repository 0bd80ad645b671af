"""Evaluate a `grouped` report: groups from group_by, one SQL aggregate per measure, then the arithmetic."""

from __future__ import annotations

from typing import Any

from engine.config.model import Bundle, label_text
from engine.reports.views import FIXED_LABELS, PEOPLE, Column
from engine.store import report_sql
from engine.store.report_spec import Dimension, Measure, Report
from engine.store.uow import UnitOfWork


def bucket_label(key: Any, bucket: str) -> str:
    """202603 → 2026-03, 20261 → 2026 Q1, 2026 → 2026."""
    if key is None:
        return "—"
    number = int(key)
    if bucket == "month":
        return f"{number // 100}-{number % 100:02d}"
    if bucket == "quarter":
        return f"{number // 10} Q{number % 10}"
    return str(number)


def _width(dim: Dimension) -> int:
    """How many key columns a dimension selects (id and title for records)."""
    return 2 if not dim.bucket and (dim.path.field == "id" or dim.path.type == "reference") else 1


def _person(dim: Dimension) -> bool:
    return not dim.bucket and dim.path.field in PEOPLE


def _logins(dims: tuple[Dimension, ...], key: tuple[Any, ...]) -> list[str | None]:
    """The logins a group's key holds, one per person column (owner, created_by), in column order."""
    found, at = [], 0
    for dim in dims:
        if _person(dim):
            found.append(key[at] or None)
        at += _width(dim)
    return found


def _labels(bundle: Bundle, dims: tuple[Dimension, ...], key: tuple[Any, ...], bucket: str,
            locale: str, names: dict[str, str]) -> list[str]:
    labels: list[str] = []
    at = 0
    none = label_text(FIXED_LABELS["none"], locale)
    for dim in dims:
        value = key[at]
        if _person(dim) and value:
            labels.append(names.get(str(value), str(value)))
        elif dim.bucket:
            labels.append(bucket_label(value, bucket))
        elif _width(dim) == 2:
            labels.append(str(key[at + 1]) if value is not None else none)
        elif value is None or value == "":
            labels.append(none)
        elif dim.path.catalog and dim.path.catalog in bundle.catalogs:
            labels.append(bundle.catalogs[dim.path.catalog].label_of(str(value), locale))
        else:
            labels.append(str(value))
        at += _width(dim)
    return labels


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def _arithmetic(measure: Measure, values: dict[str, Any]) -> float | None:
    first, second = (_number(values.get(name)) for name in measure.operands)
    if first is None or second is None:
        return None
    if measure.function == "difference":
        return first - second
    if second == 0:
        return None
    return first / second * (100 if measure.format == "percent" else 1)


def rounded(value: Any, fmt: str) -> Any:
    """A measure value for display and export: whole numbers stay int, money/percent/hours are floats with two
    decimals at most (the same on every database)."""
    if value is None:
        return None
    number = float(value)
    return int(number) if fmt == "number" and number.is_integer() else round(number, 2)


def _dimension_label(dim: Dimension, locale: str, zone: str) -> str:
    """A group column's label; a period column of moments (not of dates) says the time zone its months are in."""
    text = label_text(dim.label, locale, dim.path.name)
    moments = dim.path.field in ("created_at", "updated_at") or dim.path.type == "datetime"
    return f"{text} ({zone})" if dim.bucket and moments else text


def evaluate_grouped(uow: UnitOfWork, bundle: Bundle, report: Report, scope: report_sql.Scope,
                     bucket: str, locale: str) -> tuple[tuple[Column, ...], list[list[Any]]]:
    """Columns and rows of a grouped report over the records of `scope`."""
    dims = report.dimensions
    keys = uow.reports.group_keys(scope, dims, bucket)
    values: dict[tuple[Any, ...], dict[str, Any]] = {key: {} for key in keys}
    for measure in report.measures:
        if measure.function in ("ratio", "difference"):
            for row in values.values():
                row[measure.name] = _arithmetic(measure, row)
            continue
        found = uow.reports.measure_values(scope, dims, bucket, measure, scope.owner_ids)
        empty = None if measure.function == "avg" else 0
        for key, row in values.items():
            value = found.get(key)
            row[measure.name] = empty if value is None else value
    columns = [Column(f"dim{i}", _dimension_label(d, locale, scope.zone), "text") for i, d in enumerate(dims)]
    columns += [Column(m.name, label_text(m.label, locale, m.name), m.format) for m in report.measures]
    login = label_text(FIXED_LABELS["login"], locale)
    columns += [Column(f"dim{i}_login", f"{_dimension_label(d, locale, scope.zone)} ({login})", "login")
                for i, d in enumerate(dims) if _person(d)]  # last: the columns before keep their places
    people = {name for key in keys for name in _logins(dims, key) if name}
    names = uow.users.display_names(people) if people else {}
    first = report.measures[0].name if report.measures else None

    def order(key: tuple[Any, ...]) -> tuple[Any, ...]:
        parts = tuple((k is None, k if isinstance(k, int | float) else str(k)) for k in key)
        if any(d.bucket for d in dims):
            return parts
        return (-(_number(values[key].get(first or "")) or 0), parts)

    rows = [[*_labels(bundle, dims, key, bucket, locale, names),
             *(rounded(values[key][m.name], m.format) for m in report.measures), *_logins(dims, key)]
            for key in sorted(keys, key=order)]
    return tuple(columns), rows
