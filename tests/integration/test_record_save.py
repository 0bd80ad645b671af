"""A stored record changed in a unit of work is written at the commit by one prebuilt UPDATE checked by its revision
(engine/store/repositories.py `RecordRepository.save_changed`), not by the ORM's flush. The optimistic lock must
hold as it did."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, cast

import pytest
from sqlalchemy import Table, event, select, update
from sqlalchemy.orm import Session

from engine.errors import ConflictError
from engine.services import records, tasks
from engine.store.models import RecordRow, TimerRow
from engine.store.uow import UnitOfWork
from tests.conftest import NOW
from tests.integration.test_step_statements import statements
from tests.statements import as_sent

MakeUow = Callable[[], UnitOfWork]
RECORDS = cast(Table, RecordRow.__table__)


@contextmanager
def session_updates(make_uow: MakeUow) -> Iterator[list[str]]:
    """Tables of the UPDATE statements sent inside the block other than by the ORM's flush: prebuilt ones, whether
    through the session or as driver SQL on its connection (engine.store.direct)."""
    seen: list[str] = []
    flushing = [False]

    def began(*_args: object) -> None:
        flushing[0] = True

    def ended(*_args: object) -> None:
        flushing[0] = False

    def sent(_conn: object, _cursor: object, sql: str, *_args: object) -> None:
        found = re.match(r'\s*UPDATE\s+"?(\w+)', as_sent(sql), re.IGNORECASE)
        if found and not flushing[0]:
            seen.append(found.group(1))

    engine = make_uow.engine  # type: ignore[attr-defined]  # the fixture is a UowFactory
    event.listen(Session, "before_flush", began)
    event.listen(Session, "after_flush", ended)
    event.listen(engine, "before_cursor_execute", sent)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", sent)
        event.remove(Session, "after_flush", ended)
        event.remove(Session, "before_flush", began)


def _stored(make_uow: MakeUow, record_id: int) -> tuple[Any, ...]:
    with make_uow() as uow:
        row = uow.session.execute(
            select(RECORDS.c.revision, RECORDS.c.data, RECORDS.c.owner_id).where(RECORDS.c.id == record_id)
        ).one()
    return tuple(row)


def test_a_claim_and_a_completion_write_their_record_by_a_prebuilt_update_once(
    deployed: MakeUow, actors: dict
) -> None:
    sam, head = actors["sales"], actors["head"]
    lead_id = records.create_record(deployed(), head, "Lead", {"title": "3 printers"}, NOW).id
    revision = _stored(deployed, lead_id)[0]
    task_id = next(t.id for t in tasks.list_tasks(deployed(), sam, "pool") if t.record_id == lead_id)
    with session_updates(deployed) as claimed, statements(deployed) as claim_sql:
        tasks.claim_task(deployed(), sam, task_id, NOW)
    assert claimed.count("record") == 1, claimed
    assert len([s for s in claim_sql if as_sent(s).startswith("UPDATE record")]) == 1
    assert _stored(deployed, lead_id)[0] == revision + 1
    assert _stored(deployed, lead_id)[2] == sam.id
    with session_updates(deployed) as completed, statements(deployed) as complete_sql:
        tasks.complete_task(deployed(), sam, task_id, {"outcome": "convert", "budget": "700"}, NOW)
    assert completed.count("record") == 1, completed
    assert len([s for s in complete_sql if as_sent(s).startswith("UPDATE record")]) == 1
    stored_revision, data, _ = _stored(deployed, lead_id)
    assert stored_revision == revision + 2
    assert (data["budget"], data["status"]) == ("700", "qualified")


def test_saving_a_record_over_a_revision_saved_elsewhere_is_a_conflict_and_writes_nothing(
    deployed: MakeUow, actors: dict
) -> None:
    lead_id = records.create_record(deployed(), actors["head"], "Lead", {"title": "5 monitors"}, NOW).id
    revision, data, _ = _stored(deployed, lead_id)
    uow = deployed()
    with uow:
        row = uow.records.get(lead_id)
        assert row is not None
        # another writer saved the record after this unit read it (committed first)
        with deployed.engine.begin() as other:  # type: ignore[attr-defined]  # the fixture is a UowFactory
            other.execute(update(RECORDS).where(RECORDS.c.id == lead_id).values(revision=revision + 1))
        row.data = {**row.data, "title": "5 monitors, changed"}
        with pytest.raises(ConflictError, match="someone else"):
            uow.commit()
    assert _stored(deployed, lead_id) == (revision + 1, data, None)


def test_a_record_changed_beside_a_new_row_is_written_by_the_flush_after_it(deployed: MakeUow, actors: dict) -> None:
    lead_id = records.create_record(deployed(), actors["head"], "Lead", {"title": "8 desks"}, NOW).id
    revision = _stored(deployed, lead_id)[0]
    with deployed() as uow:
        (instance,) = uow.instances.for_record(lead_id)
        row = uow.records.get(lead_id)
        assert row is not None
        row.data = {**row.data, "title": "8 desks, changed"}
        uow.timers.add(TimerRow(instance_id=instance.id, task_id="t-1", element_id="e", due_at=NOW))
        with session_updates(deployed) as seen:
            uow.commit()
    assert "record" not in seen  # the flush kept the order of what was staged
    stored_revision, data, _ = _stored(deployed, lead_id)
    assert (stored_revision, data["title"]) == (revision + 1, "8 desks, changed")
