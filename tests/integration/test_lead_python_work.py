"""Python work a lead's service calls repeat, counted (not timed): rows the unit of work already holds are not looked
up through `Session.get`, what depends only on the mapping or the deployment is worked out once, not per call."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy.orm import Mapper, Session

from engine.config.model import Bundle
from engine.services import records, tasks
from engine.store.uow import UnitOfWork
from tests.conftest import NOW

MakeUow = Callable[[], UnitOfWork]


@contextmanager
def calls_of(monkeypatch: pytest.MonkeyPatch, owner: type[Any], name: str) -> Iterator[list[object]]:
    """Every call of `owner.name` inside the block."""
    seen: list[object] = []
    original = getattr(owner, name)

    def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(args)
        return original(self, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(owner, name, counted)
        yield seen


def _pooled_task(deployed: MakeUow, actor: Any, lead_id: int, element: str, scope: str = "pool") -> str:
    return next(
        t.id for t in tasks.list_tasks(deployed(), actor, scope) if t.record_id == lead_id and t.element_id == element
    )


def test_claiming_and_completing_a_lead_task_find_the_rows_they_hold_without_session_get(
    deployed: MakeUow, actors: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    sam, head = actors["sales"], actors["head"]
    lead_id = records.create_record(deployed(), head, "Lead", {"title": "30 chairs"}, NOW).id
    task_id = _pooled_task(deployed, sam, lead_id, "qualify_lead")
    with calls_of(monkeypatch, Session, "get") as gets:
        tasks.claim_task(deployed(), sam, task_id, NOW)
        view = tasks.complete_task(deployed(), sam, task_id, {"outcome": "convert", "budget": "900"}, NOW)
    assert view.state == "completed"
    # the task, its instance, record, version and users are read with the task's context and then held: every
    # later `get` of them (eleven before) is answered from the identity map
    assert gets == []
    next_id = _pooled_task(deployed, sam, lead_id, "arrange_meeting", "mine")
    with deployed() as uow:  # and what they wrote is what a fresh read sees
        record = uow.records.get(lead_id)
        assert record is not None
        assert record.data["status"] == "qualified"
        assert record.owner_id == sam.id
        assert uow.tasks.get(next_id) is not None


def test_a_routed_task_finds_its_decision_file_once_per_deployed_configuration(
    deployed: MakeUow, actors: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    head, sam = actors["head"], actors["sales"]
    records.create_record(deployed(), head, "Lead", {"title": "first routed lead"}, NOW)
    with calls_of(monkeypatch, Bundle, "dmn_files") as scans:
        lead_id = records.create_record(deployed(), head, "Lead", {"title": "second routed lead"}, NOW).id
    assert scans == []  # the routing table's file was found for the first lead (every DMN file scanned then)
    assert _pooled_task(deployed, sam, lead_id, "qualify_lead")  # routed as before: to the sales pool


def test_a_new_record_and_instance_are_inserted_without_asking_the_mapper_per_column(
    deployed: MakeUow, actors: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    head = actors["head"]
    records.create_record(deployed(), head, "Lead", {"title": "first lead"}, NOW)
    with calls_of(monkeypatch, Mapper, "get_property_by_column") as asked:
        lead = records.create_record(deployed(), head, "Lead", {"title": "second lead"}, NOW)
    assert asked == []  # twenty before: every column of the record and instance tables, for each new row
    with deployed() as uow:
        record = uow.records.get(lead.id)
        (instance,) = uow.instances.for_record(lead.id)
        assert record is not None
        assert record.revision == 1
        assert record.data["title"] == "second lead"
        assert instance.revision == 1
        assert instance.status == "running"


def test_an_inbox_page_reads_its_tasks_as_plain_rows_without_the_session(
    deployed: MakeUow, actors: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    sam, head = actors["sales"], actors["head"]
    lead_id = records.create_record(deployed(), head, "Lead", {"title": "40 chairs"}, NOW).id
    uow = deployed()
    with calls_of(monkeypatch, Session, "execute") as executed:
        pool = tasks.list_tasks(uow, sam, "pool")
        page = tasks.inbox_page(deployed(), sam, "pool", NOW)
    # the page and its counts in one statement on the connection: no ORM compile, no rows for the session to hold
    # (one `Session.execute` per page before, which loaded the page's task rows into the unit of work)
    assert executed == []
    task = next(t for t in pool if t.record_id == lead_id)
    assert (task.record_title, task.element_id, task.state, task.assignee) == (
        "40 chairs",
        "qualify_lead",
        "open",
        None,
    )
    assert task.candidate_groups
    assert task.created_at.tzinfo is not None
    assert task.id in {t.id for t in page.tasks}
    assert page.counts["pool"] >= 1
    with deployed() as fresh:
        row = fresh.tasks.get(task.id)
        assert row is not None
        assert (row.title, row.candidate_groups, row.due_at) == (
            task.title,
            ",".join(task.candidate_groups),
            task.due_at,
        )


def test_an_inbox_page_sees_rows_its_unit_staged_and_did_not_send(deployed: MakeUow, actors: dict) -> None:
    sam, head = actors["sales"], actors["head"]
    lead_id = records.create_record(deployed(), head, "Lead", {"title": "50 chairs"}, NOW).id
    edge = deployed().open_edge()
    try:
        with edge:
            task_id = next(t.id for t in tasks.list_tasks(edge, sam, "pool") if t.record_id == lead_id)
            row = edge.tasks.get(task_id)
            assert row is not None
            row.title = "Qualify the 50 chairs"  # staged, not flushed: the page flushes it first, as a query would
            retitled = next(t for t in tasks.list_tasks(edge, sam, "pool") if t.id == task_id)
        assert retitled.title == "Qualify the 50 chairs"
    finally:
        edge.close_edge()
