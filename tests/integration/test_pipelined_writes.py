"""PostgreSQL: the prebuilt writes of a step nobody waits on are held and sent in one pipeline behind the next
statement whose answer is read, or before the commit (engine/store/pipeline.py). Fewer round trips; the same rows,
the same errors (a lost revision race is one ConflictError, a broken key fails the unit), nothing of a failed or
rolled-back unit stored. On SQLite every write is sent at once, as before."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import pytest
from sqlalchemy import Table, func, select
from sqlalchemy.exc import IntegrityError

from engine.errors import ConflictError
from engine.services import records, tasks
from engine.store.models import InstanceEventRow, InstanceRow
from engine.store.uow import UnitOfWork
from tests.conftest import NOW
from tests.round_trips import round_trips

MakeUow = Callable[[], UnitOfWork]
EVENTS = cast(Table, InstanceEventRow.__table__)
QUALIFY = {"outcome": "convert", "budget": "700"}


def _postgres_only(db_url: str) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("round trips and pipelines are PostgreSQL's")


def _lead(deployed: MakeUow, actors: dict, title: str) -> tuple[int, str, int]:
    lead_id = records.create_record(deployed(), actors["head"], "Lead", {"title": title}, NOW).id
    task_id = next(t.id for t in tasks.list_tasks(deployed(), actors["sales"], "pool") if t.record_id == lead_id)
    with deployed() as uow:
        (instance,) = uow.instances.for_record(lead_id)
    return lead_id, task_id, instance.id


def _note(instance_id: int) -> dict[str, object]:
    return {"instance_id": instance_id, "at": NOW, "actor": "sam", "kind": "note", "task_id": None,
            "element_id": None, "element_name": None}


def _event_count(deployed: MakeUow, instance_id: int) -> int:
    with deployed() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(EVENTS)
                                      .where(EVENTS.c.instance_id == instance_id)) or 0)


def test_a_completion_waits_for_the_server_three_times(deployed: MakeUow, actors: dict, db_url: str) -> None:
    # BEGIN, the task's context, its eight writes and the COMMIT together (ten round trips when each waited)
    _postgres_only(db_url)
    sam = actors["sales"]
    _, task_id, _ = _lead(deployed, actors, "21 chairs")
    tasks.claim_task(deployed(), sam, task_id, NOW)
    with round_trips(deployed.engine) as waited:  # type: ignore[attr-defined]  # the fixture is a UowFactory
        tasks.complete_task(deployed(), sam, task_id, QUALIFY, NOW)
    assert waited[0] <= 3


def test_a_lead_created_claimed_and_completed_waits_for_the_server_at_most_16_times(
    deployed: MakeUow, actors: dict, db_url: str
) -> None:
    # creating the lead, the pool lookup, the instance read, the claim and the completion: 16 round trips measured
    # (33 when each statement waited for its answer); a record's and an instance's INSERT … RETURNING and the
    # claim's UPDATE are still waited on, each with the writes held before it
    _postgres_only(db_url)
    sam = actors["sales"]
    _lead(deployed, actors, "22 tables")  # the pool's connection made and its statements prepared beforehand
    with round_trips(deployed.engine) as waited:  # type: ignore[attr-defined]
        _, task_id, _ = _lead(deployed, actors, "22 chairs")
        tasks.claim_task(deployed(), sam, task_id, NOW)
        tasks.complete_task(deployed(), sam, task_id, QUALIFY, NOW)
    assert waited[0] <= 16


def test_two_units_racing_on_one_instance_give_one_conflict_and_the_loser_stores_nothing(
    deployed: MakeUow, actors: dict
) -> None:
    _, _, instance_id = _lead(deployed, actors, "23 chairs")
    events_before = _event_count(deployed, instance_id)
    first, second = deployed(), deployed()
    outcomes: list[str] = []
    with first, second:
        rows = [uow.instances.get(instance_id) for uow in (first, second)]
        for uow, row, state in ((first, rows[0], "{}"), (second, rows[1], "{\"x\": 1}")):  # both read, then write
            assert row is not None
            try:
                with uow:  # the step's block: a lost race leaves it as ConflictError (on SQLite at the save itself)
                    uow.history.add_many([_note(instance_id)])
                    uow.instances.save_state(row, {"state_json": state, "serializer_version": row.serializer_version,
                                                   "status": "running", "ended_at": None})
                    uow.commit()
                outcomes.append("committed")
            except ConflictError:
                outcomes.append("conflict")
    assert outcomes == ["committed", "conflict"]
    with second:  # the loser's connection is usable again: its failed transaction was rolled back
        assert second.session.scalar(select(func.count()).select_from(InstanceRow)) >= 1
    with deployed() as uow:
        stored = uow.session.execute(select(InstanceRow.state_json, InstanceRow.revision)
                                     .where(InstanceRow.id == instance_id)).one()
    assert stored.state_json == "{}"
    assert stored.revision == rows[0].revision  # one save stored (the row object took the new revision)
    assert _event_count(deployed, instance_id) == events_before + 1  # the loser's event was not stored


def test_a_held_write_that_breaks_a_key_fails_the_unit_and_nothing_of_it_is_stored(
    deployed: MakeUow, actors: dict
) -> None:
    _, _, instance_id = _lead(deployed, actors, "24 chairs")
    events_before = _event_count(deployed, instance_id)
    with pytest.raises((ConflictError, IntegrityError)), deployed() as uow:  # noqa: PT012 - the unit is the block
        uow.history.add_many([_note(instance_id)])
        uow.history.add_many([_note(-5)])  # no such instance: the foreign key refuses the row
        uow.commit()
    assert _event_count(deployed, instance_id) == events_before


def test_a_read_after_held_writes_sees_them(deployed: MakeUow, actors: dict) -> None:
    _, _, instance_id = _lead(deployed, actors, "25 chairs")
    events_before = _event_count(deployed, instance_id)
    with deployed() as uow:
        uow.history.add_many([_note(instance_id)])
        seen = uow.session.scalar(select(func.count()).select_from(EVENTS).where(EVENTS.c.instance_id == instance_id))
    assert seen == events_before + 1
    assert _event_count(deployed, instance_id) == events_before  # not committed: rolled back


def test_writes_held_in_a_savepoint_that_rolls_back_are_dropped_and_those_before_it_kept(
    deployed: MakeUow, actors: dict
) -> None:
    _, _, instance_id = _lead(deployed, actors, "26 chairs")
    events_before = _event_count(deployed, instance_id)
    note = _note(instance_id)
    with deployed() as uow:
        uow.history.add_many([note])

        def fail_in_savepoint() -> None:
            with uow.savepoint():
                uow.history.add_many([note, note])
                raise RuntimeError("the job item failed")

        with pytest.raises(RuntimeError):
            fail_in_savepoint()
        uow.commit()
    assert _event_count(deployed, instance_id) == events_before + 1
