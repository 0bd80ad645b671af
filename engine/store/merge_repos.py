"""Queries of the duplicate review queue and of merges: pairs by status, rows attached to a record, merge log."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import aliased

from engine.store import waiting_keys
from engine.store.models import (
    FieldChangeRow,
    InstanceRow,
    MessageWaitRow,
    OutboxRow,
    RecordLinkRow,
    RecordRow,
    ReminderRow,
    TaskRow,
)
from engine.store.quality_models import DuplicatePairRow, ImportRowKeyRow, MatchKeyRow, MergeLogRow
from engine.store.repositories import _Repository

# rows that belong to one record through their record_id column: a merge moves them to the survivor
ATTACHED: dict[str, Any] = {
    "task": TaskRow,
    "process_instance": InstanceRow,
    "reminder": ReminderRow,
    "outbox": OutboxRow,
    "import_row_key": ImportRowKeyRow,
}
OPEN = "open"


class MergeRepository(_Repository):
    """Duplicate pairs as a review queue, the merge log, and the rows a merge moves."""

    def pair(self, pair_id: int) -> DuplicatePairRow | None:
        """A duplicate pair by id."""
        return self.session.get(DuplicatePairRow, pair_id)

    def merge(self, merge_id: int) -> MergeLogRow | None:
        """A merge log entry by id."""
        return self.session.get(MergeLogRow, merge_id)

    def queue(self, *, entity: str | None, status: str, owner_ids: list[int] | None, include_unowned: bool,
              limit: int, offset: int) -> list[DuplicatePairRow]:
        """Pairs of the queue: open ones by score (highest first); decided ones (`decided` = any decision, or one
        status) latest first; of one entity or all. `owner_ids` (None = all) keeps pairs whose both records are
        owned by these users (or unowned, with include_unowned)."""
        stmt = select(DuplicatePairRow)
        if entity:
            stmt = stmt.where(DuplicatePairRow.entity == entity)
        if status == OPEN:
            stmt = stmt.where(DuplicatePairRow.status == OPEN).order_by(DuplicatePairRow.score.desc(),
                                                                        DuplicatePairRow.id)
        else:
            chosen = DuplicatePairRow.status != OPEN if status == "decided" else DuplicatePairRow.status == status
            stmt = stmt.where(chosen).order_by(DuplicatePairRow.decided_at.desc(), DuplicatePairRow.id.desc())
        if owner_ids is not None:
            a, b = aliased(RecordRow), aliased(RecordRow)
            stmt = stmt.join(a, a.id == DuplicatePairRow.record_a_id).join(b, b.id == DuplicatePairRow.record_b_id)
            for side in (a, b):
                allowed = [side.owner_id.in_(owner_ids)]
                if include_unowned:
                    allowed.append(side.owner_id.is_(None))
                stmt = stmt.where(or_(*allowed))
        return list(self.session.scalars(stmt.limit(limit).offset(offset)).all())

    def pairs_of(self, record_id: int, status: str | None = None) -> list[DuplicatePairRow]:
        """Pairs one record is in (of one status, or all), oldest first."""
        stmt = select(DuplicatePairRow).where(or_(DuplicatePairRow.record_a_id == record_id,
                                                  DuplicatePairRow.record_b_id == record_id))
        if status is not None:
            stmt = stmt.where(DuplicatePairRow.status == status)
        return list(self.session.scalars(stmt.order_by(DuplicatePairRow.id)).all())

    def pair_between(self, first: int, second: int) -> DuplicatePairRow | None:
        """The pair of two records, whichever order they are given in."""
        low, high = sorted((first, second))
        return self.session.scalar(select(DuplicatePairRow).where(DuplicatePairRow.record_a_id == low,
                                                                  DuplicatePairRow.record_b_id == high))

    def pairs_by_ids(self, ids: Iterable[int]) -> dict[int, DuplicatePairRow]:
        """Pairs by id."""
        wanted = set(ids)
        if not wanted:
            return {}
        rows = self.session.scalars(select(DuplicatePairRow).where(DuplicatePairRow.id.in_(wanted))).all()
        return {r.id: r for r in rows}

    def merges_into(self, survivor_id: int) -> list[MergeLogRow]:
        """Merges a record survived, newest first."""
        stmt = select(MergeLogRow).where(MergeLogRow.survivor_id == survivor_id).order_by(MergeLogRow.id.desc())
        return list(self.session.scalars(stmt).all())

    def merge_of(self, merged_id: int) -> MergeLogRow | None:
        """The merge (not undone) that merged this record away."""
        stmt = select(MergeLogRow).where(MergeLogRow.merged_id == merged_id, MergeLogRow.undone_at.is_(None))
        return self.session.scalar(stmt.order_by(MergeLogRow.id.desc()).limit(1))

    def absorbed(self, survivor_id: int) -> list[int]:
        """Ids of the records merged into this one, directly or through records merged into those."""
        found: list[int] = []
        frontier = [survivor_id]
        while frontier:
            stmt = select(RecordRow.id).where(RecordRow.merged_into_id.in_(frontier)).order_by(RecordRow.id)
            frontier = [i for i in self.session.scalars(stmt).all() if i not in found and i != survivor_id]
            found.extend(frontier)
        return found

    def changes_of(self, record_ids: Iterable[int]) -> list[FieldChangeRow]:
        """Field history of several records, in the order it was written."""
        stmt = select(FieldChangeRow).where(FieldChangeRow.record_id.in_(set(record_ids)))
        return list(self.session.scalars(stmt.order_by(FieldChangeRow.at, FieldChangeRow.id)).all())

    def attached(self, table: str, record_id: int) -> list[Any]:
        """Rows of an ATTACHED table that belong to a record, by id."""
        row = ATTACHED[table]
        return list(self.session.scalars(select(row).where(row.record_id == record_id).order_by(row.id)).all())

    def attached_by_ids(self, table: str, ids: Iterable[Any]) -> list[Any]:
        """Rows of an ATTACHED table by id."""
        row = ATTACHED[table]
        wanted = set(ids)
        if not wanted:
            return []
        return list(self.session.scalars(select(row).where(row.id.in_(wanted)).order_by(row.id)).all())

    def attached_counts(self, record_id: int) -> dict[str, int]:
        """How many rows of each ATTACHED table, and links (both directions), belong to a record."""
        counts = {table: int(self.session.scalar(select(func.count()).select_from(row)
                                                 .where(row.record_id == record_id)) or 0)
                  for table, row in ATTACHED.items()}
        counts["record_link"] = int(self.session.scalar(select(func.count()).select_from(RecordLinkRow).where(
            or_(RecordLinkRow.from_record_id == record_id, RecordLinkRow.to_record_id == record_id))) or 0)
        return counts

    def links_of(self, record_id: int) -> list[RecordLinkRow]:
        """Every link from or to a record, by id."""
        stmt = select(RecordLinkRow).where(or_(RecordLinkRow.from_record_id == record_id,
                                               RecordLinkRow.to_record_id == record_id))
        return list(self.session.scalars(stmt.order_by(RecordLinkRow.id)).all())

    def links_by_ids(self, ids: Iterable[int]) -> list[RecordLinkRow]:
        """Links by id."""
        wanted = set(ids)
        if not wanted:
            return []
        return list(self.session.scalars(select(RecordLinkRow).where(RecordLinkRow.id.in_(wanted))).all())

    def has_link(self, from_id: int, to_id: int, kind: str, field: str | None, *, other_than: int) -> bool:
        """Whether a link with these ends, kind and field exists besides the link `other_than`."""
        same_field = RecordLinkRow.field.is_(None) if field is None else RecordLinkRow.field == field
        stmt = select(RecordLinkRow.id).where(and_(
            RecordLinkRow.from_record_id == from_id, RecordLinkRow.to_record_id == to_id,
            RecordLinkRow.kind == kind, same_field, RecordLinkRow.id != other_than)).limit(1)
        return self.session.scalar(stmt) is not None

    def waits_of(self, instance_id: int) -> list[MessageWaitRow]:
        """The message waits of one instance."""
        stmt = select(MessageWaitRow).where(MessageWaitRow.instance_id == instance_id).order_by(MessageWaitRow.id)
        return list(self.session.scalars(stmt).all())

    def waits_by_ids(self, ids: Iterable[int]) -> list[MessageWaitRow]:
        """Message waits by id."""
        wanted = set(ids)
        if not wanted:
            return []
        return list(self.session.scalars(select(MessageWaitRow).where(MessageWaitRow.id.in_(wanted))).all())

    def keys_of(self, record_id: int) -> list[MatchKeyRow]:
        """The match keys of a record."""
        waiting_keys.write(self.session, waiting_keys.MATCH)
        stmt = select(MatchKeyRow).where(MatchKeyRow.record_id == record_id).order_by(MatchKeyRow.id)
        return list(self.session.scalars(stmt).all())

    def match_key(self, key_id: int) -> MatchKeyRow | None:
        """One match key by id (the merge log names the keys it dropped)."""
        waiting_keys.write(self.session, waiting_keys.MATCH)
        return self.session.get(MatchKeyRow, key_id)

    def delete(self, row: object) -> None:
        """Remove a row (a link, a match key) the merge log remembers."""
        self.session.delete(row)
