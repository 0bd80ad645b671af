"""The audit log: one newest-first, keyset-paged list over field changes, process steps, inbound events and
merges, plus the field history an as-of view replays. Read only (engine.store.audit_guard keeps it so)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, literal, or_, select, union_all
from sqlalchemy.orm import Session

from engine.store import audit_guard as _audit_guard  # noqa: F401  (installs the append-only guard)
from engine.store.models import (
    FieldChangeRow,
    InboundEventRow,
    InstanceEventRow,
    InstanceRow,
    ProcessVersionRow,
    RecordRow,
)
from engine.store.quality_models import MergeLogRow
from engine.store.repositories import _inbox_record_ids

# the kinds of audit entries; the rank orders entries of one instant (higher first, like ids)
KINDS: tuple[str, ...] = ("field", "step", "event", "merge")
RANK = {kind: rank for rank, kind in enumerate(KINDS, start=1)}


@dataclass(frozen=True)
class AuditFilter:
    """What to list: every field is optional; `owner_ids` None = no visibility limit (else as records.page)."""

    actor: str | None = None
    entity: str | None = None
    record_id: int | None = None
    kinds: frozenset[str] = frozenset(KINDS)
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    owner_ids: list[int] | None = None
    include_unowned: bool = True
    inbox_of: tuple[int, frozenset[str], str] | None = None


@dataclass(frozen=True, order=True)
class AuditKey:
    """The position of one entry in the log: newest first by (at, rank, id)."""

    at: datetime
    rank: int
    id: int

    @property
    def kind(self) -> str:
        """The entry's kind (field, step, event, merge)."""
        return KINDS[self.rank - 1]


@dataclass
class AuditRows:
    """The rows behind one page of keys, by kind and id, with the record (id, entity, title) each concerns."""

    fields: dict[int, FieldChangeRow] = field(default_factory=dict)
    steps: dict[int, InstanceEventRow] = field(default_factory=dict)
    events: dict[int, InboundEventRow] = field(default_factory=dict)
    merges: dict[int, MergeLogRow] = field(default_factory=dict)
    records: dict[tuple[str, int], tuple[int | None, str | None, str | None]] = field(default_factory=dict)
    processes: dict[int, str] = field(default_factory=dict)  # step id -> "process_id vN"


class AuditRepository:
    """Queries of the audit log and the as-of replay."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def changes_of(self, record_id: int) -> list[FieldChangeRow]:
        """A record's own field history (rows of records merged into it excluded), oldest first."""
        stmt = (select(FieldChangeRow).where(FieldChangeRow.record_id == record_id)
                .order_by(FieldChangeRow.at, FieldChangeRow.id))
        return list(self.session.scalars(stmt).all())

    def page(self, wanted: AuditFilter, limit: int, after: AuditKey | None = None) -> list[AuditKey]:
        """Up to `limit` entries matching the filter, newest first, strictly after the key `after` (keyset).

        Each kind's branch is an index range scan stopped at `limit` rows; the branches are merged and cut."""
        branches = []
        for kind in KINDS:
            if kind not in wanted.kinds:
                continue
            stmt = _BRANCHES[kind](wanted)
            at, ident = stmt.selected_columns[0], stmt.selected_columns[2]
            if after is not None:
                stmt = stmt.where(_after(at, ident, RANK[kind], after))
            sub = stmt.order_by(at.desc(), ident.desc()).limit(limit).subquery()
            branches.append(select(sub.c.at, sub.c.rank, sub.c.id))
        if not branches:
            return []
        merged = union_all(*branches).subquery()
        rows = self.session.execute(select(merged.c.at, merged.c.rank, merged.c.id)
                                    .order_by(merged.c.at.desc(), merged.c.rank.desc(), merged.c.id.desc())
                                    .limit(limit)).all()
        return [AuditKey(_aware(at), int(rank), int(ident)) for at, rank, ident in rows]

    def rows(self, keys: Sequence[AuditKey]) -> AuditRows:
        """Load the rows of a page of keys, each with its record, in one query per kind."""
        found = AuditRows()
        ids: dict[str, list[int]] = {kind: [k.id for k in keys if k.kind == kind] for kind in KINDS}
        if ids["field"]:
            stmt = (select(FieldChangeRow, RecordRow.entity, RecordRow.title)
                    .join(RecordRow, RecordRow.id == FieldChangeRow.record_id)
                    .where(FieldChangeRow.id.in_(ids["field"])))
            for row, entity, title in self.session.execute(stmt).all():
                found.fields[row.id] = row
                found.records[("field", row.id)] = (row.record_id, entity, title)
        if ids["step"]:
            stmt2 = (select(InstanceEventRow, InstanceRow.record_id, RecordRow.entity, RecordRow.title,
                            ProcessVersionRow.process_id, ProcessVersionRow.version)
                     .join(InstanceRow, InstanceRow.id == InstanceEventRow.instance_id)
                     .join(ProcessVersionRow, ProcessVersionRow.id == InstanceRow.process_version_id)
                     .outerjoin(RecordRow, RecordRow.id == InstanceRow.record_id)
                     .where(InstanceEventRow.id.in_(ids["step"])))
            for step, record_id, entity, title, process_id, version in self.session.execute(stmt2).all():
                found.steps[step.id] = step
                found.records[("step", step.id)] = (record_id, entity, title)
                found.processes[step.id] = f"{process_id} v{version}"
        if ids["event"]:
            stmt3 = (select(InboundEventRow, InstanceRow.record_id, RecordRow.entity, RecordRow.title)
                     .outerjoin(InstanceRow, InstanceRow.id == InboundEventRow.instance_id)
                     .outerjoin(RecordRow, RecordRow.id == InstanceRow.record_id)
                     .where(InboundEventRow.id.in_(ids["event"])))
            for inbound, record_id, entity, title in self.session.execute(stmt3).all():
                found.events[inbound.id] = inbound
                found.records[("event", inbound.id)] = (record_id, entity, title)
        if ids["merge"]:
            stmt4 = (select(MergeLogRow, RecordRow.title).join(RecordRow, RecordRow.id == MergeLogRow.survivor_id)
                     .where(MergeLogRow.id.in_(ids["merge"])))
            for merge, title in self.session.execute(stmt4).all():
                found.merges[merge.id] = merge
                found.records[("merge", merge.id)] = (merge.survivor_id, merge.entity, title)
        return found


def _aware(value: Any) -> datetime:
    """A timestamp read through a UNION (SQLite gives text or naive values there) as aware UTC."""
    moment: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _after(at: Any, ident: Any, rank: int, key: AuditKey) -> ColumnElement[bool]:
    """Rows of one branch (constant rank) that sort after `key` in (at, rank, id) descending order."""
    if rank < key.rank:
        return at <= key.at  # type: ignore[no-any-return]
    if rank > key.rank:
        return at < key.at  # type: ignore[no-any-return]
    return or_(at < key.at, and_(at == key.at, ident < key.id))


def _visible(wanted: AuditFilter) -> ColumnElement[bool] | None:
    """The record visibility limit as a condition on RecordRow (None: no limit)."""
    if wanted.owner_ids is None:
        return None
    seen: list[ColumnElement[bool]] = [RecordRow.owner_id.in_(wanted.owner_ids)]
    if wanted.include_unowned:
        seen.append(RecordRow.owner_id.is_(None))
    if wanted.inbox_of is not None:
        seen.append(RecordRow.id.in_(_inbox_record_ids(*wanted.inbox_of)))
    return or_(*seen)


def _dated(stmt: Select[Any], at: Any, wanted: AuditFilter) -> Select[Any]:
    if wanted.since is not None:
        stmt = stmt.where(at >= wanted.since)
    if wanted.until is not None:
        stmt = stmt.where(at < wanted.until)
    return stmt


def _on_record(stmt: Select[Any], record_column: Any, wanted: AuditFilter) -> Select[Any]:
    """Join the record a branch concerns when the entity or visibility needs it."""
    visible = _visible(wanted)
    if wanted.entity is None and visible is None:
        return stmt
    stmt = stmt.join(RecordRow, RecordRow.id == record_column)
    if wanted.entity is not None:
        stmt = stmt.where(RecordRow.entity == wanted.entity)
    if visible is not None:
        stmt = stmt.where(visible)
    return stmt


def _branch(at: Any, kind: str, row_id: Any, actor: Any, wanted: AuditFilter) -> Select[Any]:
    """The (at, rank, id) select of one audit branch, narrowed to the wanted actor."""
    stmt = select(at.label("at"), literal(RANK[kind]).label("rank"), row_id.label("id"))
    if wanted.actor is not None:
        stmt = stmt.where(actor == wanted.actor)
    return stmt


def _via_instance(stmt: Select[Any], instance_column: Any, wanted: AuditFilter) -> Select[Any]:
    """Reach the record of a branch's process instance when the record, entity or visibility is asked for."""
    if wanted.record_id is None and wanted.entity is None and wanted.owner_ids is None:
        return stmt
    stmt = stmt.join(InstanceRow, InstanceRow.id == instance_column)
    if wanted.record_id is not None:
        stmt = stmt.where(InstanceRow.record_id == wanted.record_id)
    return _on_record(stmt, InstanceRow.record_id, wanted)


def _fields(wanted: AuditFilter) -> Select[Any]:
    row = FieldChangeRow
    stmt = _branch(row.at, "field", row.id, row.actor, wanted)
    if wanted.record_id is not None:
        stmt = stmt.where(row.record_id == wanted.record_id)
    return _on_record(_dated(stmt, row.at, wanted), row.record_id, wanted)


def _steps(wanted: AuditFilter) -> Select[Any]:
    row = InstanceEventRow
    stmt = _via_instance(_branch(row.at, "step", row.id, row.actor, wanted), row.instance_id, wanted)
    return _dated(stmt, row.at, wanted)


def _events(wanted: AuditFilter) -> Select[Any]:
    row = InboundEventRow
    stmt = _via_instance(_branch(row.received_at, "event", row.id, row.source, wanted), row.instance_id, wanted)
    return _dated(stmt, row.received_at, wanted)


def _merges(wanted: AuditFilter) -> Select[Any]:
    row = MergeLogRow
    stmt = _branch(row.at, "merge", row.id, row.by, wanted)
    if wanted.record_id is not None:
        stmt = stmt.where(or_(row.survivor_id == wanted.record_id, row.merged_id == wanted.record_id))
    if wanted.entity is not None:
        stmt = stmt.where(row.entity == wanted.entity)
    visible = _visible(wanted)
    if visible is not None:
        stmt = stmt.join(RecordRow, RecordRow.id == row.survivor_id).where(visible)
    return _dated(stmt, row.at, wanted)


_BRANCHES = {"field": _fields, "step": _steps, "event": _events, "merge": _merges}
