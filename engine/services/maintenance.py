"""Maintenance jobs an operator runs after an upgrade: rebuilding rows the engine derives from record data.

Reference links (record_link rows of kind "reference", one per filled reference field) are written with every
record change since links exist; records written before that have none, so filters and reports that join through
linked records miss them. `backfill_reference_links` makes the links match the record data exactly."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from engine.config.model import Bundle, Entity
from engine.errors import ValidationError
from engine.services.records import entity_of
from engine.store.models import RecordLinkRow, RecordRow
from engine.store.uow import UnitOfWork

REFERENCE = "reference"
BACKFILL_BY = "backfill"  # created_by of the links the backfill makes

Edge = tuple[int, str, int]  # (from record, field, to record)


@dataclass
class BackfillCounts:
    """What a backfill did: records read, links made, stale or doubled links removed, links already right."""

    records: int = 0
    created: int = 0
    removed: int = 0
    kept: int = 0
    batches: int = 0


def _reference_fields(entity: Entity) -> dict[str, str]:
    """{field: target entity} of an entity's reference fields."""
    return {name: field.entity for name, field in entity.fields.items()
            if field.type == REFERENCE and field.entity is not None}


def _wanted(rows: list[RecordRow], fields: dict[str, str], targets: dict[int, str]) -> set[Edge]:
    """The links the data asks for: a filled reference field naming an existing record of its entity.

    A merged record has none: the merge took its reference links away and only an undo puts them back."""
    return {(row.id, name, value) for row in rows if row.merged_into_id is None
            for name, value in ((n, row.data.get(n)) for n in fields)
            if isinstance(value, int) and not isinstance(value, bool) and targets.get(value) == fields[name]}


def _backfill_batch(uow: UnitOfWork, rows: list[RecordRow], fields: dict[str, str], now: datetime,
                    counts: BackfillCounts) -> None:
    values = {v for row in rows for v in (row.data.get(n) for n in fields) if isinstance(v, int)}
    wanted = _wanted(rows, fields, uow.links.entities_of(values))
    seen: set[Edge] = set()
    for link in uow.links.references_from(row.id for row in rows):
        edge = (link.from_record_id, link.field or "", link.to_record_id)
        if edge in wanted and edge not in seen:
            seen.add(edge)
            counts.kept += 1
        else:  # the field changed, was cleared, its target is gone, it is no reference field now, or a twin
            uow.links.delete(link)
            counts.removed += 1
    uow.links.flush()  # deletions first: a link may be removed and made again in one batch
    for from_id, name, to_id in sorted(wanted - seen):
        uow.links.add(RecordLinkRow(from_record_id=from_id, to_record_id=to_id, kind=REFERENCE, field=name,
                                    created_at=now, created_by=BACKFILL_BY))
        counts.created += 1


def backfill_reference_links(uow: UnitOfWork, bundle: Bundle, now: datetime, *, batch: int = 1000,
                             entities: list[str] | None = None) -> BackfillCounts:
    """Make every record's reference links match its reference fields; idempotent, one transaction per batch."""
    if batch < 1:
        raise ValidationError({"batch": [f"must be at least 1, not {batch}"]})
    counts = BackfillCounts()
    for entity in [entity_of(bundle, name) for name in sorted(entities if entities is not None else bundle.entities)]:
        fields = _reference_fields(entity)
        after = 0
        while fields:
            with uow:
                rows = uow.records.batch(entity.name, after, batch)
                if not rows:
                    break
                _backfill_batch(uow, rows, fields, now, counts)
                after = rows[-1].id
                uow.commit()
            counts.records += len(rows)
            counts.batches += 1
    return counts
