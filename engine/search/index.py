"""Keeping search keys current: after every write of a searched field, for batches of new records, and rebuilt
for every record (after an upgrade, or when the configuration changes which fields are searched)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from engine.config.model import Bundle, Entity
from engine.search.keys import record_keys, searched_fields
from engine.store.models import RecordRow
from engine.store.uow import UnitOfWork

BATCH = 2000  # records per transaction of a rebuild


def refresh_record(uow: UnitOfWork, entity: Entity, row: RecordRow, changed: Mapping[str, Any], region: str, *,
                   created: bool = False) -> None:
    """Rewrite a record's keys when a searched field changed (or it was merged: merged records are not found);
    a record `created` in this transaction has none to remove."""
    if set(changed) & set(searched_fields(entity)):
        if created:
            index_new(uow, entity, [row], region)
        else:
            uow.search.replace(row.id, row.entity, record_keys(entity, row.data, region), row.owner_id)


def index_new(uow: UnitOfWork, entity: Entity, rows: Sequence[RecordRow], region: str) -> None:
    """Keys of records just inserted in bulk, in one statement."""
    uow.search.add_many(rows, [record_keys(entity, row.data, region) for row in rows])


def rebuild(uow: UnitOfWork, bundle: Bundle, entities: Iterable[str] | None = None, *, batch: int = BATCH) -> int:
    """Rebuild the keys of every record of these entities (default: all), one transaction per batch; how many
    records were keyed."""
    region, count = bundle.settings.default_region, 0
    for name in sorted(entities if entities is not None else bundle.entities):
        entity = bundle.entities[name]
        after = 0
        while True:
            with uow:
                rows = uow.records.batch(name, after, batch)
                if not rows:
                    break
                repo = uow.search
                repo.delete_of(row.id for row in rows)
                index_new(uow, entity, rows, region)
                after = rows[-1].id
                uow.commit()
            count += len(rows)
    return count
