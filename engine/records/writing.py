"""The record-writing core: validate targets, write fields, field history and reference links, and publish what
happened as domain events (engine.store.events). It calls no rule, duplicate check or process: their handlers
(engine.services.handlers) react to the events in the same transaction."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from engine.actors import Actor
from engine.config.model import Bundle, Entity
from engine.errors import MergedRecord, NotFound, ValidationError
from engine.store.events import FieldsChanged, RecordCreated
from engine.store.models import RecordRow
from engine.store.uow import UnitOfWork


def entity_of(bundle: Bundle, name: str) -> Entity:
    """The entity schema by name, or NotFound."""
    entity = bundle.entities.get(name)
    if entity is None:
        raise NotFound(f"unknown entity {name!r} (known: {', '.join(sorted(bundle.entities))})")
    return entity


def title_of(entity: Entity, data: dict[str, Any], record_id: int | None = None) -> str:
    """The record's display title from its entity's title field."""
    value = data.get(entity.title_field) if entity.title_field else None
    return str(value)[:300] if value not in (None, "") else f"{entity.name} #{record_id or 'new'}"


def refuse_merged(row: RecordRow) -> None:
    """A merged record is read-only: ConflictError pointing at the record it was merged into."""
    if row.merged_into_id is not None:
        raise MergedRecord(row.id, row.merged_into_id)


def check_targets(uow: UnitOfWork, entity: Entity, values: dict[str, Any]) -> None:
    """Reference fields must name an existing record of the declared entity, user fields an active user."""
    errors: dict[str, list[str]] = {}
    for name, value in values.items():
        field = entity.fields.get(name)
        if field is None or value is None:
            continue
        if field.type == "reference":
            target = uow.records.get(value)
            if target is None or target.entity != field.entity:
                errors[name] = [f"no {field.entity} record with id {value}"]
        elif field.type == "user":
            user = uow.users.by_username(value)
            if user is None or not user.active:
                errors[name] = ["no such user"]
    if errors:
        raise ValidationError(errors)


def refuse_merged_targets(uow: UnitOfWork, entity: Entity, values: dict[str, Any],
                          found: Mapping[int, RecordRow] | None = None) -> None:
    """A reference field a user writes may not point at a merged record: its survivor is the one to name
    (`found`: the records the values name, when the caller read them already)."""
    wanted = {name: value for name, value in values.items() if isinstance(value, int)
              and (field := entity.fields.get(name)) is not None and field.type == "reference"}
    found = found if found is not None else uow.records.by_ids(wanted.values())
    errors = {name: [f"record #{value} was merged into #{found[value].merged_into_id}; use #"
                     f"{found[value].merged_into_id}"]
              for name, value in wanted.items() if value in found and found[value].merged_into_id is not None}
    if errors:
        raise ValidationError(errors)


def _write_history(uow: UnitOfWork, row: RecordRow, changed: dict[str, tuple[Any, Any]], *, actor: str,
                   source: str, now: datetime, entity: Entity) -> None:
    """One history row per changed field (all in one statement) and the links of changed reference fields."""
    history: list[dict[str, Any]] = []
    for name, (old, new) in changed.items():
        history.append({"record_id": row.id, "at": now, "actor": actor, "source": source, "field": name,
                        "old_value": old, "new_value": new})
        field = entity.fields.get(name)
        if field is not None and field.type == "reference":
            uow.links.set_reference(row.id, name, new, now, actor)
    uow.records.add_changes(history)


def applied(data: dict[str, Any], values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, tuple[Any, Any]]]:
    """A record's data with `values` written over it (None removes a field), and {field: (old, new)} of the
    fields that changed."""
    written, changed = dict(data), {}
    for name, new in values.items():
        old = written.get(name)
        if old == new:
            continue
        changed[name] = (old, new)
        if new is None:
            written.pop(name, None)
        else:
            written[name] = new
    return written, changed


def write_fields(uow: UnitOfWork, row: RecordRow, values: dict[str, Any], *, actor: str, source: str,
                 now: datetime, entity: Entity) -> dict[str, tuple[Any, Any]]:
    """Apply validated values to a record, append one history row per changed field, keep reference links.

    Returns {field: (old, new)} of the fields that changed, and publishes them as FieldsChanged (match keys and
    the duplicate policy); the caller publishes the logical change the rules react to."""
    check_targets(uow, entity, values)
    data, changed = applied(row.data, values)
    _write_history(uow, row, changed, actor=actor, source=source, now=now, entity=entity)
    if changed:
        row.data = data
        row.title = title_of(entity, data, row.id)
        row.updated_at = now
        uow.publish(FieldsChanged(row, changed, source, actor, now))
    return changed


def insert_record(uow: UnitOfWork, actor: Actor, entity: Entity, clean: dict[str, Any], now: datetime, *,
                  owner_id: int | None = None, source: str = "create", start_processes: bool = True,
                  depth: int = 0, chain: tuple[str, ...] = (), creator_owns: bool = False) -> RecordRow:
    """Store a new record from validated data inside the caller's transaction: history, reference links, then
    RecordCreated, whose handlers run the rules its creation triggers, give it to its creator (`creator_owns`:
    when neither `owner_id` nor a rule gave an owner and the creator sees only records they own) and start the
    processes that start on create (`start_processes`).

    The row is inserted with its values (one INSERT, not an INSERT and an UPDATE); its history is that of a write
    over an empty record, and FieldsChanged says `created` (no keys to replace yet)."""
    refuse_merged_targets(uow, entity, clean)
    check_targets(uow, entity, clean)
    changed = {name: (None, new) for name, new in clean.items() if new is not None}
    data = {name: new for name, (_, new) in changed.items()}
    row = RecordRow(entity=entity.name, title=title_of(entity, data), data=data, owner_id=owner_id, created_at=now,
                    created_by=actor.username[:80], updated_at=now)
    uow.records.insert_new(row)  # sent now: its id names its history, keys and links
    title = title_of(entity, data, row.id)
    if title != row.title:  # a record without a title is called by its id, known once inserted
        row.title = title
    _write_history(uow, row, changed, actor=actor.username, source=source, now=now, entity=entity)
    if changed:
        uow.publish(FieldsChanged(row, changed, source, actor.username, now, created=True))
    uow.publish(RecordCreated(row, changed, now, depth, chain, actor=actor, source=source,
                              start_processes=start_processes, creator_owns=creator_owns))
    return row
