"""Filters compiled to SQLAlchemy Core: a select of record ids with bound parameters, on SQLite and PostgreSQL.

Field values live in record.data (JSON on SQLite, JSONB on PostgreSQL). Entity names and JSON keys are checked
identifiers rendered as literals (so the expression indexes of searchable fields match); every value is bound."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    DateTime,
    Float,
    Integer,
    Numeric,
    Select,
    String,
    and_,
    bindparam,
    cast,
    exists,
    false,
    func,
    not_,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import aliased

from engine.store.filter_spec import (
    NUMERIC_TYPES,
    TEXT_TYPES,
    AllOf,
    AnyOf,
    Condition,
    FieldCondition,
    FieldRef,
    Filter,
    LinkedCondition,
    NotOf,
)
from engine.store.json_fields import identifier, literal_name, numeric_value, raw_value
from engine.store.models import RecordLinkRow, RecordRow, UserRow
from engine.store.repo_base import _inbox_record_ids, _Repository

Record = Any  # RecordRow or an aliased RecordRow
Expr = ColumnElement[Any]


class FilterCompiler:
    """Compiles one validated Filter for one dialect; `now` anchors within_last_days / older_than_days."""

    def __init__(self, dialect: str, now: datetime) -> None:
        self.pg = dialect == "postgresql"
        self.dialect = dialect
        self.now = now

    # --- values -------------------------------------------------------------------------------------------------
    def number(self, value: Any) -> Any:
        if self.pg:
            return bindparam(None, Decimal(value), type_=Numeric())
        return bindparam(None, float(value), type_=Float())

    def moment(self, value: datetime) -> Any:
        if self.pg:
            return bindparam(None, value, type_=DateTime(timezone=True))
        return func.julianday(bindparam(None, value.isoformat(), type_=String))

    def typed(self, record: Record, ref: FieldRef) -> Expr:
        """The field as a comparable SQL expression of its type."""
        if ref.system:
            column: Expr = getattr(record, "owner_id" if ref.name == "owner" else ref.name)
            return column
        if ref.type in NUMERIC_TYPES:
            return numeric_value(self.dialect, record.data, ref.name)
        raw = raw_value(self.dialect, record.data, ref.name)
        if ref.type == "datetime":
            return cast(raw, DateTime(timezone=True)) if self.pg else func.julianday(raw)
        if ref.type == "reference":
            return cast(raw, BigInteger) if self.pg else raw
        return raw

    def bind(self, ref: FieldRef, value: Any) -> Any:
        """A coerced filter value bound for comparison with `typed(ref)`."""
        if ref.type in NUMERIC_TYPES and not ref.system:
            return self.number(value)
        if ref.type == "datetime":
            return self.moment(value)
        if ref.type == "boolean":
            return bindparam(None, "true" if value else "false", type_=String) if self.pg else \
                bindparam(None, 1 if value else 0, type_=Integer)
        if ref.type == "timestamp":
            return bindparam(None, value, type_=RecordRow.created_at.type)
        if ref.type in ("integer", "reference"):
            return bindparam(None, int(value), type_=BigInteger if self.pg else Integer)
        return bindparam(None, value, type_=String)

    # --- field conditions ---------------------------------------------------------------------------------------
    def compare(self, expr: Expr, ref: FieldRef, op: str, value: Any) -> Expr:
        """`expr op value`; NULL (no value) counts as false, and negations coalesce it so (see negate)."""
        if op in ("is_empty", "is_not_empty"):
            empty = or_(expr.is_(None), expr == "") if ref.type in (*TEXT_TYPES, "enum") else expr.is_(None)
            return empty if op == "is_empty" else not_(empty)
        if op in ("ne", "not_in"):
            return negate(self.compare(expr, ref, "eq" if op == "ne" else "in", value))
        if op == "in":
            return expr.in_([self.bind(ref, v) for v in value])
        if op in ("contains", "starts_with"):
            return text_like(expr, bindparam(None, like_pattern(value, op), type_=String))
        if op == "between":
            return and_(expr >= self.bind(ref, value[0]), expr <= self.bind(ref, value[1]))
        if op in ("within_last_days", "older_than_days"):
            return self.relative(expr, ref, op, value)
        operators = {"eq": expr.__eq__, "gt": expr.__gt__, "gte": expr.__ge__, "lt": expr.__lt__, "lte": expr.__le__}
        compared: Expr = operators[op](self.bind(ref, value))
        return compared

    def relative(self, expr: Expr, ref: FieldRef, op: str, days: int) -> Expr:
        cutoff: Any = self.now - timedelta(days=days)
        upper: Any = self.now
        if ref.type == "date":
            cutoff, upper = cutoff.date().isoformat(), self.now.date().isoformat()
        if op == "older_than_days":
            older: Expr = expr < self.bind(ref, cutoff)
            return older
        return and_(expr >= self.bind(ref, cutoff), expr <= self.bind(ref, upper))

    def prefilter(self, record: Record, cond: FieldCondition) -> Expr | None:
        """For datetimes (ISO text with any offset), a text range one day wider than the exact one: it lets an
        expression index on the text narrow the rows before the exact, offset-aware comparison."""
        if cond.field.system or cond.field.type != "datetime":
            return None
        low: datetime | None = None
        high: datetime | None = None
        match cond.op:
            case "eq":
                low = high = cond.value
            case "gt" | "gte":
                low = cond.value
            case "lt" | "lte":
                high = cond.value
            case "between":
                low, high = cond.value
            case "within_last_days":
                low, high = self.now - timedelta(days=cond.value), self.now
            case "older_than_days":
                high = self.now - timedelta(days=cond.value)
            case _:
                return None
        raw = raw_value(self.dialect, record.data, cond.field.name)
        parts = []
        if low is not None:
            parts.append(raw >= bindparam(None, (low.date() - timedelta(days=1)).isoformat(), type_=String))
        if high is not None:
            parts.append(raw < bindparam(None, (high.date() + timedelta(days=2)).isoformat(), type_=String))
        return and_(*parts)

    def owner(self, record: Record, cond: FieldCondition) -> Expr:
        column: Expr = record.owner_id
        if cond.op in ("is_empty", "is_not_empty"):
            return column.is_(None) if cond.op == "is_empty" else column.is_not(None)
        names = cond.value if isinstance(cond.value, tuple) else (cond.value,)
        ids = select(UserRow.id).where(UserRow.username.in_([bindparam(None, n, type_=String) for n in names]))
        found = column.in_(ids)
        return negate(found) if cond.op in ("ne", "not_in") else found

    def choices(self, record: Record, cond: FieldCondition) -> Expr:
        """multi_enum: eq/in/has_any = holds one of the codes, has_all = holds every code."""
        name, op = cond.field.name, cond.op
        if op in ("is_empty", "is_not_empty"):
            raw = raw_value(self.dialect, record.data, name)
            empty = or_(raw.is_(None), raw == "[]")
            return empty if op == "is_empty" else not_(empty)
        if op in ("ne", "not_in"):
            return negate(self.choices(record, FieldCondition(cond.field, "in", cond.value)))
        codes = list(cond.value) if isinstance(cond.value, tuple) else [cond.value]
        if self.pg:
            def holds(wanted: list[str]) -> Expr:
                return record.data.op("@>", return_type=Boolean)(  # type: ignore[no-any-return]
                    bindparam(None, {identifier(name): wanted}, type_=JSONB))
            return holds(codes) if op == "has_all" else or_(*(holds([code]) for code in codes))
        items = func.json_each(record.data, bindparam(None, f"$.{identifier(name)}", type_=String,
                                                      literal_execute=True)).table_valued("value")
        matching = items.c.value.in_([bindparam(None, c, type_=String) for c in codes])
        if op == "has_all":
            found = select(func.count(items.c.value.distinct())).where(matching).scalar_subquery()
            return found == len(codes)
        return exists(select(items.c.value).where(matching))

    def field(self, record: Record, cond: FieldCondition) -> Expr:
        if cond.field.type == "owner":
            return self.owner(record, cond)
        if cond.field.type == "multi_enum":
            return self.choices(record, cond)
        exact = self.compare(self.typed(record, cond.field), cond.field, cond.op, cond.value)
        narrow = self.prefilter(record, cond)
        return exact if narrow is None else and_(narrow, exact)

    # --- linked records -----------------------------------------------------------------------------------------
    def linked_select(self, record: Record, cond: LinkedCondition, other: Any, columns: Sequence[Any],
                      direction: str | None = None) -> Select[Any]:
        """SELECT columns FROM the records linked to `record` (alias `other`) that match the condition's where.

        Incoming references and one direction of manual links join record_link to record (PostgreSQL makes a
        semi-join of it); an outgoing reference looks its target up by the id in this record's data; both
        directions of manual links (for aggregates) take the union of the ids."""
        direction = direction or cond.direction
        if direction == "manual":
            kind = bindparam(None, cond.link_kind, type_=String)
            link, back = aliased(RecordLinkRow), aliased(RecordLinkRow)
            there = select(link.to_record_id).where(link.from_record_id == record.id, link.kind == kind)
            here = select(back.from_record_id).where(back.to_record_id == record.id, back.kind == kind)
            stmt = select(*columns).where(other.id.in_(union_all(there.correlate(record), here.correlate(record))))
        elif direction == "outgoing":  # the referenced id is in this record's data: a primary-key lookup
            target = self.typed(record, FieldRef(cond.via or "", "reference"))
            stmt = select(*columns).where(other.id == target)
        else:
            link = aliased(RecordLinkRow)
            incoming = direction in ("incoming", "manual_in")
            near, far = (link.to_record_id, link.from_record_id) if incoming else (link.from_record_id,
                                                                                   link.to_record_id)
            if direction.startswith("manual"):
                matches = link.kind == bindparam(None, cond.link_kind, type_=String)
            else:
                matches = and_(link.kind == "reference", link.field == literal_name(cond.via or ""))
            stmt = select(*columns).select_from(link).join(other, other.id == far).where(near == record.id, matches)
        stmt = stmt.where(other.entity == literal_name(cond.entity), self.unmerged(other))
        if cond.where is not None:
            stmt = stmt.where(self.condition(other, cond.where))
        return stmt.correlate(record)

    def linked_ids(self, record: Record, cond: LinkedCondition) -> Expr:
        """`record` is linked to a match, driven from the linked side: the matching linked records are found once
        (by their own conditions and indexes) and their link ends compared with `record` — `record.id IN (SELECT
        link end ...)` for incoming references, `record.data.<via> IN (SELECT id ...)` for outgoing ones. Both
        databases run that uncorrelated subquery once (SQLite materializes it, PostgreSQL hashes or loops over
        it), instead of probing the linked records once per row of `record`."""
        other = aliased(RecordRow)
        found = select(other.id).where(other.entity == literal_name(cond.entity), self.unmerged(other))
        if cond.direction == "outgoing":
            target = self.typed(record, FieldRef(cond.via or "", "reference"))
            stmt = found
        else:
            link = aliased(RecordLinkRow)
            target = record.id
            stmt = (select(link.to_record_id).select_from(link).join(other, other.id == link.from_record_id)
                    .where(link.kind == "reference", link.field == literal_name(cond.via or ""),
                           other.entity == literal_name(cond.entity), self.unmerged(other)))
        if cond.where is not None:
            stmt = stmt.where(self.condition(other, cond.where))
        return target.in_(stmt.correlate_except(other, *([] if cond.direction == "outgoing" else [link])))

    def linked(self, record: Record, cond: LinkedCondition) -> Expr:
        other = aliased(RecordRow)
        if cond.aggregate in ("exists", "none"):
            if cond.direction != "manual" and cond.where is not None:
                # The cheaper side to start from: a condition on the linked records narrows them (usually to far
                # fewer than the records filtered here), so start from those; with no condition every linked
                # record qualifies and a per-row probe of the link index is the cheaper way.
                inside = self.linked_ids(record, cond)
                if cond.aggregate == "exists":
                    return inside
                if cond.direction == "outgoing":  # no reference at all links to nothing: NULL NOT IN is unknown
                    return or_(self.typed(record, FieldRef(cond.via or "", "reference")).is_(None), not_(inside))
                return not_(inside)
            if cond.direction == "manual":
                found = or_(*(exists(self.linked_select(record, cond, other, [other.id], way))
                              for way in ("manual_out", "manual_in")))
            else:
                found = exists(self.linked_select(record, cond, other, [other.id]))
            return found if cond.aggregate == "exists" else not_(found)

        def scalar(*columns: Any) -> Select[Any]:
            return self.linked_select(record, cond, other, columns)

        if cond.aggregate == "count":
            value: Any = scalar(func.count(other.id)).scalar_subquery()
            compared = FieldRef("count", "integer")
            return self.compare(value, compared, cond.op or "eq", cond.value)
        assert cond.field is not None  # noqa: S101 - the parser requires a field for these aggregates
        typed = self.typed(other, cond.field)
        if cond.aggregate == "sum":
            value = scalar(func.coalesce(func.sum(typed), 0)).scalar_subquery()
            return self.compare(value, FieldRef("sum", "decimal"), cond.op or "eq", cond.value)
        if cond.aggregate in ("min", "max"):
            pick = func.min if cond.aggregate == "min" else func.max
            value = scalar(pick(typed)).scalar_subquery()
        else:  # last: the value of the newest linked record by order_by
            assert cond.order_by is not None  # noqa: S101
            order = self.typed(other, cond.order_by)
            value = (scalar(typed).where(order.is_not(None))
                     .order_by(order.desc(), other.id.desc()).limit(1).scalar_subquery())
        return self.compare(value, cond.field, cond.op or "eq", cond.value)

    # --- structure ----------------------------------------------------------------------------------------------
    def unmerged(self, record: Record) -> Expr:
        """Not merged into another record. On SQLite `+ 0` keeps the planner off the merged_into_id index, which
        it would otherwise pick for IS NULL (nearly every row) over the entity and field indexes."""
        column: Expr = record.merged_into_id if self.pg else record.merged_into_id + 0
        return column.is_(None)

    def condition(self, record: Record, cond: Condition) -> Expr:
        """The SQL of one condition over `record` (the entity's table or an alias of it)."""
        if isinstance(cond, AllOf):
            return and_(true(), *(self.condition(record, item) for item in cond.items))
        if isinstance(cond, AnyOf):
            return or_(false(), *(self.condition(record, item) for item in cond.items))
        if isinstance(cond, NotOf):
            return negate(self.condition(record, cond.item))
        if isinstance(cond, LinkedCondition):
            return self.linked(record, cond)
        return self.field(record, cond)

    def where(self, flt: Filter) -> list[Expr]:
        """Conditions of the filter's records (entity, not merged, the filter's where)."""
        parts: list[Expr] = [RecordRow.entity == literal_name(flt.entity), self.unmerged(RecordRow)]
        if flt.where is not None:
            parts.append(self.condition(RecordRow, flt.where))
        return parts

    def sort_value(self, record: Record, ref: FieldRef) -> Any:
        """What a sort key orders by: the typed field, or for the owner their username."""
        if ref.type == "owner":
            return select(UserRow.username).where(UserRow.id == record.owner_id).scalar_subquery()
        return self.typed(record, ref)

    def order(self, flt: Filter) -> list[Any]:
        """ORDER BY of the filter: its keys (empties last; owner by username), then id; default newest first."""
        keys: list[Any] = []
        for key in flt.sort:
            expr = self.sort_value(RecordRow, key.field)
            keys.append((expr.desc() if key.descending else expr.asc()).nulls_last())
        descending = flt.sort[0].descending if flt.sort else True
        keys.append(RecordRow.id.desc() if descending else RecordRow.id.asc())
        return keys

    def after(self, flt: Filter, after_id: int) -> Expr:
        """Records that come after record `after_id` in the filter's order (keyset paging).

        The cursor is only the last id seen: its sort values are read by uncorrelated subqueries (computed once
        per query), so a page link carries no typed values. Empty values sort last, as in `order`."""
        cursor = aliased(RecordRow)
        descending = flt.sort[0].descending if flt.sort else True
        last_id = bindparam(None, after_id, type_=Integer)
        tie: Expr = RecordRow.id < last_id if descending else RecordRow.id > last_id
        for key in reversed(flt.sort):  # (k1, k2, id) > (v1, v2, last): k1 after v1, or k1 = v1 and the rest after
            mine = self.sort_value(RecordRow, key.field)
            theirs = (select(self.sort_value(cursor, key.field)).where(cursor.id == last_id)
                      .scalar_subquery())
            beyond = mine < theirs if key.descending else mine > theirs
            later = and_(theirs.is_not(None), or_(beyond, mine.is_(None)))
            same = or_(mine == theirs, and_(mine.is_(None), theirs.is_(None)))
            tie = or_(later, and_(same, tie))
        return tie


def like_pattern(value: str, op: str = "contains") -> str:
    """The LIKE pattern of a case-insensitive `contains` / `starts_with` of `value` (wildcards escaped)."""
    escaped = value.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%" if op == "contains" else f"{escaped}%"


def text_like(expr: Any, pattern: Any) -> Expr:
    """lower(expr) LIKE pattern (a `like_pattern`, bound), in every script: SQLite's lower() is Python's here."""
    return func.lower(expr).like(pattern, escape="\\")


def negate(condition: Expr) -> Expr:
    """NOT of a condition in which NULL (a missing value) counts as false: NOT COALESCE(condition, false)."""
    return not_(func.coalesce(condition, false()))


def visible_to(owner_ids: Sequence[int] | None, include_unowned: bool, inbox: Any | None) -> Expr | None:
    """The visibility condition of an actor (None: sees everything); `inbox` is a select of record ids."""
    if owner_ids is None:
        return None
    parts: list[Expr] = [RecordRow.owner_id.in_(list(owner_ids))]
    if include_unowned:
        parts.append(RecordRow.owner_id.is_(None))
    if inbox is not None:
        parts.append(RecordRow.id.in_(inbox))
    return or_(*parts)


def id_select(compiler: FilterCompiler, flt: Filter, visible: Expr | None) -> Select[tuple[int]]:
    """SELECT record.id of the filter's records the actor may see (no order, no limit)."""
    stmt = select(RecordRow.id).where(*compiler.where(flt))
    return stmt.where(visible) if visible is not None else stmt


def ordered(ids: Iterable[int], rows: Iterable[RecordRow]) -> list[RecordRow]:
    """Rows in the order of `ids` (rows loaded by id come back in any order)."""
    by_id = {row.id: row for row in rows}
    return [by_id[i] for i in ids if i in by_id]


@dataclass(frozen=True)
class FindScope:
    """Which records an actor may see: owner ids (None = all), unowned ones, and those in an inbox
    (user id, groups, username) — the visibility of engine/services/records.py."""

    owner_ids: Sequence[int] | None = None
    include_unowned: bool = True
    inbox_of: tuple[int, Iterable[str], str] | None = None


class FindRepository(_Repository):
    """Runs compiled filters: pages of ids, counts, keyset batches, and the SQL text for --explain."""

    def compiler(self, now: datetime) -> FilterCompiler:
        """A compiler for this session's database."""
        return FilterCompiler(self.session.get_bind().dialect.name, now)

    def statement(self, flt: Filter, now: datetime, scope: FindScope) -> Select[tuple[int]]:
        """SELECT id of the matching records the scope admits, unordered."""
        inbox = _inbox_record_ids(*scope.inbox_of) if scope.inbox_of is not None else None
        visible = visible_to(scope.owner_ids, scope.include_unowned, inbox)
        return id_select(self.compiler(now), flt, visible)

    def ids(self, flt: Filter, now: datetime, scope: FindScope, *, limit: int, offset: int) -> list[int]:
        """One page of matching ids in the filter's order."""
        stmt = self.statement(flt, now, scope).order_by(*self.compiler(now).order(flt))
        return list(self.session.scalars(stmt.limit(limit).offset(offset)).all())

    def ids_after(self, flt: Filter, now: datetime, scope: FindScope, *, after_id: int | None,
                  limit: int) -> list[int]:
        """The next `limit` matching ids in the filter's order after record `after_id` (None: from the start)."""
        compiler = self.compiler(now)
        stmt = self.statement(flt, now, scope)
        if after_id is not None:
            stmt = stmt.where(compiler.after(flt, after_id))
        return list(self.session.scalars(stmt.order_by(*compiler.order(flt)).limit(limit)).all())

    def matching(self, flt: Filter, now: datetime, ids: Sequence[int]) -> set[int]:
        """Which of these records match the filter (one query; pending writes are flushed first)."""
        if not ids:
            return set()
        stmt = id_select(self.compiler(now), flt, None).where(RecordRow.id.in_(list(ids)))
        return set(self.session.scalars(stmt).all())

    def count(self, flt: Filter, now: datetime, scope: FindScope) -> int:
        """How many records match."""
        inner = self.statement(flt, now, scope).subquery()
        return int(self.session.scalar(select(func.count()).select_from(inner)) or 0)

    def count_upto(self, flt: Filter, now: datetime, scope: FindScope, cap: int) -> tuple[int, bool]:
        """How many records match, and whether that is exact. PostgreSQL counts up to `cap` and, beyond it,
        gives the planner's estimate (at least `cap` + 1) instead of scanning every match; others count all."""
        stmt = self.statement(flt, now, scope)
        bind = self.session.get_bind()
        if bind.dialect.name != "postgresql":
            return self.count(flt, now, scope), True
        found = int(self.session.scalar(select(func.count()).select_from(stmt.limit(cap + 1).subquery())) or 0)
        if found <= cap:
            return found, True
        compiled = stmt.compile(dialect=bind.dialect, compile_kwargs={"render_postcompile": True})
        plan = self.session.connection().exec_driver_sql("EXPLAIN (FORMAT JSON) " + compiled.string,
                                                          compiled.params).scalar()
        estimate = int(plan[0]["Plan"]["Plan Rows"]) if plan else 0
        return max(estimate, cap + 1), False

    def id_batch(self, flt: Filter, now: datetime, scope: FindScope, *, after_id: int, limit: int) -> list[int]:
        """The next `limit` matching ids above `after_id`, ascending (keyset paging for mass actions)."""
        stmt = self.statement(flt, now, scope).where(RecordRow.id > after_id).order_by(RecordRow.id.asc())
        return list(self.session.scalars(stmt.limit(limit)).all())

    def rows(self, ids: Sequence[int]) -> list[RecordRow]:
        """The records of these ids, in that order."""
        if not ids:
            return []
        return ordered(ids, self.session.scalars(select(RecordRow).where(RecordRow.id.in_(list(ids)))).all())

    def sql(self, flt: Filter, now: datetime, scope: FindScope, *, limit: int | None = None) -> str:
        """The SQL text of the page query with named parameters (:param_1); never executed from here."""
        stmt = self.statement(flt, now, scope).order_by(*self.compiler(now).order(flt))
        if limit is not None:
            stmt = stmt.limit(limit)
        dialect_class: Any = type(self.session.get_bind().dialect)
        dialect = dialect_class(paramstyle="named")
        return str(stmt.compile(dialect=dialect, compile_kwargs={"render_postcompile": True}))

    def ensure_field_indexes(self, fields: Iterable[tuple[str, str, str]]) -> list[str]:
        """Create the missing expression indexes of searchable (entity, field, type); returns their names."""
        from engine.store.field_indexes import ensure_field_indexes

        return ensure_field_indexes(self.session, fields)
