"""Standalone tasks: made by a rule's create_task action, outside any process, and worked like any other task."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from engine.config.automation import Action
from engine.errors import ConflictError
from engine.rules.actions import run_actions
from engine.services import records, tasks
from engine.services.views import Actor
from engine.store.models import InstanceEventRow, TaskRow
from engine.store.uow import UnitOfWork
from tests.conftest import NOW

MakeUow = Callable[[], UnitOfWork]


def rule_task(make_uow: MakeUow, actor: Actor, record_id: int, **spec: Any) -> str:
    """Run a create_task action on a record, as a rule would, and return the new task's id."""
    uow = make_uow()
    with uow:
        record = uow.records.get(record_id)
        assert record is not None
        run_actions(uow, record, [Action("create_task", {"title": "Call the client back", **spec})], names=None,
                    source="rule test_robot", actor=actor, now=NOW, depth=0)
        uow.commit()
        (row,) = [t for t in uow.tasks.for_record(record_id) if t.instance_id is None and t.state == "open"]
        return row.id


def new_contact(make_uow: MakeUow, actor: Actor) -> int:
    data = {"full_name": "Ivan Petrov", "email": "ivan@example.com"}  # reachable: no data-quality robot task
    return records.create_record(make_uow(), actor, "Contact", data, NOW, owner_id=actor.id).id


def events(make_uow: MakeUow) -> list[InstanceEventRow]:
    with make_uow() as uow:
        return list(uow.session.query(InstanceEventRow).all())


def test_a_task_for_the_owner_is_in_their_inbox_and_reads_without_a_process(deployed: MakeUow,
                                                                          actors: dict) -> None:
    sam = actors["sales"]
    contact_id = new_contact(deployed, sam)
    task_id = rule_task(deployed, sam, contact_id, assignee="owner", due="P1D")
    (mine,) = tasks.list_tasks(deployed(), sam, "mine")
    assert (mine.id, mine.instance_id, mine.record_id, mine.due_at) == (task_id, None, contact_id,
                                                                        NOW + timedelta(days=1))
    detail = tasks.get_task(deployed(), sam, task_id)
    assert (detail.process_name, detail.form_schema, detail.can_complete) == ("—", None, True)
    assert [t.id for t in tasks.record_tasks(deployed(), sam, contact_id)] == [task_id]


def test_completing_it_needs_no_workflow(deployed: MakeUow, actors: dict) -> None:
    sam = actors["sales"]
    contact_id = new_contact(deployed, sam)
    task_id = rule_task(deployed, sam, contact_id, assignee="owner")
    done = tasks.complete_task(deployed(), sam, task_id, {}, NOW)
    assert (done.state, done.completed_by, done.completed_at) == ("completed", "sam", NOW)
    assert tasks.list_tasks(deployed(), sam, "mine") == []
    with pytest.raises(ConflictError):
        tasks.complete_task(deployed(), sam, task_id, {}, NOW)
    assert events(deployed) == []  # no instance, no instance history


def test_a_pooled_one_is_claimed_given_back_and_completed_by_a_candidate(deployed: MakeUow, actors: dict) -> None:
    sam, sue, head = actors["sales"], actors["sales2"], actors["head"]
    contact_id = new_contact(deployed, head)
    task_id = rule_task(deployed, head, contact_id, candidate_groups=["sales"])
    assert [t.id for t in tasks.list_tasks(deployed(), sue, "pool")] == [task_id]
    assert tasks.claim_task(deployed(), sam, task_id, NOW).assignee == "sam"
    assert tasks.list_tasks(deployed(), sue, "pool") == []
    with pytest.raises(ConflictError):
        tasks.claim_task(deployed(), sue, task_id, NOW)
    assert tasks.unclaim_task(deployed(), sam, task_id, NOW).assignee is None
    done = tasks.complete_task(deployed(), sue, task_id, {}, NOW)  # completing an unclaimed task takes it
    assert (done.assignee, done.completed_by) == ("sue", "sue")
    assert records.get_record(deployed(), head, contact_id).owner == "hank"  # the owner stays


def test_its_form_fields_are_written_to_the_record(deployed: MakeUow, actors: dict) -> None:
    sam = actors["sales"]
    lead_id = records.create_record(deployed(), sam, "Lead", {"title": "Visit"}, NOW, owner_id=sam.id).id
    task_id = str(uuid.uuid4())
    uow = deployed()
    with uow:  # a standalone task with a form, as a future action may make one
        uow.tasks.add(TaskRow(id=task_id, instance_id=None, record_id=lead_id, spec_name="rule visit",
                              title="Arrange a visit", form_key="arrange_meeting", lane=None, candidate_groups="",
                              candidate_users="", assignee_id=sam.id, state="open", due_at=None, created_at=NOW))
        uow.commit()
    detail = tasks.get_task(deployed(), sam, task_id)
    assert detail.form_schema is not None
    assert "next_contact_on" in detail.form_schema["properties"]
    tasks.complete_task(deployed(), sam, task_id, {"next_contact_on": "2026-03-10"}, NOW)
    assert records.get_record(deployed(), sam, lead_id).data["next_contact_on"] == "2026-03-10"
    (change,) = [c for c in records.record_history(deployed(), sam, lead_id) if c.field == "next_contact_on"]
    assert (change.actor, change.source) == ("sam", "task Arrange a visit")
