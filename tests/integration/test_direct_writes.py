"""The hot path's prebuilt writes go to the driver as SQL compiled once (engine/store/direct.py), not through
`Session.execute`: they must store exactly what the session's statement stored, keep the unit of work's rules (a
written transaction is not taken for a read, buffered history goes first, the audit trail stays append only) and
fail as the session's statement failed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, cast

import pytest
from sqlalchemy import Table, event, insert, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import ORMExecuteState, Session

from engine.services import records, tasks
from engine.store.direct import Prebuilt
from engine.store.models import FieldChangeRow, InstanceRow, TaskCandidateRow, TaskRow, TimerRow
from engine.store.uow import UnitOfWork
from tests.conftest import NOW
from tests.integration.test_pool_ping import terminate_backend
from tests.integration.test_step_statements import statements
from tests.statements import as_sent

MakeUow = Callable[[], UnitOfWork]
FIELD_CHANGES = cast(Table, FieldChangeRow.__table__)
TIMERS = cast(Table, TimerRow.__table__)
CANDIDATES = cast(Table, TaskCandidateRow.__table__)


@contextmanager
def session_writes() -> Iterator[list[str]]:
    """INSERT, UPDATE and DELETE statements run through a session inside the block."""
    seen: list[str] = []

    def record(state: ORMExecuteState) -> None:
        if state.is_insert or state.is_update or state.is_delete:
            seen.append(str(state.statement)[:60])

    event.listen(Session, "do_orm_execute", record)
    try:
        yield seen
    finally:
        event.remove(Session, "do_orm_execute", record)


def _lead(deployed: MakeUow, actors: dict, title: str) -> tuple[int, str]:
    lead_id = records.create_record(deployed(), actors["head"], "Lead", {"title": title}, NOW).id
    task_id = next(t.id for t in tasks.list_tasks(deployed(), actors["sales"], "pool") if t.record_id == lead_id)
    return lead_id, task_id


def test_a_lead_is_written_by_driver_sql_without_a_write_through_the_session(
    deployed: MakeUow, actors: dict
) -> None:
    sam = actors["sales"]
    with session_writes() as written, statements(deployed) as sent:
        lead_id, task_id = _lead(deployed, actors, "12 lamps")
        tasks.claim_task(deployed(), sam, task_id, NOW)
        tasks.complete_task(deployed(), sam, task_id, {"outcome": "convert", "budget": "300"}, NOW)
    # the record, instance, task, candidate, event, history, key and timer rows, the claim, the step's saves: all
    # sent, none of them through `Session.execute` (27 of them were)
    assert written == []
    assert sum(1 for sql in sent if as_sent(sql).split()[0] in ("INSERT", "UPDATE", "DELETE")) >= 20
    with deployed() as uow:
        record = uow.records.get(lead_id)
        assert record is not None
        assert (record.data["status"], record.owner_id, record.revision) == ("qualified", sam.id, 3)


def _stored(uow: UnitOfWork, table: str, columns: str, where: str) -> list[tuple[Any, ...]]:
    """Rows as the driver reads them back (SQLite: the stored text of times and JSON), not through column types."""
    rows = uow.session.connection().exec_driver_sql(f"SELECT {columns} FROM {table} WHERE {where} ORDER BY id")  # noqa: S608
    return [tuple(row) for row in rows]


@pytest.mark.parametrize("count", [1, 3])
def test_prebuilt_rows_are_stored_as_the_sessions_insert_stored_them(
    deployed: MakeUow, actors: dict, count: int
) -> None:
    lead_id, _ = _lead(deployed, actors, "7 tables")
    moscow = timezone(timedelta(hours=3))
    history = [{"record_id": lead_id, "at": datetime(2026, 3, 1, 12, 30, n, 250, tzinfo=moscow), "actor": "sam",
                "source": f"{{source}} {n}", "field": "budget", "old_value": None if n else {"a": [1, "б"]},
                "new_value": "5%s" if n else 7.5} for n in range(count)]
    with deployed() as uow:
        (instance,) = uow.instances.for_record(lead_id)
        timers = [{"instance_id": instance.id, "task_id": f"t-{n}", "element_id": "e", "due_at": NOW + timedelta(n),
                   "fired_at": None} for n in range(count)]
        uow.session.execute(insert(FIELD_CHANGES), [{**row, "actor": "session"} for row in history])
        Prebuilt(insert(FIELD_CHANGES)).insert_rows(uow.session, [{**row, "actor": "prebuilt"} for row in history])
        uow.session.execute(insert(TIMERS), [{**row, "element_id": "session"} for row in timers])
        Prebuilt(insert(TIMERS)).insert_rows(uow.session, [{**row, "element_id": "prebuilt"} for row in timers])
        uow.commit()
    with deployed() as uow:
        columns = "record_id, at, source, field, old_value, new_value"
        by_session = _stored(uow, "field_change", columns, "actor = 'session'")
        assert len(by_session) == count
        assert _stored(uow, "field_change", columns, "actor = 'prebuilt'") == by_session
        columns = "instance_id, task_id, due_at, fired_at, attempts, next_attempt_at, parked_at"
        by_session = _stored(uow, "timer", columns, "element_id = 'session'")
        assert len(by_session) == count
        assert _stored(uow, "timer", columns, "element_id = 'prebuilt'") == by_session


def test_a_prebuilt_update_binds_its_literals_and_flags_as_the_session_did(deployed: MakeUow, actors: dict) -> None:
    _, task_id = _lead(deployed, actors, "2 sofas")
    with deployed() as uow:
        # a literal of the statement ('open'), a flag and a time: each bound by its own type
        Prebuilt(update(CANDIDATES).where(CANDIDATES.c.task_id == task_id, CANDIDATES.c.kind == "group")
                 .values(pooled=False, sort_at=datetime(2026, 5, 1, 9, 0, tzinfo=UTC))).run(uow.session, {})
        uow.commit()
    with deployed() as uow:
        pooled, sort_at = uow.session.execute(
            select(TaskCandidateRow.pooled, TaskCandidateRow.sort_at).where(TaskCandidateRow.task_id == task_id)
        ).one()
    assert (pooled, sort_at) == (False, datetime(2026, 5, 1, 9, 0, tzinfo=UTC))


def test_a_prebuilt_write_in_a_dry_block_of_an_edge_is_rolled_back_with_it(deployed: MakeUow, actors: dict) -> None:
    _, task_id = _lead(deployed, actors, "4 shelves")
    uow = deployed().open_edge()
    try:
        with uow:  # a service block that wrote and did not commit (a dry run): undone when it ends
            uow.tasks.set_pooled(task_id, False)
        with uow:  # the edge's next block commits what it writes, and only that
            task = uow.tasks.get(task_id)
            assert task is not None
            uow.tasks.finish(task, "cancelled", NOW, "sam")
            uow.commit()
    finally:
        uow.close_edge()
    with deployed() as check:
        state = check.session.scalar(select(TaskRow.state).where(TaskRow.id == task_id))
        pooled = check.session.scalar(select(TaskCandidateRow.pooled).where(TaskCandidateRow.task_id == task_id))
    assert (state, pooled) == ("cancelled", True)


def test_buffered_history_is_sent_before_a_prebuilt_delete(deployed: MakeUow, actors: dict) -> None:
    lead_id, _ = _lead(deployed, actors, "9 beds")
    with deployed() as uow, statements(deployed) as sent:
        (instance,) = uow.instances.for_record(lead_id)
        with uow.one_history_insert():
            uow.records.add_changes([{"record_id": lead_id, "at": NOW, "actor": "sam", "source": "form",
                                      "field": "budget", "old_value": None, "new_value": "1"}])
            assert not any(sql.startswith("INSERT INTO field_change") for sql in sent)  # held
            uow.timers.forget(instance.id, ["no-such-task"])
            kinds = [sql.split()[0] + " " + sql.split()[2] for sql in sent if not sql.startswith("SELECT")]
            assert kinds[-2:] == ["INSERT field_change", "DELETE timer"]


def test_the_audit_trail_has_no_prebuilt_update_or_delete() -> None:
    with pytest.raises(ValueError, match="append only"):
        Prebuilt(update(FIELD_CHANGES).values(actor="someone else"))
    with pytest.raises(ValueError, match="append only"):
        Prebuilt(FIELD_CHANGES.delete())


def test_a_prebuilt_insert_that_breaks_a_key_raises_sqlalchemys_integrity_error(
    deployed: MakeUow, actors: dict
) -> None:
    lead_id, _ = _lead(deployed, actors, "5 desks")
    with deployed() as uow:
        (instance,) = uow.instances.for_record(lead_id)
        with pytest.raises(IntegrityError):
            # no such instance: the foreign key refuses the row, and the error is SQLAlchemy's, as from the session
            uow.instances.insert_new(InstanceRow(process_version_id=instance.process_version_id, record_id=-5,
                                                 status="running", state_json="{}", serializer_version="x",
                                                 started_at=NOW, started_by="sam", ended_at=None))
    with deployed() as uow:
        assert uow.session.scalar(select(text("count(*)")).select_from(InstanceRow)) == 1


def test_a_connection_lost_before_a_prebuilt_write_is_invalidated_and_the_next_unit_gets_a_live_one(
    deployed: MakeUow, actors: dict, db_url: str
) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("a server connection to lose is PostgreSQL's")
    _, task_id = _lead(deployed, actors, "6 cabinets")
    uow = deployed()
    with uow:
        pid = uow.session.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        terminate_backend(db_url, pid)
        with pytest.raises(OperationalError) as lost:  # noqa: PT012 - the write, then what sends it
            # on PostgreSQL the write is held until the unit's next statement or its commit (engine.store.pipeline)
            uow.tasks.set_pooled(task_id, False)
            uow.commit()
        assert lost.value.connection_invalidated
    with deployed() as again:  # a live connection, and nothing of the lost unit was written
        assert again.session.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar_one() != pid
        assert again.session.scalar(select(TaskCandidateRow.pooled).where(TaskCandidateRow.task_id == task_id))
