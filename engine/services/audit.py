"""Auditing: one filterable log over field changes, process steps, inbound events and merges, and any record as
it was at a past moment (its own field history replayed)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from engine.errors import NotFound, ValidationError
from engine.input_limits import integer_problem
from engine.processes.deployed import active_bundle
from engine.services.access import AUDIT_READERS as AUDIT_READERS  # web names it from here
from engine.services.access import reads_everything, require_permission
from engine.services.instances import load_readable
from engine.services.records import load_visible, visibility
from engine.services.views import Actor
from engine.store.audit_repos import KINDS, AuditFilter, AuditKey, AuditRows
from engine.store.models import FieldChangeRow
from engine.store.uow import UnitOfWork

MAX_PAGE = 500
EXPORT_BATCH = 1000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)


@dataclass(frozen=True)
class AuditQuery:
    """Filters of the audit log; each one optional. `since` is inclusive, `until` exclusive."""

    user: str | None = None
    entity: str | None = None
    record_id: int | None = None
    kinds: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class AuditEntry:
    """One line of the audit log."""

    kind: str  # field | step | event | merge
    id: int  # the row id within its kind
    at: datetime
    actor: str
    entity: str | None
    record_id: int | None
    record_title: str | None
    instance_id: int | None
    subject: str  # the field, the step kind, the event name, or "merge"
    old_value: Any
    new_value: Any
    source: str  # what made the change: edit, a process step, an event's outcome, a merge's undo
    data: Any  # submitted step data, an event's payload, a merge's field choices
    cursor: str  # pass as `after` to continue the log past this entry


@dataclass(frozen=True)
class AuditPage:
    """One page of the log, newest first; `next_cursor` None on the last page."""

    items: list[AuditEntry]
    next_cursor: str | None


@dataclass(frozen=True)
class AsOfValue:
    """A field's value at the moment asked for, and the change that set it."""

    field: str
    value: Any
    changed_at: datetime | None  # None: no change recorded up to then
    actor: str | None
    source: str | None
    changed_since: bool  # changed after that moment
    current: Any


@dataclass(frozen=True)
class RecordAsOf:
    """A record as it was at `at`, replayed from its own field history."""

    record_id: int
    entity: str
    title: str
    at: datetime
    created_at: datetime
    created_by: str
    owner: AsOfValue
    values: list[AsOfValue]
    changed_since: list[str]


@dataclass(frozen=True)
class WaitView:
    """What a running instance waits for: a timer (due when) or a message (by name and business key)."""

    kind: str  # timer | message
    element_id: str | None
    due_at: datetime | None
    message: str | None
    business_key: str | None


class RecordNotYetCreated(NotFound):
    """The record did not exist yet at the moment asked for."""

    def __init__(self, record_id: int, at: datetime, created_at: datetime) -> None:
        self.record_id, self.at, self.created_at = record_id, at, created_at
        super().__init__(f"record {record_id} did not exist yet at {at:%Y-%m-%d %H:%M:%S} UTC: it was created at "
                         f"{created_at:%Y-%m-%d %H:%M:%S} UTC")


def parse_moment(text: str | None, name: str, *, end_of_day: bool = False, zone: tzinfo = UTC) -> datetime | None:
    """`YYYY-MM-DD` or an ISO 8601 date-time (in `zone` when it has no offset) as aware UTC; a bare date with
    `end_of_day` means the start of the next day (an exclusive upper bound). ValidationError names `name`."""
    raw = (text or "").strip()
    if not raw:
        return None
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            start = datetime(day.year, day.month, day.day)
            start = start + timedelta(days=1) if end_of_day else start
            return start.replace(tzinfo=zone).astimezone(UTC)
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        return (moment.replace(tzinfo=zone) if moment.tzinfo is None else moment).astimezone(UTC)
    except ValueError:
        raise ValidationError({name: [f"{raw!r} is not a date (YYYY-MM-DD) or date-time (YYYY-MM-DDTHH:MM, "
                                      "optionally with an offset)"]}) from None
    except OverflowError:  # 0001-01-01T00:00+01:00 in UTC, the day after 9999-12-31
        raise ValidationError({name: [f"{raw!r} is outside the years 1 to 9999 in UTC"]}) from None


def encode_cursor(key: AuditKey) -> str:
    """A log position as URL-safe text."""
    return f"{(key.at - _EPOCH) // _MICRO}.{key.rank}.{key.id}"


def decode_cursor(text: str) -> AuditKey:
    """The log position of a cursor; ValidationError (field `after`) when it is not one."""
    parts = text.split(".")
    refused = ValidationError({"after": [f"{text!r} is not a cursor of this log"]})
    if len(parts) != 3 or not all(p.lstrip("-").isdigit() for p in parts) or not 1 <= int(parts[1]) <= len(KINDS):
        raise refused
    if integer_problem(int(parts[2])):  # an id no database holds (SQLite cannot even compare it)
        raise refused
    try:
        return AuditKey(_EPOCH + int(parts[0]) * _MICRO, int(parts[1]), int(parts[2]))
    except OverflowError as exc:  # a moment beyond year 9999
        raise refused from exc


def require_audit_reader(actor: Actor) -> None:
    """Forbidden unless the actor may read the audit log (auditor, admin, head of sales)."""
    require_permission(actor, "audit.read", action="read the audit log")


def _filter(uow: UnitOfWork, actor: Actor, query: AuditQuery) -> AuditFilter:
    require_audit_reader(actor)
    unknown = sorted(set(query.kinds) - set(KINDS))
    if unknown:
        raise ValidationError({"kind": [f"unknown kind(s) {', '.join(unknown)}; known: {', '.join(KINDS)}"]})
    if query.since is not None and query.until is not None and query.since >= query.until:
        raise ValidationError({"to": ["must be after 'from'"]})
    seen = visibility(uow, actor)
    return AuditFilter(actor=query.user or None, entity=query.entity or None, record_id=query.record_id,
                       kinds=frozenset(query.kinds or KINDS), since=query.since, until=query.until,
                       owner_ids=None if reads_everything(actor) else seen.owner_ids,
                       include_unowned=seen.include_unowned, inbox_of=seen.inbox_of)


def _entry(key: AuditKey, rows: AuditRows) -> AuditEntry:
    record_id, entity, title = rows.records.get((key.kind, key.id), (None, None, None))
    common: dict[str, Any] = {"kind": key.kind, "id": key.id, "at": key.at, "entity": entity,
                              "record_id": record_id, "record_title": title, "cursor": encode_cursor(key)}
    if key.kind == "field":
        change = rows.fields[key.id]
        return AuditEntry(**common, actor=change.actor, instance_id=None, subject=change.field,
                          old_value=change.old_value, new_value=change.new_value, source=change.source, data=None)
    if key.kind == "step":
        step = rows.steps[key.id]
        element = step.element_name or step.element_id
        source = rows.processes.get(step.id, "") + (f" / {element}" if element else "")
        return AuditEntry(**common, actor=step.actor, instance_id=step.instance_id, subject=step.kind,
                          old_value=None, new_value=None, source=source, data=step.data)
    if key.kind == "event":
        inbound = rows.events[key.id]
        return AuditEntry(**common, actor=inbound.source, instance_id=inbound.instance_id, subject=inbound.name,
                          old_value=None, new_value=None,
                          source=f"{inbound.outcome}: {inbound.detail}" if inbound.detail else inbound.outcome,
                          data=inbound.payload)
    merge = rows.merges[key.id]
    undone = f"undone {merge.undone_at:%Y-%m-%d %H:%M} UTC by {merge.undone_by}" if merge.undone_at else ""
    return AuditEntry(**common, actor=merge.by, instance_id=None, subject="merge", old_value=merge.merged_id,
                      new_value=merge.survivor_id, source=f"merge #{merge.id}" + (f", {undone}" if undone else ""),
                      data=merge.choices)


def _page(uow: UnitOfWork, wanted: AuditFilter, limit: int, after: AuditKey | None) -> list[AuditEntry]:
    keys = uow.audit.page(wanted, limit, after)
    rows = uow.audit.rows(keys)
    return [_entry(k, rows) for k in keys]


def audit_log(uow: UnitOfWork, actor: Actor, query: AuditQuery, *, limit: int = 50,
              after: str | None = None) -> AuditPage:
    """One page of the audit log, newest first, continuing after the cursor `after`."""
    limit = min(max(limit, 1), MAX_PAGE)
    start = decode_cursor(after) if after else None
    with uow:
        wanted = _filter(uow, actor, query)
        items = _page(uow, wanted, limit + 1, start)
    more = len(items) > limit
    items = items[:limit]
    return AuditPage(items, items[-1].cursor if more and items else None)


def iter_audit(uow: UnitOfWork, actor: Actor, query: AuditQuery, *, batch: int = EXPORT_BATCH,
               names: dict[str, str] | None = None) -> Iterator[AuditEntry]:
    """Every entry of the filtered log, newest first, read in keyset batches (for exports of any size); with
    `names`, every user's display name by login is put in it first (one statement however many batches follow:
    people are few, log entries many)."""
    with uow:
        wanted = _filter(uow, actor, query)
        if names is not None:
            names.update({user.username: user.display_name for user in uow.users.all()})
    after: AuditKey | None = None
    while True:
        with uow:
            items = _page(uow, wanted, batch, after)
        yield from items
        if len(items) < batch:
            return
        after = decode_cursor(items[-1].cursor)


def _replay(changes: list[FieldChangeRow], name: str, at: datetime, current: Any) -> AsOfValue:
    """A field's value at `at`: the new value of its last change up to then; with none recorded, the value the
    first later change started from (or the current value when it never changed)."""
    mine = [c for c in changes if c.field == name]
    before = [c for c in mine if c.at <= at]
    later = [c for c in mine if c.at > at]
    if before:
        last = before[-1]
        return AsOfValue(name, last.new_value, last.at, last.actor, last.source, bool(later), current)
    value = later[0].old_value if later else current
    return AsOfValue(name, value, None, None, None, bool(later), current)


def record_as_of(uow: UnitOfWork, actor: Actor, record_id: int, at: datetime) -> RecordAsOf:
    """The record as it was at `at`, from its own field history (not that of records merged into it)."""
    if at.tzinfo is None:
        raise ValidationError({"at": ["give a time zone (UTC offset)"]})
    bundle, _ = active_bundle(uow)
    with uow:
        row = load_visible(uow, actor, record_id)
        if at < row.created_at:
            raise RecordNotYetCreated(record_id, at, row.created_at)
        changes = uow.audit.changes_of(record_id)
        owner_row = uow.users.get(row.owner_id) if row.owner_id else None
        entity = bundle.entities.get(row.entity)
        names = list(entity.fields) if entity is not None else []
        names += sorted({c.field for c in changes if c.field not in names and c.field != "owner"
                         and not c.field.startswith("link:")})
        values = [_replay(changes, name, at, row.data.get(name)) for name in names]
        owner = _replay(changes, "owner", at, owner_row.username if owner_row else None)
        title_value = next((v.value for v in values if entity is not None and v.field == entity.title_field), None)
        title = str(title_value) if title_value not in (None, "") else f"{row.entity} #{row.id}"
        return RecordAsOf(row.id, row.entity, title, at.astimezone(UTC), row.created_at, row.created_by, owner,
                          values, [v.field for v in [owner, *values] if v.changed_since])


def instance_waits(uow: UnitOfWork, actor: Actor, instance_id: int) -> list[WaitView]:
    """The timers (soonest first) and messages a process instance waits for, to the readers of the instance."""
    with uow:
        load_readable(uow, actor, instance_id)
        timers = sorted(uow.timers.pending_for_instance(instance_id), key=lambda t: (t.due_at, t.id))
        waits = [WaitView("timer", t.element_id, t.due_at, None, None) for t in timers]
        waits += [WaitView("message", None, None, w.message, w.business_key)
                  for w in sorted(uow.events.waits_for_instance(instance_id), key=lambda w: w.id)]
        return waits
