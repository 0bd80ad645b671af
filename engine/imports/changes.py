"""Matched rows of an import batch written together: a row that updates a record (on_match update, update_empty,
overwrite) or leaves it as it is (skip, or nothing new) is applied to the loaded record in memory at once, so the
rows after it see the record as row by row; its history, its UPDATE and the events of its change wait and go with
the other such rows in one history INSERT and one revision-checked executemany UPDATE (write_changes), before any
other write of the batch (a run of new records, a row written alone, the batch's end), so the writes keep the
file's order. A row whose change a rule watches waits too when those rules write no field of a record
(watched_changes_ready: territories, owners, tasks): they run for the waiting rows in one pass after their write
(on_records_changed), so a row after it reads the record's fields as row by row, and a row reading the record
itself finds it waiting and writes it first. Otherwise it goes alone, as a row touching a waiting record does.
When the joint write or its rules refuse, the savepoint takes back all of it and the rows go one by one (each
with its own savepoint and outcome: a refused row is rejected with its number and the rule's reason)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine.errors import FlowError
from engine.records.schema import is_empty
from engine.records.writing import applied
from engine.services.bulk_records import write_changes
from engine.services.records import can_see, check_targets, title_of
from engine.store.models import RecordRow
from engine.store.quality_models import ImportRowKeyRow
from engine.store.uow import UnitOfWork

if TYPE_CHECKING:
    from engine.imports.rows import Importer, Problems


@dataclass
class Change:
    """A matched row applied in memory, waiting to be written: its row, the record and what applied() made of it."""

    number: int
    cells: Sequence[Any]
    converted: tuple[dict[str, Any], Problems]
    digest: str
    row: RecordRow
    applied: tuple[dict[str, Any], dict[str, tuple[Any, Any]]]
    outcome: str
    touched: bool  # this row made the record one the run touched (undone if the write is refused)


def defer(
    importer: Importer,
    uow: UnitOfWork,
    number: int,
    cells: Sequence[Any],
    converted: tuple[dict[str, Any], Problems],
    known: dict[str, ImportRowKeyRow],
) -> bool:
    """Apply a row matching a record to that record in memory and queue its write, when it is such a row and
    nothing it does needs writing at once (see the module); False when it must go alone (process())."""
    data, problems = converted
    if problems or importer.policy not in ("update", "update_empty", "overwrite", "skip"):
        return False
    from engine.imports.rows import RowRejected

    digest = importer.digest(data)
    if digest in importer.hashes and importer.hashes[digest] not in importer.waiting:
        # the same row twice in one file: one record, nothing written (as process() says)
        importer.counts["merged" if importer.hashes[digest] in importer.touched else "skipped"] += 1
        return True
    if digest in importer.hashes or digest in known:
        return False
    match = importer.find(uow, data)
    if match is None or match.record_id in importer.waiting:
        return False
    row = uow.records.get(match.record_id)
    if row is None or not can_see(uow, importer.actor, row):
        return False
    folded = row.id in importer.touched
    if importer.policy == "skip":
        wanted: dict[str, Any] = {}
    else:
        try:
            clean = importer.validate(data, [], partial=True)
        except RowRejected:
            return False
        if importer.policy == "update_empty" and importer._conflicts(row, clean):
            return False  # it goes to review
        wanted = {
            name: value
            for name, value in clean.items()
            if importer.policy in ("update", "overwrite") or is_empty(row.data.get(name))
        }
        try:
            check_targets(uow, importer.entity, wanted)
        except FlowError:
            return False
    new_data, changed = applied(row.data, wanted)
    if set(changed) & importer.watched and not importer.watched_together:
        return False  # a rule runs on this change and may write the record: before the next row reads it
    touched = bool(changed) and not folded
    if changed:
        uow.records.stage(
            row, {"data": new_data, "title": title_of(importer.entity, new_data, row.id), "updated_at": importer.now}
        )
        importer.touched.add(row.id)
        importer.waiting.add(row.id)
    outcome = "merged" if folded else "updated" if changed else "skipped"
    importer.pending.append(Change(number, cells, converted, digest, row, (new_data, changed), outcome, touched))
    importer.remember(row)
    importer.hashes[digest] = row.id
    return True


def flush(importer: Importer, uow: UnitOfWork, known: dict[str, ImportRowKeyRow]) -> None:
    """Write the waiting rows' changes together (one savepoint); when anything refuses, undo them in memory and
    write them one by one instead (per-row errors)."""
    pending, importer.pending = importer.pending, []
    importer.waiting = set()
    if not pending:
        return
    writes = [change for change in pending if change.applied[1]]
    savepoint = uow.imports.savepoint()
    try:
        write_changes(
            uow,
            [change.row for change in writes],
            [change.applied for change in writes],
            actor=importer.actor.username,
            sources=[importer.row_source(c.number) for c in writes],
            now=importer.now,
            entity=importer.entity,
            lookups=importer.lookups if importer.watched_together else None,
        )
    except FlowError:
        savepoint.rollback()
        uow.records.reload(change.row for change in writes)
        for change in pending:
            importer.hashes.pop(change.digest, None)
            if change.touched:
                importer.touched.discard(change.row.id)
        for change in pending:
            importer.process(uow, change.number, change.cells, None, known, change.converted)
        return
    savepoint.commit()
    for change in pending:
        importer.counts[change.outcome] += 1
    importer.new_keys.extend((change.digest, change.row.id) for change in pending)
