"""Field history buffered for one INSERT (engine/store/history_buffer.py, `UnitOfWork.one_history_insert`): what a
block writes is stored exactly as before, reads inside the block see it, and a savepoint that rolls back drops
what it buffered (and only that)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from engine.services import records
from engine.store.uow import UnitOfWork
from tests.conftest import NOW
from tests.integration.test_step_statements import statements

MakeUow = Callable[[], UnitOfWork]


def _change(record_id: int, field: str, new: str) -> dict[str, Any]:
    return {"record_id": record_id, "at": NOW, "actor": "tester", "source": "test", "field": field,
            "old_value": None, "new_value": new}


def _history(make_uow: MakeUow, record_id: int) -> list[tuple[str, Any]]:
    with make_uow() as uow:
        return [(c.field, c.new_value) for c in uow.records.changes(record_id) if c.source == "test"]


def _lead(make_uow: MakeUow, actors: dict, title: str) -> int:
    return records.create_record(make_uow(), actors["head"], "Lead", {"title": title}, NOW).id


def test_history_written_in_a_block_goes_in_one_insert_in_order(deployed: MakeUow, actors: dict) -> None:
    lead_id = _lead(deployed, actors, "4 tablets")
    uow = deployed()
    with uow, statements(deployed) as seen:
        with uow.one_history_insert():
            uow.records.add_changes([_change(lead_id, "a", "1")])
            uow.tasks.set_pooled("no-such-task", False)  # a write of another table: the rows may wait
            uow.records.add_changes([_change(lead_id, "b", "2"), _change(lead_id, "c", "3")])
        uow.commit()
    assert len([s for s in seen if s.startswith("INSERT INTO field_change")]) == 1, seen
    assert _history(deployed, lead_id) == [("a", "1"), ("b", "2"), ("c", "3")]


def test_a_read_in_the_block_sees_the_history_buffered_before_it(deployed: MakeUow, actors: dict) -> None:
    lead_id = _lead(deployed, actors, "6 chairs")
    uow = deployed()
    with uow, uow.one_history_insert():
        uow.records.add_changes([_change(lead_id, "a", "1")])
        assert [(c.field, c.new_value) for c in uow.records.changes(lead_id) if c.source == "test"] == [("a", "1")]


def test_a_savepoint_that_rolls_back_drops_what_it_buffered_and_keeps_what_came_before(
    deployed: MakeUow, actors: dict
) -> None:
    lead_id = _lead(deployed, actors, "9 lamps")
    uow = deployed()
    with uow:
        with uow.one_history_insert():
            uow.records.add_changes([_change(lead_id, "before", "kept")])

            def fail_in_savepoint() -> None:
                with uow.savepoint():  # a job item that wrote history, then failed
                    uow.records.add_changes([_change(lead_id, "inside", "dropped")])
                    raise RuntimeError("the item failed")

            with pytest.raises(RuntimeError, match="item failed"):
                fail_in_savepoint()
            with uow.savepoint():  # the next item succeeds
                uow.records.add_changes([_change(lead_id, "next", "kept")])
            uow.records.add_changes([_change(lead_id, "after", "kept")])
        uow.commit()
    assert _history(deployed, lead_id) == [("before", "kept"), ("next", "kept"), ("after", "kept")]


def test_the_history_of_a_block_that_fails_goes_with_its_transaction(deployed: MakeUow, actors: dict) -> None:
    lead_id = _lead(deployed, actors, "2 sofas")
    uow = deployed()

    def fail() -> None:
        with uow, uow.one_history_insert():
            uow.records.add_changes([_change(lead_id, "a", "1")])
            raise RuntimeError("the step failed")

    with pytest.raises(RuntimeError, match="step failed"):
        fail()
    assert _history(deployed, lead_id) == []  # rolled back with the unit of work
    with uow:
        try:
            with uow.one_history_insert():
                uow.records.add_changes([_change(lead_id, "b", "2")])
                raise LookupError("an error the caller handles")
        except LookupError:
            pass
        uow.commit()  # the caller commits what the block wrote: its history with it, as unbuffered
    assert _history(deployed, lead_id) == [("b", "2")]
