"""A new record, a new process instance and its timer rows are inserted by prebuilt Core statements, not by ORM
flushes (engine/store/inserted_rows.py), and a record saved by its prebuilt UPDATE leaves nothing for the commit's
flush. What the ORM guaranteed for the rows it inserted must still hold: a savepoint or transaction that rolls back
forgets them, however it is rolled back, and later code of the unit of work is never handed an object of an
insert that was undone."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, cast

import pytest
from sqlalchemy import Table, event, func, insert, select
from sqlalchemy.orm import Session

from engine.processes.deployed import active_bundle
from engine.records.schema import validate_record
from engine.records.writing import insert_record
from engine.services import records, tasks
from engine.services.records import entity_of
from engine.store.inserted_rows import insert_held
from engine.store.models import InstanceRow, RecordRow, TimerRow
from engine.store.uow import UnitOfWork
from tests.conftest import NOW

MakeUow = Callable[[], UnitOfWork]


@contextmanager
def flushes() -> Iterator[list[set[str]]]:
    """The ORM flushes that found work, each as the classes of the new rows and changed rows it wrote."""
    seen: list[set[str]] = []

    def before_flush(session: Session, _context: object, _instances: object) -> None:
        seen.append({type(row).__name__ for row in (*session.new, *session.dirty, *session.deleted)})

    event.listen(Session, "before_flush", before_flush)
    try:
        yield seen
    finally:
        event.remove(Session, "before_flush", before_flush)


def _create_in(uow: UnitOfWork, head: Any, title: str) -> RecordRow:
    """A new lead written inside the caller's open transaction (what create_record does before its commit)."""
    bundle, _ = active_bundle(uow)
    entity = entity_of(bundle, "Lead")
    return insert_record(uow, head, entity, validate_record(entity, bundle, {"title": title}), NOW)


def test_a_new_lead_and_its_process_are_inserted_without_an_orm_flush(deployed: MakeUow, actors: dict) -> None:
    with flushes() as seen:
        lead = records.create_record(deployed(), actors["head"], "Lead", {"title": "12 monitors"}, NOW)
    written = set().union(*seen) if seen else set()
    assert not written & {"RecordRow", "InstanceRow", "TimerRow"}, seen
    with deployed() as uow:  # all three are stored, with the first revision
        instance = uow.instances.for_record(lead.id)[0]
        record = uow.records.get(lead.id)
        assert record is not None
        assert (record.revision, instance.revision, instance.status) == (1, 1, "running")
        assert instance.state_json != "{}"
        timers = select(func.count()).select_from(TimerRow).where(TimerRow.instance_id == instance.id)
        assert uow.session.scalar(timers) == 1  # the lead process waits on its first-contact deadline


def test_claiming_and_completing_a_task_commit_without_a_flush(deployed: MakeUow, actors: dict) -> None:
    lead = records.create_record(deployed(), actors["head"], "Lead", {"title": "3 servers"}, NOW)
    task = next(t for t in tasks.list_tasks(deployed(), actors["sales"], "pool") if t.record_id == lead.id)
    with flushes() as seen:
        tasks.claim_task(deployed(), actors["sales"], task.id, NOW)
        tasks.complete_task(deployed(), actors["sales"], task.id, {"outcome": "convert", "budget": "5000"}, NOW)
    assert seen == []  # the record's prebuilt UPDATE left it unchanged as far as the ORM knows
    with deployed() as uow:
        record = uow.records.get(lead.id)
        assert record is not None
        assert record.data["budget"] == "5000"
        assert record.owner_id == actors["sales"].id


def _rolled_back_then_next(uow: UnitOfWork, head: Any, undo: Callable[[UnitOfWork, Callable[[], None]], None]) -> None:
    """Insert a lead (record, instance, timer) in a block `undo` rolls back, then another in the same unit; the
    unit of work must not hand out the objects of the undone inserts."""
    undone: list[tuple[int, int]] = []

    def insert() -> None:
        record = _create_in(uow, head, "undone")
        instance = uow.instances.for_record(record.id)[0]
        undone.append((record.id, instance.id))

    undo(uow, insert)
    ((record_id, instance_id),) = undone
    fresh_record = uow.records.get(record_id)
    assert fresh_record is None or fresh_record.title != "undone"  # never the object of the undone insert
    fresh_instance = uow.instances.get(instance_id)
    assert fresh_instance is None or fresh_instance.record_id != record_id
    # SQLite hands the rolled-back ids to the next INSERTs: the session must take the new rows under them
    kept = _create_in(uow, head, "kept")
    assert uow.records.get(kept.id) is kept
    assert uow.instances.for_record(kept.id)[0].record_id == kept.id


def _in_unit_savepoint(uow: UnitOfWork, block: Callable[[], None]) -> None:
    def failing_item() -> None:
        with uow.savepoint():
            block()
            raise RuntimeError("job item failed")

    with pytest.raises(RuntimeError, match="job item failed"):
        failing_item()


def _in_session_savepoint(uow: UnitOfWork, block: Callable[[], None]) -> None:
    savepoint = uow.session.begin_nested()  # as an import row does (engine/imports)
    block()
    savepoint.rollback()


def _in_nested_savepoints(uow: UnitOfWork, block: Callable[[], None]) -> None:
    outer = uow.session.begin_nested()
    with uow.session.begin_nested():  # released into the outer savepoint, which then rolls back
        block()
    outer.rollback()


@pytest.mark.parametrize("undo", [_in_unit_savepoint, _in_session_savepoint, _in_nested_savepoints])
def test_rows_inserted_in_a_savepoint_that_rolls_back_are_forgotten(
    deployed: MakeUow, actors: dict, undo: Callable[[UnitOfWork, Callable[[], None]], None]
) -> None:
    uow = deployed()
    with uow:
        _rolled_back_then_next(uow, actors["head"], undo)
        uow.commit()
    with deployed() as check:
        titles = check.session.scalars(select(RecordRow.title).where(RecordRow.entity == "Lead")).all()
        instances = check.session.scalars(select(InstanceRow.record_id)).all()
    assert "undone" not in titles
    assert "kept" in titles
    assert len(instances) == len(set(instances))


def test_rows_inserted_by_a_service_block_an_edge_rolls_back_are_forgotten(deployed: MakeUow, actors: dict) -> None:
    uow = deployed().open_edge()
    try:
        def failed_service(unit: UnitOfWork, block: Callable[[], None]) -> None:
            def service() -> None:
                with unit:  # a service's own block in the edge
                    block()
                    raise RuntimeError("service failed")

            with pytest.raises(RuntimeError, match="service failed"):
                service()

        _rolled_back_then_next(uow, actors["head"], failed_service)
        uow.commit()
    finally:
        uow.close_edge()
    with deployed() as check:
        titles = check.session.scalars(select(RecordRow.title).where(RecordRow.entity == "Lead")).all()
    assert "undone" not in titles
    assert "kept" in titles


def test_rows_inserted_in_a_transaction_that_rolls_back_are_forgotten(deployed: MakeUow, actors: dict) -> None:
    uow = deployed()
    with uow:
        record = _create_in(uow, actors["head"], "undone")
        session = uow.session
        record_id = record.id
        session.rollback()
        assert record not in session
        assert record.id == record_id  # transient with its values, as a row the ORM inserted would be
        assert uow.records.get(record_id) is None


def test_a_prebuilt_insert_refuses_a_row_whose_unset_column_has_a_computed_default(deployed: MakeUow) -> None:
    timer = TimerRow(instance_id=1, task_id="t", element_id="e", due_at=NOW, fired_at=None, next_attempt_at=None,
                     last_error=None, parked_at=None)  # attempts left out: the server's default would give it
    with deployed() as uow, pytest.raises(ValueError, match=r"TimerRow\.attempts must be set"):
        insert_held(uow.session, timer, insert(cast(Table, TimerRow.__table__)))
