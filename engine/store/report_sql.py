"""SQL aggregation for reports (docs/reports.md): one GROUP BY query per measure, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, String, and_, cast, func, literal_column, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from engine.store.filter_spec import Condition
from engine.store.filter_sql import FilterCompiler
from engine.store.models import FieldChangeRow, RecordLinkRow, RecordRow, TaskRow, UserRow, UtcDateTime
from engine.store.repo_base import _Repository
from engine.store.report_spec import NUMERIC_TYPES, Dimension, FieldPath, Measure

Key = tuple[Any, ...]
_ZONE_NAME = re.compile(r"[A-Za-z0-9_+\-]+(/[A-Za-z0-9_+\-]+)*")


def _compiled(element: type[FunctionElement[Any]], sqlite: str, postgresql: str) -> None:
    """Register an SQL function element's text per dialect: templates over its arguments ({0}, {1})."""
    def render(template: str) -> Any:
        def compile_(found: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> str:
            return template.format(*(compiler.process(c, **kw) for c in found.clauses))
        return compile_

    compiles(element)(render(sqlite))
    compiles(element, "postgresql")(render(postgresql))


class _MonthKey(FunctionElement[int]):
    """year * 100 + month of a UTC timestamp column, as an integer."""

    type = Integer()
    inherit_cache = True


class _LocalMonthKey(FunctionElement[int]):
    """year * 100 + month of a moment (a timestamp column, or ISO text with an offset) in a time zone (its IANA
    name as a literal: a bound name would differ between SELECT and GROUP BY on PostgreSQL): PostgreSQL's
    timezone(); on SQLite the connection's `local_month` (engine/store/db.py)."""

    type = Integer()
    inherit_cache = True


class _Moment(FunctionElement[datetime]):
    """ISO text with an offset (a JSON datetime field) as a UTC moment comparable with timestamp parameters."""

    type = UtcDateTime()
    inherit_cache = True


_compiled(_MonthKey, "CAST(strftime('%Y%m', {0}) AS INTEGER)",
          "CAST(to_char({0} AT TIME ZONE 'UTC', 'YYYYMM') AS INTEGER)")
_compiled(_LocalMonthKey, "local_month({0}, {1})",
          "CAST(to_char(timezone({1}, CAST({0} AS TIMESTAMP WITH TIME ZONE)), 'YYYYMM') AS INTEGER)")
_compiled(_Moment, "utc_moment({0})", "CAST({0} AS TIMESTAMP WITH TIME ZONE)")


def zone_literal(zone: str) -> Any:
    """A time zone's IANA name as an SQL string literal, after checking it names a zone."""
    if not _ZONE_NAME.fullmatch(zone):
        raise ValueError(f"not a time zone name: {zone!r}")
    ZoneInfo(zone)  # ZoneInfoNotFoundError for an unknown one
    return literal_column(f"'{zone}'", String)


def day_bounds(date_from: date | None, date_to: date | None, zone: str) -> tuple[datetime | None, datetime | None]:
    """The UTC moments where the inclusive days from..to begin and end in a time zone."""
    where = ZoneInfo(zone)
    start = datetime.combine(date_from, time(), where).astimezone(UTC) if date_from is not None else None
    end = datetime.combine(date_to + timedelta(days=1), time(), where).astimezone(UTC) if date_to is not None \
        else None
    return start, end


@dataclass(frozen=True)
class Scope:
    """Which records of an entity a query covers: visibility, the from/to period and a where condition."""

    entity: str
    owner_ids: tuple[int, ...] | None = None  # None: every record
    period: FieldPath | None = None
    date_from: date | None = None
    date_to: date | None = None
    where: Condition | None = None  # a filter condition (engine/filters/model.py), compiled by filter_sql
    now: datetime | None = None  # anchors within_last_days / older_than_days of `where`
    zone: str = "UTC"  # the IANA time zone whose days and months the period and buckets are

    def compiler(self, session: Session) -> FilterCompiler:
        """The filter compiler of `where` for this session's database."""
        if self.now is None:
            raise ValueError(f"a report scope over {self.entity} needs now= to compile its where")
        return FilterCompiler(session.get_bind().dialect.name, self.now)


def _value(row: Any, field: str, kind: str) -> Any:
    """A field's value as an SQL expression: system columns directly, JSON fields cast by type."""
    system = {"id": row.id, "title": row.title, "created_at": row.created_at, "updated_at": row.updated_at,
              "created_by": row.created_by}
    if field in system:
        return system[field]
    if field == "owner":
        return select(UserRow.username).where(UserRow.id == row.owner_id).scalar_subquery()
    item = row.data[field]
    if kind in NUMERIC_TYPES:
        return item.as_float()
    if kind == "reference":
        return item.as_integer()
    if kind == "boolean":
        return item.as_boolean()
    return item.as_string()


def _period_filters(row: Any, scope: Scope) -> list[ColumnElement[bool]]:
    """from/to (inclusive days in the scope's time zone) on the scope's period field; a date field's days are
    compared as they are (a date has no time zone)."""
    if scope.period is None or (scope.date_from is None and scope.date_to is None):
        return []
    field = scope.period.field
    filters: list[ColumnElement[bool]] = []
    if field in ("created_at", "updated_at") or scope.period.type == "datetime":
        column = getattr(row, field) if field in ("created_at", "updated_at") else _Moment(row.data[field].as_string())
        start, end = day_bounds(scope.date_from, scope.date_to, scope.zone)
        if start is not None:
            filters.append(column >= start)
        if end is not None:
            filters.append(column < end)
        return filters
    day = func.substr(row.data[field].as_string(), 1, 10)
    if scope.date_from is not None:
        filters.append(day >= scope.date_from.isoformat())
    if scope.date_to is not None:
        filters.append(day <= scope.date_to.isoformat())
    return filters


def scope_filters(session: Session, row: Any, scope: Scope) -> list[ColumnElement[bool]]:
    """Entity, not merged away, visible to the reader, in the period, matching the where condition (compiled as
    entity lists compile the same filter)."""
    filters = [row.entity == scope.entity, row.merged_into_id.is_(None), *_period_filters(row, scope)]
    if scope.owner_ids is not None:
        filters.append(row.owner_id.in_(scope.owner_ids))
    if scope.where is not None:
        filters.append(scope.compiler(session).condition(row, scope.where))
    return filters


def month_key(row: Any, field: str, kind: str = "date", zone: str = "UTC") -> Any:
    """year * 100 + month of a date/datetime field (system or JSON ISO text); moments (timestamps, datetime
    fields) in the time zone `zone`, dates as they are."""
    moment = field in ("created_at", "updated_at") or kind == "datetime"
    if moment and zone != "UTC":
        value = getattr(row, field) if field in ("created_at", "updated_at") else row.data[field].as_string()
        return _LocalMonthKey(value, zone_literal(zone))
    if field in ("created_at", "updated_at"):
        return _MonthKey(getattr(row, field))
    text = row.data[field].as_string()
    if moment:  # ISO text with an offset: its UTC month
        return _LocalMonthKey(text, zone_literal("UTC"))
    return cast(func.substr(text, 1, 4), Integer) * 100 + cast(func.substr(text, 6, 2), Integer)


def bucket_key(row: Any, field: str, bucket: str, kind: str = "date", zone: str = "UTC") -> Any:
    """The period bucket as an integer: 202603 (month), 20261 (quarter) or 2026 (year)."""
    key = month_key(row, field, kind, zone)
    if bucket == "year":
        return key // 100
    if bucket == "quarter":
        return (key // 100) * 10 + ((key % 100) + 2) // 3
    return key


class _Grouping:
    """The select columns and joins of the report's group_by over one base row alias."""

    def __init__(self, base: Any, dimensions: Sequence[Dimension], bucket: str, zone: str = "UTC") -> None:
        self.base, self.columns, self.joins = base, [], []
        for dim in dimensions:
            row = base
            if dim.path.via is not None:
                row = aliased(RecordRow)
                self.joins.append((row, row.id == base.data[dim.path.via].as_integer()))
            path = dim.path
            if dim.bucket:
                self.columns.append(bucket_key(row, path.field, bucket, path.type, zone))
            elif path.field == "id":
                self.columns += [row.id, row.title]
            elif path.type == "reference":
                target = aliased(RecordRow)
                self.joins.append((target, target.id == row.data[path.field].as_integer()))
                self.columns += [target.id, target.title]
            else:
                self.columns.append(_value(row, path.field, path.type))

    def select(self, *aggregates: Any) -> Any:
        """SELECT group columns + aggregates FROM the base with the dimension joins."""
        query = select(*self.columns, *aggregates).select_from(self.base)
        for row, on in self.joins:
            query = query.outerjoin(row, on)
        return query.group_by(*self.columns) if self.columns else query


def _aggregate(measure: Measure, row: Any) -> Any:
    if measure.function == "count":
        return func.count(row.id)
    expr = _value(row, measure.field or "", measure.field_type)
    if measure.function == "count_distinct":
        return func.count(func.distinct(expr))
    return func.sum(expr) if measure.function == "sum" else func.avg(expr)


class ReportRepository(_Repository):
    """The report queries (docs/reports.md): groups, measures, stage history and per-user activity."""

    def group_keys(self, scope: Scope, dimensions: Sequence[Dimension], bucket: str) -> list[Key]:
        """The groups of the report's records (their group_by column values)."""
        base = aliased(RecordRow)
        grouping = _Grouping(base, dimensions, bucket, scope.zone)
        query = grouping.select(func.count(base.id)).where(*scope_filters(self.session, base, scope))
        return [tuple(row)[:-1] for row in self.session.execute(query)]

    def measure_values(self, scope: Scope, dimensions: Sequence[Dimension], bucket: str,
                       measure: Measure, linked_owner_ids: tuple[int, ...] | None) -> dict[Key, Any]:
        """One aggregate measure per group: over the report's records, or over records linked to them."""
        base = aliased(RecordRow)
        grouping = _Grouping(base, dimensions, bucket, scope.zone)
        filters = scope_filters(self.session, base, scope)
        counted: Any = base
        if measure.linked is not None:
            counted, link = aliased(RecordRow), aliased(RecordLinkRow)
            linked = Scope(measure.linked.entity, linked_owner_ids, where=measure.where, now=scope.now)
            query = grouping.select(_aggregate(measure, counted)).join(
                link, and_(link.to_record_id == base.id, link.kind == "reference", link.field == measure.linked.via)
            ).join(counted, counted.id == link.from_record_id)
            filters += scope_filters(self.session, counted, linked)
        else:
            query = grouping.select(_aggregate(measure, counted))
            if measure.where is not None:
                filters.append(scope.compiler(self.session).condition(base, measure.where))
        return {tuple(row)[:-1]: tuple(row)[-1] for row in self.session.execute(query.where(*filters))}

    def stage_history(self, scope: Scope, stage_field: str,
                      split_field: str | None) -> list[tuple[int, str | None, datetime, Any]]:
        """(record id, split value, at, new stage) of every change of the stage field, in order per record."""
        row = aliased(RecordRow)
        split = row.data[split_field].as_string() if split_field else cast(None, String)
        query = (select(FieldChangeRow.record_id, split, FieldChangeRow.at, FieldChangeRow.new_value)
                 .join(row, row.id == FieldChangeRow.record_id)
                 .where(FieldChangeRow.field == stage_field, *scope_filters(self.session, row, scope))
                 .order_by(FieldChangeRow.record_id, FieldChangeRow.at, FieldChangeRow.id))
        return [(r[0], r[1], r[2], r[3]) for r in self.session.execute(query)]

    def report_users(self) -> list[tuple[int, str, str, str | None, str]]:
        """(id, username, display name, team, roles) of every active user."""
        query = select(UserRow.id, UserRow.username, UserRow.display_name, UserRow.team, UserRow.roles).where(
            UserRow.active.is_(True)).order_by(UserRow.username)
        return [(r[0], r[1], r[2], r[3], r[4]) for r in self.session.execute(query)]

    def records_per_user(self, scope: Scope, by: str) -> dict[str, int]:
        """Count of records per username of their owner or creator."""
        row = aliased(RecordRow)
        if by == "owner":
            key: Any = UserRow.username
            query = select(key, func.count(row.id)).select_from(row).join(UserRow, UserRow.id == row.owner_id)
        else:
            key = row.created_by
            query = select(key, func.count(row.id)).select_from(row)
        query = query.where(*scope_filters(self.session, row, scope)).group_by(key)
        return {r[0]: int(r[1]) for r in self.session.execute(query)}

    def claims_per_user(self, scope: Scope) -> dict[str, int]:
        """Records taken by claiming a pooled task, per claimer (owner history rows written by a claim)."""
        row = aliased(RecordRow)
        start, end = day_bounds(scope.date_from, scope.date_to, scope.zone)
        at_scope = [FieldChangeRow.at >= start] if start is not None else []
        if end is not None:
            at_scope.append(FieldChangeRow.at < end)
        unbounded = Scope(scope.entity, scope.owner_ids, where=scope.where, now=scope.now)
        query = (select(FieldChangeRow.actor, func.count(func.distinct(FieldChangeRow.record_id)))
                 .join(row, row.id == FieldChangeRow.record_id)
                 .where(FieldChangeRow.field == "owner", FieldChangeRow.source == "claim", *at_scope,
                        *scope_filters(self.session, row, unbounded))
                 .group_by(FieldChangeRow.actor))
        return {r[0]: int(r[1]) for r in self.session.execute(query)}

    def tasks_done_per_user(self, date_from: date | None, date_to: date | None,
                            zone: str = "UTC") -> dict[str, int]:
        """Completed tasks per username of who completed them, completed within the period (days in `zone`)."""
        filters = [TaskRow.state == "completed", TaskRow.completed_by.is_not(None)]
        start, end = day_bounds(date_from, date_to, zone)
        if start is not None:
            filters.append(TaskRow.completed_at >= start)
        if end is not None:
            filters.append(TaskRow.completed_at < end)
        query = select(TaskRow.completed_by, func.count(TaskRow.id)).where(*filters).group_by(TaskRow.completed_by)
        return {r[0]: int(r[1]) for r in self.session.execute(query)}

    def tasks_overdue_per_user(self, now: datetime) -> dict[str, int]:
        """Open tasks past their due time at `now`, per username of the assignee."""
        query = (select(UserRow.username, func.count(TaskRow.id)).join(UserRow, UserRow.id == TaskRow.assignee_id)
                 .where(TaskRow.state == "open", TaskRow.due_at < now).group_by(UserRow.username))
        return {r[0]: int(r[1]) for r in self.session.execute(query)}
