"""Reminders: any user sets one on a record they can see; when due, the worker makes it a task for that user."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

import pytest

from engine.errors import ConflictError, NotFound, ValidationError
from engine.services import records, tasks
from engine.services.reminders import cancel_reminder, fire_due_reminders, list_reminders, set_reminder
from engine.services.views import Actor
from engine.store.models import ReminderRow, TaskRow
from engine.store.uow import UnitOfWork
from tests.conftest import NOW

MakeUow = Callable[[], UnitOfWork]
LATER = NOW + timedelta(days=2)


def new_contact(make_uow: MakeUow, actor: Actor) -> int:
    data = {"full_name": "Ivan Petrov", "email": "ivan@example.com"}
    return records.create_record(make_uow(), actor, "Contact", data, NOW, owner_id=actor.id).id


def reminder_tasks(make_uow: MakeUow) -> list[str]:
    """Titles of the tasks reminders became."""
    with make_uow() as uow:
        return [t.title for t in uow.session.query(TaskRow).filter(TaskRow.spec_name == "reminder").all()]


def test_a_due_reminder_becomes_a_task_for_its_user_once(deployed: MakeUow, actors: dict) -> None:
    sam = actors["sales"]
    contact_id = new_contact(deployed, sam)
    reminder = set_reminder(deployed(), sam, contact_id, LATER, "Ask about the second office", NOW)
    assert reminder.record_title
    assert [r.id for r in list_reminders(deployed(), sam, contact_id)] == [reminder.id]
    assert [r.id for r in list_reminders(deployed(), sam, None)] == [reminder.id]

    assert fire_due_reminders(deployed, LATER - timedelta(seconds=1)) == 0
    assert fire_due_reminders(deployed, LATER) == 1
    assert fire_due_reminders(deployed, LATER) == 0  # fired once, never twice

    [task] = tasks.list_tasks(deployed(), sam, "mine")
    assert (task.title, task.record_id, task.instance_id, task.due_at) == (
        "Reminder: Ask about the second office", contact_id, None, LATER)
    assert list_reminders(deployed(), sam, contact_id) == []  # only pending ones are listed
    with deployed() as uow:
        row = uow.reminders.get(reminder.id)
        assert row is not None
        assert (row.fired_at, row.task_id) == (LATER, task.id)
    tasks.complete_task(deployed(), sam, task.id, {}, LATER)
    assert tasks.list_tasks(deployed(), sam, "mine") == []


def test_reminders_are_personal(deployed: MakeUow, actors: dict) -> None:
    sam, head = actors["sales"], actors["head"]
    contact_id = new_contact(deployed, sam)
    mine = set_reminder(deployed(), sam, contact_id, LATER, "mine", NOW)
    set_reminder(deployed(), head, contact_id, LATER, "", NOW)  # the head of sales sees the team's records
    assert [r.note for r in list_reminders(deployed(), sam, contact_id)] == ["mine"]
    with pytest.raises(NotFound):
        cancel_reminder(deployed(), head, mine.id)

    assert fire_due_reminders(deployed, LATER) == 2
    assert [t.title for t in tasks.list_tasks(deployed(), head, "mine")] == ["Reminder"]
    assert [t.title for t in tasks.list_tasks(deployed(), sam, "mine")] == ["Reminder: mine"]


def test_no_reminder_on_a_record_one_cannot_see(deployed: MakeUow, actors: dict) -> None:
    contact_id = new_contact(deployed, actors["sales"])
    with pytest.raises(NotFound):
        set_reminder(deployed(), actors["sales2"], contact_id, LATER, "peek", NOW)
    with pytest.raises(NotFound):
        list_reminders(deployed(), actors["sales2"], contact_id)
    with pytest.raises(NotFound):
        set_reminder(deployed(), actors["sales"], 999_999, LATER, "nothing", NOW)


def test_a_reminder_needs_a_future_time_and_a_short_note(deployed: MakeUow, actors: dict) -> None:
    sam = actors["sales"]
    contact_id = new_contact(deployed, sam)
    with pytest.raises(ValidationError) as err:
        set_reminder(deployed(), sam, contact_id, NOW - timedelta(minutes=1), "x" * 1001, NOW)
    assert set(err.value.errors) == {"due_at", "note"}
    with pytest.raises(ValidationError):
        set_reminder(deployed(), sam, contact_id, LATER.replace(tzinfo=None), "", NOW)


def test_cancelled_reminders_never_fire_and_fired_ones_cannot_be_cancelled(deployed: MakeUow, actors: dict) -> None:
    sam = actors["sales"]
    contact_id = new_contact(deployed, sam)
    gone = set_reminder(deployed(), sam, contact_id, LATER, "gone", NOW)
    kept = set_reminder(deployed(), sam, contact_id, LATER, "kept", NOW)
    cancel_reminder(deployed(), sam, gone.id)
    with pytest.raises(NotFound):
        cancel_reminder(deployed(), sam, gone.id)
    assert fire_due_reminders(deployed, LATER) == 1
    with pytest.raises(ConflictError):
        cancel_reminder(deployed(), sam, kept.id)
    assert reminder_tasks(deployed) == ["Reminder: kept"]


def test_reminders_due_while_no_worker_ran_all_fire_in_due_order(deployed: MakeUow, actors: dict) -> None:
    sam = actors["sales"]
    contact_id = new_contact(deployed, sam)
    for hours in (3, 1, 2):
        set_reminder(deployed(), sam, contact_id, NOW + timedelta(hours=hours), f"{hours}h", NOW)
    assert fire_due_reminders(deployed, NOW + timedelta(days=30), limit=2) == 2
    assert sorted(reminder_tasks(deployed)) == ["Reminder: 1h", "Reminder: 2h"]
    assert fire_due_reminders(deployed, NOW + timedelta(days=30)) == 1


def test_concurrent_workers_fire_each_reminder_exactly_once(deployed: MakeUow, actors: dict) -> None:
    sam = actors["sales"]
    contact_id = new_contact(deployed, sam)
    with deployed() as uow:
        for n in range(20):
            uow.reminders.add(ReminderRow(record_id=contact_id, user_id=sam.id, due_at=NOW, note=f"r{n}",
                                          created_at=NOW))
        uow.commit()
    counts: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            counts.append(fire_due_reminders(deployed, LATER))
        except ConflictError:  # SQLite serializes writers: a busy database is retried on the next tick
            counts.append(0)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    counts.append(fire_due_reminders(deployed, LATER))  # whatever a busy SQLite left over
    assert sum(counts) <= 20  # a worker stopped by a busy SQLite may have fired some before it stopped
    titles = reminder_tasks(deployed)
    assert sorted(titles) == sorted(f"Reminder: r{n}" for n in range(20))  # no duplicates, none lost
