"""Logging on a card in one step (an entity's `timeline.log` form): store a record of that entity referencing the
card, and the follow-up task it ends with, assigned to the user and due on the date they gave."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from engine.config.model import Bundle, Entity, LogForm, label_text
from engine.errors import NotFound, ValidationError
from engine.processes.deployed import active_bundle
from engine.records.schema import validate_record
from engine.rules.actions import add_standalone_task
from engine.services.access import require_permission
from engine.services.records import entity_of, insert_record, load_writable, record_view
from engine.services.views import Actor, RecordView
from engine.store.uow import UnitOfWork

SOURCE = "log"  # the history source of logged records, and the spec name prefix of their follow-up tasks


@dataclass(frozen=True)
class LoggedEntry:
    """What one log stored: the new record and its follow-up task."""

    record: RecordView
    task_id: str
    task_title: str
    task_due_at: datetime


def log_forms(bundle: Bundle, entity_name: str) -> list[tuple[Entity, LogForm, str]]:
    """(entity, its log form, the reference field pointing at `entity_name`) for every log form a card of that
    entity offers."""
    found = []
    for entity in bundle.entities.values():
        log = entity.timeline.log if entity.timeline is not None else None
        field = next((f.name for f in entity.fields.values() if f.type == "reference" and f.entity == entity_name),
                     None)
        if log is not None and field is not None:
            found.append((entity, log, field))
    return found


def log_fields(log: LogForm) -> tuple[str, ...]:
    """The fields a log form asks, in order: its own, then the next task's title and due date (all required)."""
    return (*log.fields, log.task_title, log.task_due)


def _due_at(bundle: Bundle, value: Any) -> datetime:
    """A due date as a moment: the start of the working day where the bundle has working hours, else 00:00 UTC."""
    text = str(value)
    if "T" in text:  # a datetime field: the moment itself
        moment = datetime.fromisoformat(text)
        return moment.astimezone(UTC) if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    day = date.fromisoformat(text[:10])
    hours = bundle.settings.working_hours
    if hours is None:
        return datetime.combine(day, time(0), UTC)
    start = time(hours.start_minute // 60, hours.start_minute % 60)
    return datetime.combine(day, start, ZoneInfo(hours.timezone)).astimezone(UTC)


def log_on_record(uow: UnitOfWork, actor: Actor, record_id: int, entity_name: str, values: dict[str, Any],
                  now: datetime, locale: str) -> LoggedEntry:
    """Store a record of `entity_name` about the record (its log form's preset values and the asked fields) and
    a task for the actor named by the next-task fields, due on their date. Every asked field is required;
    a field the form does not ask is refused, not dropped. Nothing is stored unless all of it is."""
    require_permission(actor, "record.write", action="log on records")
    bundle, _ = active_bundle(uow)
    entity = entity_of(bundle, entity_name)
    if actor.id is None:
        raise ValidationError({"": [f"{actor.username} is not a user account: the next task needs a person"]})
    with uow:
        card = load_writable(uow, actor, record_id)
        offered = {e.name: (log, field) for e, log, field in log_forms(bundle, card.entity)}
        if entity.name not in offered:
            raise NotFound(f"{entity.name} has no log form on {card.entity} records")
        log, field = offered[entity.name]
        asked = log_fields(log)
        errors = {name: [f"is not asked by the {entity.name} log form (it asks {', '.join(asked)})"]
                  for name in values if name not in asked}
        errors |= {name: ["is required"] for name in asked if values.get(name) in (None, "", [])}
        if errors:
            raise ValidationError(errors)
        data: dict[str, Any] = {**log.preset, **{n: values[n] for n in asked}, field: record_id}
        timeline = entity.timeline
        if timeline is not None and timeline.at and timeline.at not in asked:
            data[timeline.at] = now.isoformat() if entity.fields[timeline.at].type == "datetime" \
                else now.date().isoformat()
        if entity.title_field not in asked and entity.title_field not in log.preset:
            limit = entity.fields[entity.title_field].max_length or 300
            data[entity.title_field] = f"{label_text(log.title, locale)}: {card.title}"[:limit]
        clean = validate_record(entity, bundle, data)
        due_at = _due_at(bundle, clean[log.task_due])
        if due_at.date() < now.date():
            raise ValidationError({log.task_due: ["must be today or later: the next step is still to come"]})
        row = insert_record(uow, actor, entity, clean, now, source=SOURCE, creator_owns=True)
        title = str(clean[log.task_title])
        task = add_standalone_task(uow, record_id, f"{SOURCE} {entity.name}", title, actor.id, [], due_at, now)
        uow.commit()
        return LoggedEntry(record_view(uow, row), task.id, task.title, due_at)
