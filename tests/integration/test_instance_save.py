"""An instance's state is saved by one prebuilt UPDATE checked by its revision (engine/store/work_repos.py
`InstanceRepository.save_state`), not by an ORM flush: the optimistic lock must hold as it did."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import pytest
from sqlalchemy import Table, select, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from engine.errors import ConflictError
from engine.services import records, tasks
from engine.store.models import InstanceRow
from engine.store.uow import UnitOfWork
from tests.conftest import NOW
from tests.integration.test_step_statements import statements
from tests.statements import as_sent

MakeUow = Callable[[], UnitOfWork]
INSTANCES = cast(Table, InstanceRow.__table__)


def _lead_instance(make_uow: MakeUow, head: Any, title: str) -> tuple[int, int]:
    lead_id = records.create_record(make_uow(), head, "Lead", {"title": title}, NOW).id
    with make_uow() as uow:
        return lead_id, uow.instances.for_record(lead_id)[0].id


def test_saving_over_a_revision_saved_elsewhere_is_a_conflict_and_writes_nothing(
    deployed: MakeUow, actors: dict
) -> None:
    _, instance_id = _lead_instance(deployed, actors["head"], "7 routers")
    with deployed() as uow:
        row = uow.instances.get(instance_id)
        assert row is not None
        read_revision = row.revision
    # another writer saved the instance after this unit read it (committed first)
    with deployed.engine.begin() as other:  # type: ignore[attr-defined]  # the fixture is a UowFactory
        other.execute(update(INSTANCES).where(INSTANCES.c.id == instance_id).values(revision=read_revision + 1))

    def save_as_read() -> None:
        with deployed() as uow:
            stale = uow.instances.get(instance_id)
            assert stale is not None
            set_committed_value(stale, "revision", read_revision)  # as this unit read it, before the other write
            values = {"state_json": "{}", "serializer_version": stale.serializer_version, "status": "completed"}
            uow.instances.save_state(stale, {**values, "ended_at": NOW})
            uow.commit()  # on PostgreSQL the UPDATE is held until then (engine.store.pipeline), and checked before it

    with pytest.raises(ConflictError, match="someone else"):
        save_as_read()
    with deployed() as uow:
        stored = uow.session.execute(
            select(INSTANCES.c.revision, INSTANCES.c.status).where(INSTANCES.c.id == instance_id)
        ).one()
    assert tuple(stored) == (read_revision + 1, "running")


def test_a_step_that_loses_the_race_for_its_instance_raises_what_the_worker_retries(
    deployed: MakeUow, actors: dict
) -> None:
    _, instance_id = _lead_instance(deployed, actors["head"], "11 webcams")
    with deployed() as uow:
        row = uow.instances.get(instance_id)
        assert row is not None
        set_committed_value(row, "revision", row.revision - 1)  # a revision someone else has saved over since
        with pytest.raises((StaleDataError, ConflictError)) as raised:  # noqa: PT012 - the save, then its commit
            uow.instances.save_state(
                row,
                {
                    "state_json": "{}",
                    "serializer_version": row.serializer_version,
                    "status": "running",
                    "ended_at": None,
                },
            )
            uow.commit()  # on PostgreSQL the stale revision is found when the held UPDATE is sent, before the COMMIT
        assert UnitOfWork.lost_race(raised.value)


def test_a_step_saves_its_instance_once_and_leaves_nothing_for_the_flush(deployed: MakeUow, actors: dict) -> None:
    sam, head = actors["sales"], actors["head"]
    lead_id, instance_id = _lead_instance(deployed, head, "9 scanners")
    task_id = next(t.id for t in tasks.list_tasks(deployed(), sam, "pool") if t.record_id == lead_id)
    with deployed() as uow:
        before = uow.instances.get(instance_id)
        assert before is not None
        revision, state = before.revision, before.state_json
    with statements(deployed) as seen:
        tasks.complete_task(deployed(), sam, task_id, {"outcome": "convert", "budget": "700"}, NOW)
    saves = [s for s in seen if as_sent(s).startswith("UPDATE process_instance")]
    assert len(saves) == 1, seen
    with deployed() as uow:
        after = uow.instances.get(instance_id)
        assert after is not None
        assert after.revision == revision + 1
        assert after.status == "running"
        assert after.state_json != state


def test_a_save_in_a_savepoint_that_rolls_back_leaves_the_row_as_stored(deployed: MakeUow, actors: dict) -> None:
    _, instance_id = _lead_instance(deployed, actors["head"], "13 keyboards")
    with deployed() as uow:
        row = uow.instances.get(instance_id)
        assert row is not None
        revision, state = row.revision, row.state_json

        def save_then_fail() -> None:
            with uow.savepoint():  # a job item whose step saved the instance, then failed
                values = {"state_json": "{}", "serializer_version": row.serializer_version, "status": "running"}
                uow.instances.save_state(row, {**values, "ended_at": None})
                raise RuntimeError("the item failed after the save")

        with pytest.raises(RuntimeError, match="after the save"):
            save_then_fail()
        # the row object says what the database holds, as after an ORM flush rolled back with the savepoint: the
        # next item of the same unit of work saves over the right revision
        assert (row.revision, row.state_json) == (revision, state)
        uow.instances.save_state(
            row,
            {"state_json": state, "serializer_version": row.serializer_version, "status": "running", "ended_at": None},
        )
        assert row.revision == revision + 1
