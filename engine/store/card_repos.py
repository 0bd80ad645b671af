"""Reads behind a record's card: its timeline (over the field history, process steps, tasks done, e-mails and the
records that reference it, each keyset-paged newest first) and the search-as-you-type choices of a reference
field. Nothing is stored twice: every entry is a row some other part of the engine already keeps."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from engine.store.json_fields import raw_value
from engine.store.models import (
    FieldChangeRow,
    InstanceEventRow,
    InstanceRow,
    OutboxRow,
    ProcessVersionRow,
    RecordLinkRow,
    RecordRow,
    TaskRow,
)
from engine.store.repositories import _inbox_record_ids

# the sources of a timeline; the rank orders entries of one instant (higher first)
SOURCES: tuple[str, ...] = ("field", "step", "task", "email", "record")
RANK = {source: rank for rank, source in enumerate(SOURCES, start=1)}
REFERENCE = "reference"  # the link kind a reference field's value keeps (LinkRepository.set_reference)
TASK_COMPLETED = "task_completed"  # the step a user task's completion writes: shown as the task done instead


@dataclass(frozen=True, order=True)
class TimelineKey:
    """The position of one entry: newest first by (at, rank, id); ids are text (tasks have UUIDs)."""

    at: datetime
    rank: int
    id: str

    @property
    def source(self) -> str:
        """Which table the entry comes from."""
        return SOURCES[self.rank - 1]


@dataclass(frozen=True)
class Referencing:
    """Records of one entity that reference the card, optionally only those whose `kind_field` is in `codes`."""

    entity: str
    kind_field: str | None = None
    codes: tuple[str, ...] | None = None  # None: every kind


def _after(at: Any, ident: Any, rank: int, key: TimelineKey | None, numeric: bool) -> ColumnElement[bool] | None:
    """Rows of one source that sort after `key` in (at, rank, id) descending order."""
    if key is None:
        return None
    if rank < key.rank:
        return at <= key.at  # type: ignore[no-any-return]
    if rank > key.rank:
        return at < key.at  # type: ignore[no-any-return]
    same: Any = int(key.id) if numeric else key.id
    return or_(at < key.at, and_(at == key.at, ident < same))


def _page(stmt: Select[Any], at: Any, ident: Any, source: str, after: TimelineKey | None, limit: int,
          numeric: bool = True) -> Select[Any]:
    condition = _after(at, ident, RANK[source], after, numeric)
    if condition is not None:
        stmt = stmt.where(condition)
    return stmt.order_by(at.desc(), ident.desc()).limit(limit)


class CardRepository:
    """Queries of the card's timeline and reference choices."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def field_changes(self, record_ids: Sequence[int], after: TimelineKey | None,
                      limit: int) -> list[FieldChangeRow]:
        """Field history of the records (the card and those merged into it)."""
        row = FieldChangeRow
        stmt = _page(select(row).where(row.record_id.in_(record_ids)), row.at, row.id, "field", after, limit)
        return list(self.session.scalars(stmt).all())

    def steps(self, record_id: int, after: TimelineKey | None,
              limit: int) -> list[tuple[InstanceEventRow, str, int]]:
        """Process steps of the record's instances (user task completions excluded), with process id and version."""
        row = InstanceEventRow
        stmt = (select(row, ProcessVersionRow.process_id, ProcessVersionRow.version)
                .join(InstanceRow, InstanceRow.id == row.instance_id)
                .join(ProcessVersionRow, ProcessVersionRow.id == InstanceRow.process_version_id)
                .where(InstanceRow.record_id == record_id, row.kind != TASK_COMPLETED))
        found = self.session.execute(_page(stmt, row.at, row.id, "step", after, limit)).all()
        return [(step, process_id, version) for step, process_id, version in found]

    def tasks_done(self, record_id: int, after: TimelineKey | None, limit: int) -> list[TaskRow]:
        """Completed tasks on the record (of its processes and standalone ones)."""
        row = TaskRow
        stmt = select(row).where(row.record_id == record_id, row.state == "completed",
                                 row.completed_at.is_not(None))
        return list(self.session.scalars(_page(stmt, row.completed_at, row.id, "task", after, limit,
                                               numeric=False)).all())

    def emails(self, record_id: int, after: TimelineKey | None, limit: int) -> list[OutboxRow]:
        """E-mails queued about the record (sent, pending or failed)."""
        row = OutboxRow
        stmt = select(row).where(row.record_id == record_id)
        return list(self.session.scalars(_page(stmt, row.created_at, row.id, "email", after, limit)).all())

    def referencing(self, record_id: int, sources: Sequence[Referencing], after: TimelineKey | None,
                    limit: int) -> list[RecordRow]:
        """Records of the given entities that reference the record through a reference field, newest first."""
        if not sources:
            return []
        dialect = self.session.get_bind().dialect.name
        wanted = []
        for source in sources:
            condition: ColumnElement[bool] = RecordRow.entity == source.entity
            if source.kind_field is not None and source.codes is not None:
                condition = and_(condition, raw_value(dialect, RecordRow.data, source.kind_field).in_(source.codes))
            wanted.append(condition)
        linking = select(RecordLinkRow.from_record_id).where(
            RecordLinkRow.to_record_id == record_id, RecordLinkRow.kind == REFERENCE, RecordLinkRow.field.is_not(None))
        stmt = select(RecordRow).where(RecordRow.id.in_(linking), RecordRow.merged_into_id.is_(None), or_(*wanted))
        return list(self.session.scalars(_page(stmt, RecordRow.created_at, RecordRow.id, "record", after,
                                               limit)).all())

    def choices(self, entity: str, text: str, *, owner_ids: list[int] | None, include_unowned: bool,
                inbox_of: tuple[int, Iterable[str], str] | None, limit: int) -> list[tuple[int, str]]:
        """(id, title) of an entity's records whose title contains `text` (any case; or whose number it is),
        visible as records.page sees them, titles starting with the text first, then by title."""
        folded = text.lower()
        pattern = "%" + folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        matches: ColumnElement[bool] = func.lower(RecordRow.title).like(pattern, escape="\\")
        if text.isdigit():
            matches = or_(matches, RecordRow.id == int(text))
        stmt = select(RecordRow.id, RecordRow.title).where(
            RecordRow.entity == entity, RecordRow.merged_into_id.is_(None), matches)
        if owner_ids is not None:
            visible = [RecordRow.owner_id.in_(owner_ids)]
            if include_unowned:
                visible.append(RecordRow.owner_id.is_(None))
            if inbox_of is not None:
                visible.append(RecordRow.id.in_(_inbox_record_ids(*inbox_of)))
            stmt = stmt.where(or_(*visible))
        starts = func.lower(RecordRow.title).like(pattern[1:], escape="\\")
        stmt = stmt.order_by(starts.desc(), RecordRow.title, RecordRow.id).limit(limit)
        return [(int(i), str(t)) for i, t in self.session.execute(stmt).all()]

    def made_with(self, record_id: int, at: datetime) -> list[RecordRow]:
        """Records created at the instant `at` and linked with the record at that instant (either direction):
        what a step run at `at` made from it, like a record a final action created and linked to its origin."""
        linked = select(RecordLinkRow.from_record_id).where(RecordLinkRow.to_record_id == record_id,
                                                            RecordLinkRow.created_at == at)
        linking = select(RecordLinkRow.to_record_id).where(RecordLinkRow.from_record_id == record_id,
                                                           RecordLinkRow.created_at == at)
        stmt = (select(RecordRow).where(or_(RecordRow.id.in_(linked), RecordRow.id.in_(linking)),
                                        RecordRow.created_at == at, RecordRow.id != record_id)
                .order_by(RecordRow.id))
        return list(self.session.scalars(stmt).all())
