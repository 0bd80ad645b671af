"""Records of configured entities: create, update, read, field history."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.errors import ConflictError, Forbidden, MergedRecord, NotFound, ValidationError
from engine.processes.deployed import active_bundle
from engine.records.schema import validate_record
from engine.records.writing import (
    check_targets,
    entity_of,
    insert_record,
    refuse_merged,
    refuse_merged_targets,
    title_of,
    write_fields,
)
from engine.services.access import reads_everything, require_permission
from engine.services.assignment import give_record
from engine.services.views import Actor, FieldChangeView, RecordView
from engine.store.events import RecordChanged, RecordCreated
from engine.store.models import FieldChangeRow, RecordRow
from engine.store.uow import UnitOfWork


def record_view(uow: UnitOfWork, row: RecordRow) -> RecordView:
    """A record row as a view, with its owner's login name."""
    return record_views(uow, [row])[0]


def record_views(uow: UnitOfWork, rows: Iterable[RecordRow]) -> list[RecordView]:
    """Record rows as views, their owners read in one statement (a list costs what one record does)."""
    rows = list(rows)
    owners = uow.users.by_ids({row.owner_id for row in rows if row.owner_id})
    return [RecordView(row.id, row.entity, row.title, dict(row.data),
                       owners[row.owner_id].username if row.owner_id in owners else None,
                       row.created_at, row.updated_at, row.revision, row.merged_into_id) for row in rows]


@dataclass(frozen=True)
class Visibility:
    """Which records an actor may read: owners (None = all), unowned ones, and those in the actor's inbox."""

    owner_ids: list[int] | None
    include_unowned: bool
    inbox_of: tuple[int, frozenset[str], str] | None


def sees_unowned(actor: Actor) -> bool:
    """Whether the actor reads records nobody owns (`visibility(...).include_unowned`, without reading a row)."""
    return reads_everything(actor) or actor.has("head_of_sales")


def visibility(uow: UnitOfWork, actor: Actor) -> Visibility:
    """The actor's record visibility under the role policy of docs/architecture.md."""
    if reads_everything(actor):
        return Visibility(None, True, None)
    inbox = (actor.id, actor.groups, actor.username) if actor.id else None
    if actor.has("head_of_sales"):
        team = uow.users.team_member_ids(actor.team) if actor.team else []
        return Visibility(sorted({*team, actor.id or 0}), True, inbox)
    if actor.has("sales"):
        return Visibility([actor.id or 0], False, inbox)
    return Visibility([], False, None)


def can_see(uow: UnitOfWork, actor: Actor, row: RecordRow) -> bool:
    """Whether the actor may read this record."""
    seen = visibility(uow, actor)
    if seen.owner_ids is None or row.owner_id in seen.owner_ids or (seen.include_unowned and row.owner_id is None):
        return True
    return seen.inbox_of is not None and uow.records.in_inbox_of(row.id, *seen.inbox_of)


def load_visible(uow: UnitOfWork, actor: Actor, record_id: int) -> RecordRow:
    """A record the actor may see; NotFound otherwise (existence is not leaked)."""
    row = uow.records.get(record_id)
    if row is None or not can_see(uow, actor, row):
        raise NotFound(f"record {record_id} not found")
    return row


def load_writable(uow: UnitOfWork, actor: Actor, record_id: int) -> RecordRow:
    """A record the actor may see and that was not merged into another (ConflictError then)."""
    row = load_visible(uow, actor, record_id)
    refuse_merged(row)
    return row


def create_record(uow: UnitOfWork, actor: Actor, entity_name: str, data: dict[str, Any], now: datetime,
                  *, owner_id: int | None = None, start_processes: bool = True,
                  creator_owns: bool = True) -> RecordView:
    """Validate and store a new record, write its history, run its rules, start processes that start on create.
    Unless `owner_id` or a rule names an owner, a creator who sees only their own records owns it."""
    require_permission(actor, "record.write", action="create records")
    with uow:  # the configuration is read in the write's transaction: one transaction per creation
        bundle, _ = active_bundle(uow)
        entity = entity_of(bundle, entity_name)
        clean = validate_record(entity, bundle, data)
        row = insert_record(uow, actor, entity, clean, now, owner_id=owner_id, start_processes=start_processes,
                            creator_owns=creator_owns)
        uow.commit()
        return record_view(uow, row)


LAST_WRITE_ATTEMPTS = 5  # without expected_revision the last write wins: a lost race is retried, not reported


def update_record(uow: UnitOfWork, actor: Actor, record_id: int, changes: dict[str, Any], now: datetime,
                  *, expected_revision: int | None = None) -> RecordView:
    """Change some fields; history per changed field. With `expected_revision` a stale revision is a
    ConflictError; without it the last write wins: a concurrent write that got in first is retried over."""
    attempts_left = 1 if expected_revision is not None else LAST_WRITE_ATTEMPTS
    while True:
        attempts_left -= 1
        try:
            return _update_record_once(uow, actor, record_id, changes, now, expected_revision)
        except MergedRecord:
            raise
        except ConflictError:
            if attempts_left == 0:
                raise


def _update_record_once(uow: UnitOfWork, actor: Actor, record_id: int, changes: dict[str, Any], now: datetime,
                        expected_revision: int | None) -> RecordView:
    require_permission(actor, "record.write", action="change records")
    with uow:  # the configuration is read in the write's transaction
        bundle, _ = active_bundle(uow)
        row = load_writable(uow, actor, record_id)
        if expected_revision is not None and expected_revision != row.revision:
            raise ConflictError(f"record {record_id} was changed by someone else (revision {row.revision}, "
                                f"you edited {expected_revision}); reload it")
        entity = entity_of(bundle, row.entity)
        clean = validate_record(entity, bundle, changes, partial=True)
        missing = [n for n, f in entity.fields.items() if f.required and n in changes and clean.get(n) is None]
        if missing:
            raise ValidationError({n: ["is required"] for n in missing})
        refuse_merged_targets(uow, entity, clean)
        changed = write_fields(uow, row, clean, actor=actor.username, source="edit", now=now, entity=entity)
        uow.publish(RecordChanged(row, changed, now))
        uow.commit()
        return record_view(uow, row)


def get_record(uow: UnitOfWork, actor: Actor, record_id: int) -> RecordView:
    """One record the actor may see."""
    with uow:
        return record_view(uow, load_visible(uow, actor, record_id))


def list_records(uow: UnitOfWork, actor: Actor, entity_name: str, *, limit: int = 50,
                 offset: int = 0, after: int | None = None) -> list[RecordView]:
    """Records of an entity the actor may see, newest first (from `offset`, or those older than record `after`:
    keyset pages, stable while records are added); an unknown entity is NotFound for everyone."""
    bundle, _ = active_bundle(uow)
    entity = entity_of(bundle, entity_name)  # first: /records/<not a number> is no entity, whoever asks
    if not (reads_everything(actor) or actor.has("sales", "head_of_sales")):
        raise Forbidden(f"{actor.username} may not read records")
    if after is not None and offset:
        raise ValidationError({"offset": ["a page after a record starts there: give no offset with it"]})
    with uow:
        seen = visibility(uow, actor)
        rows = uow.records.page(entity.name, owner_ids=seen.owner_ids, include_unowned=seen.include_unowned,
                                inbox_of=seen.inbox_of,
                                limit=min(max(limit, 1), 501), offset=max(offset, 0), after=after)
        return record_views(uow, rows)


def record_history(uow: UnitOfWork, actor: Actor, record_id: int) -> list[FieldChangeView]:
    """Field-level history of a record, oldest first, with that of records merged into it (marked by origin_id)."""
    with uow:
        load_visible(uow, actor, record_id)
        absorbed = uow.merges.absorbed(record_id)
        changes = uow.merges.changes_of([record_id, *absorbed]) if absorbed else uow.records.changes(record_id)
        return [_change_view(c, record_id) for c in changes]


HISTORY_PAGE = 50  # changes per page of a record's history (card and API)


@dataclass(frozen=True)
class HistoryPage:
    """One page of a record's field history, newest first."""

    items: list[FieldChangeView]
    older: int | None  # pass as `before` for the next, older page; None on the oldest page


def record_history_page(uow: UnitOfWork, actor: Actor, record_id: int, *, before: int | None = None,
                        limit: int | None = None) -> HistoryPage:
    """A page of a record's field history (with that of records merged into it), newest first; `before` is the
    `older` of the previous page. However long the history, one page reads `limit` + 1 changes."""
    limit = HISTORY_PAGE if limit is None else limit
    with uow:
        load_visible(uow, actor, record_id)
        ids = [record_id, *uow.merges.absorbed(record_id)]
        start = None
        if before is not None:
            start = uow.records.change(before)
            if start is None or start.record_id not in ids:
                raise ValidationError({"before": [f"{before} is not a change in the history of record #{record_id}"]})
        rows = uow.records.changes_page(ids, start, limit + 1)
        return HistoryPage([_change_view(c, record_id) for c in rows[:limit]],
                           rows[limit - 1].id if len(rows) > limit else None)


def _change_view(change: FieldChangeRow, record_id: int) -> FieldChangeView:
    """A change as the card shows it; `origin_id` names the merged record it was written on."""
    return FieldChangeView(change.at, change.actor, change.source, change.field, change.old_value,
                           change.new_value, change.record_id if change.record_id != record_id else None)


def give_to_creator(uow: UnitOfWork, event: RecordCreated) -> None:
    """Handler: a new record that neither its writer nor a rule gave an owner is its creator's when the creator
    sees only records they own (sales): else they could not open what they made. Heads and admins see unowned
    records, so theirs stay unowned for the pool and assignment rules."""
    actor, row = event.actor, event.record
    if not event.creator_owns or actor is None or actor.id is None or row.owner_id is not None:
        return
    if sees_unowned(actor):  # decided by the roles alone: no read of the creator or their team
        return
    creator = uow.users.get(actor.id)
    if creator is not None:
        give_record(uow, row, creator, {}, actor.username, event.now, event.source)


__all__ = ["check_targets", "entity_of", "insert_record", "refuse_merged", "refuse_merged_targets", "title_of",
           "write_fields"]  # the record-writing core (engine.records.writing), named here for the services' callers
