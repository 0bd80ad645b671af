"""Reminders a user sets on a record they can see; when due, the worker turns each into a task for that user."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from engine.errors import ConflictError, NotFound, ValidationError
from engine.messages import ENGLISH, LOCALES, render
from engine.rules.actions import add_standalone_task
from engine.services.access import require_permission
from engine.services.jobs import Concerns, RowJob, run_due
from engine.services.records import load_visible, load_writable
from engine.services.views import Actor
from engine.store.models import ReminderRow
from engine.store.uow import UnitOfWork

NOTE_LENGTH = 1000
SOURCE = "reminder"  # spec_name of the tasks reminders become


@dataclass(frozen=True)
class ReminderView:
    id: int
    record_id: int
    record_title: str | None
    due_at: datetime
    note: str
    created_at: datetime
    fired_at: datetime | None
    task_id: str | None


def _views(uow: UnitOfWork, rows: list[ReminderRow]) -> list[ReminderView]:
    titles = uow.records.titles({r.record_id for r in rows})
    return [ReminderView(r.id, r.record_id, titles.get(r.record_id), r.due_at, r.note, r.created_at, r.fired_at,
                         r.task_id) for r in rows]


def _user_id(actor: Actor) -> int:
    if actor.id is None:
        raise ValidationError({"user": [f"{actor.username} is not a user account: reminders belong to a person"]})
    return actor.id


def set_reminder(uow: UnitOfWork, actor: Actor, record_id: int, due_at: datetime, note: str,
                 now: datetime) -> ReminderView:
    """Remind the actor about a record they can see at `due_at` (aware, in the future)."""
    require_permission(actor, "reminder.write", action="set reminders")
    user_id = _user_id(actor)
    errors: dict[str, list[str]] = {}
    if due_at.tzinfo is None:
        errors["due_at"] = ["must carry a time zone"]
    elif due_at <= now:
        errors["due_at"] = ["must be in the future"]
    note = note.strip()
    if len(note) > NOTE_LENGTH:
        errors["note"] = [f"must be at most {NOTE_LENGTH} characters"]
    if errors:
        raise ValidationError(errors)
    with uow:
        load_writable(uow, actor, record_id)
        row = ReminderRow(record_id=record_id, user_id=user_id, due_at=due_at.astimezone(UTC), note=note,
                          created_at=now)
        uow.reminders.add(row)
        uow.reminders.flush()
        view = _views(uow, [row])[0]
        uow.commit()
        return view


def list_reminders(uow: UnitOfWork, actor: Actor, record_id: int | None) -> list[ReminderView]:
    """The actor's pending reminders, on one record they can see or on every record, soonest first."""
    if actor.id is None:
        return []
    with uow:
        if record_id is not None:
            load_visible(uow, actor, record_id)
        return _views(uow, uow.reminders.pending(actor.id, record_id))


def cancel_reminder(uow: UnitOfWork, actor: Actor, reminder_id: int) -> None:
    """Cancel one of the actor's own reminders before it fires (others' reminders read as not found)."""
    require_permission(actor, "reminder.write", action="cancel reminders")
    with uow:
        row = uow.reminders.get(reminder_id)
        if row is None or row.user_id != actor.id:
            raise NotFound(f"reminder {reminder_id} not found")
        if row.fired_at is not None:
            raise ConflictError(f"reminder {reminder_id} already fired: complete its task instead")
        uow.reminders.delete(row)
        uow.commit()


class ReminderJob(RowJob[ReminderRow]):
    """A due reminder: it becomes a task assigned to its user."""

    kind = "reminder"

    def repository(self, uow: UnitOfWork) -> Any:
        return uow.reminders

    def concerns(self, row: ReminderRow) -> Concerns:
        return Concerns(record_id=row.record_id)

    def run(self, uow: UnitOfWork, row: ReminderRow, now: datetime) -> bool:
        if not uow.reminders.claim(row.id, now):
            return False  # another worker fired it between our read and our write
        code, params = ("reminder.title_with_note", {"note": row.note}) if row.note else ("reminder.title", {})
        labels = {locale: render(code, params, locale)[:300] for locale in LOCALES}  # each reader's language
        task = add_standalone_task(uow, row.record_id, SOURCE, labels[ENGLISH], row.user_id, [], row.due_at, now,
                                   title_labels=labels)
        row.task_id = task.id
        return True


REMINDERS = ReminderJob()


def fire_due_reminders(uow_factory: Callable[[], UnitOfWork], now: datetime, *, limit: int = 500) -> int:
    """Turn reminders due by `now` into tasks assigned to their users, one transaction each; returns how many.

    Each row is locked with SKIP LOCKED (where the database has it) and claimed by a conditional update in the
    transaction that creates its task, so several workers never fire one reminder twice and a crash loses none;
    a reminder that fails is retried later and then parked as an incident (engine.services.jobs)."""
    return run_due(REMINDERS, uow_factory(), now, limit=limit).done
