"""Mass actions on the records a filter (or a segment) finds: assign an owner, add or remove a tag, set a field,
start a process — each all or nothing, in one transaction, as ordinary record writes (history, rules)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.config.model import Bundle, Entity
from engine.errors import FlowError, ValidationError
from engine.quality.matching import rules_of
from engine.records.schema import validate_record
from engine.rules.dispatch import rules_watch
from engine.services.access import require_permission
from engine.services.assignment import assignee_target
from engine.services.bulk_records import give_records, update_records
from engine.services.finding import count_records, iter_record_ids
from engine.services.instances import start_version
from engine.services.records import check_targets, write_fields
from engine.services.segments import filter_target, get_segment
from engine.services.views import Actor
from engine.store.events import RecordChanged
from engine.store.models import ProcessVersionRow, RecordRow
from engine.store.uow import UnitOfWork

MAX_RECORDS = 5000  # one transaction holds at most this many records
MAX_ERRORS = 20  # a failing action stops collecting problems after this many
WRITE_BATCH = 1000  # records per multi-row history INSERT and executemany UPDATE of a batched action
KINDS = ("assign", "tag", "untag", "set", "start")
TAG_FIELD = "tags"  # the multi_enum field tag/untag use when the action names none
_KEYS = {"assign": {"to"}, "tag": {"code", "field"}, "untag": {"code", "field"}, "set": {"field", "value"},
         "start": {"process"}}


@dataclass(frozen=True)
class MassAction:
    """What to do to each record: kind (assign, tag, untag, set, start), the field, and the value / user / code /
    process id."""

    kind: str
    value: Any
    field: str | None = None


@dataclass(frozen=True)
class ActionSummary:
    """What a mass action did: records found, changed, skipped (nothing to change) and per-record problems."""

    action: str
    records: int
    changed: int
    skipped: int
    errors: list[str] = field(default_factory=list)
    dry_run: bool = False


def parse_action(data: Any) -> MassAction:
    """A mass action from JSON: {"action": "assign", "to": user} | {"action": "tag"|"untag", "code": c,
    "field"?: f} | {"action": "set", "field": f, "value": v} | {"action": "start", "process": id}."""
    if not isinstance(data, dict):
        raise ValidationError({"action": ["must be an object with an 'action' key"]})
    kind = data.get("action")
    if kind not in KINDS:
        raise ValidationError({"action": [f"must be one of {', '.join(KINDS)}, not {kind!r}"]})
    unknown = sorted(set(data) - _KEYS[kind] - {"action"})
    if unknown:
        raise ValidationError({k: [f"is not a key of the {kind} action"] for k in unknown})
    errors: dict[str, list[str]] = {}

    def text(key: str, required: bool = True) -> str | None:
        value = data.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value.strip():
            errors[key] = ["is required (text)"]
            return None
        return value.strip()

    if kind == "assign":
        action = MassAction(kind, text("to"))
    elif kind in ("tag", "untag"):
        action = MassAction(kind, text("code"), text("field", required=False))
    elif kind == "set":
        if "value" not in data:
            errors["value"] = ["is required (null clears the field)"]
        action = MassAction(kind, data.get("value"), text("field"))
    else:
        action = MassAction(kind, text("process"))
    if errors:
        raise ValidationError(errors)
    return action


@dataclass(frozen=True)
class _Step:
    """The per-record part of an action: `plan` says what to write to a record (None: nothing to change; a
    FlowError: it cannot), `write` writes planned records. `batched`: the writes wait and go together (multi-row
    statements) after every record is planned; otherwise each record is written right after its plan, since a
    rule its write triggers may change what the next record's plan reads."""

    plan: Callable[[RecordRow], Any]
    write: Callable[[Sequence[tuple[RecordRow, Any]]], None]
    batched: bool


def _tag_field(entity: Entity, action: MassAction) -> str:
    name = action.field or TAG_FIELD
    found = entity.fields.get(name)
    if found is None or found.type != "multi_enum":
        where = "field" if action.field else "code"
        raise ValidationError({where: [f"{entity.name} has no multi_enum field {name!r}; name one with 'field'"]})
    return name


def _field_step(uow: UnitOfWork, actor: Actor, bundle: Bundle, entity: Entity, now: datetime, source: str,
                name: str, plan: Callable[[RecordRow], dict[str, Any] | None]) -> _Step:
    """A step writing field `name`: validated per record by `plan`; written together unless a rule watches it,
    it is a reference or the entity's duplicate rules read it (what refuses one record's write must name it)."""

    def write(planned: Sequence[tuple[RecordRow, Any]]) -> None:
        if batched:
            update_records(uow, [row for row, _ in planned], [clean for _, clean in planned],
                           actor=actor.username, source=source, now=now, entity=entity)
            return
        for row, clean in planned:
            changed = write_fields(uow, row, clean, actor=actor.username, source=source, now=now, entity=entity)
            uow.publish(RecordChanged(row, changed, now))

    duplicates = rules_of(bundle, entity.name)  # their policy (warn, link, block) may refuse one record's write
    batched = (not rules_watch(bundle, entity, name) and entity.fields[name].type != "reference"
               and (duplicates is None or name not in duplicates.fields()))
    return _Step(plan, write, batched)


def _applier(uow: UnitOfWork, actor: Actor, bundle: Bundle, entity: Entity, action: MassAction, now: datetime,
             source: str, ids: list[int]) -> _Step:
    """The per-record step of an action, after the checks that do not depend on the record."""
    if action.kind == "assign":
        to = assignee_target(uow, actor, str(action.value))
        team = set(uow.users.team_member_ids(actor.team)) if actor.team else set()

        def assign(row: RecordRow) -> bool | None:
            if row.owner_id == to.id:
                return None
            if not (actor.has("admin") or "system" in actor.roles or row.owner_id is None or row.owner_id in team):
                raise FlowError("not yours to reassign (owned outside your team)")
            return True

        def give(planned: Sequence[tuple[RecordRow, Any]]) -> None:
            give_records(uow, [row for row, _ in planned], to, actor=actor.username, source=source, now=now)

        return _Step(assign, give, batched=True)
    if action.kind in ("tag", "untag"):
        name = _tag_field(entity, action)
        try:
            validate_record(entity, bundle, {name: [action.value]}, partial=True)
        except ValidationError as exc:
            raise ValidationError({"code": exc.errors.get(name, ["is not valid"])}) from exc

        def tag(row: RecordRow) -> dict[str, Any] | None:
            current = list(row.data.get(name) or [])
            if (action.value in current) == (action.kind == "tag"):
                return None
            new = [*current, action.value] if action.kind == "tag" else [c for c in current if c != action.value]
            return validate_record(entity, bundle, {name: new}, partial=True)

        return _field_step(uow, actor, bundle, entity, now, source, name, tag)
    if action.kind == "set":
        name = str(action.field)
        if name not in entity.fields:
            raise ValidationError({"field": [f"is not a field of {entity.name}"]})
        try:
            value = validate_record(entity, bundle, {name: action.value}, partial=True)[name]
        except ValidationError as exc:
            raise ValidationError({"value": exc.errors.get(name, ["is not valid"])}) from exc
        refused: list[ValidationError] = []
        try:  # the same value for every record: its target (a user, a record) is looked up once
            check_targets(uow, entity, {name: value})
        except ValidationError as exc:
            refused.append(exc)

        def set_field(row: RecordRow) -> dict[str, Any] | None:
            if row.data.get(name) == value:
                return None
            if refused:
                raise refused[0]
            return {name: value}

        return _field_step(uow, actor, bundle, entity, now, source, name, set_field)
    version = _process(uow, entity, str(action.value))
    running = uow.segments.running_instance_records(version.process_id, ids)

    def startable(row: RecordRow) -> bool | None:
        return None if row.id in running else True

    def start(planned: Sequence[tuple[RecordRow, Any]]) -> None:
        for row, _ in planned:
            start_version(uow, actor, version, row, now)

    return _Step(startable, start, batched=False)


def _process(uow: UnitOfWork, entity: Entity, process_id: str) -> ProcessVersionRow:
    version = uow.config.latest_process(process_id)
    if version is None:
        raise ValidationError({"process": [f"process {process_id!r} is not deployed"]})
    if version.entity != entity.name:
        runs_on = version.entity or "no record"
        raise ValidationError({"process": [f"{process_id} runs on {runs_on}, not on {entity.name}"]})
    return version


def startable_processes(uow: UnitOfWork, entity: str) -> list[tuple[str, str]]:
    """(process id, name) of the deployed processes that run on records of `entity`."""
    with uow:
        return sorted({(v.process_id, v.name) for v in uow.config.latest_processes() if v.entity == entity})


def run_action(uow: UnitOfWork, actor: Actor, filter: Any, action: MassAction, now: datetime, *,
               dry_run: bool = False, limit: int = MAX_RECORDS, source: str = "mass action") -> ActionSummary:
    """Apply an action to every record the filter finds for the actor, in one transaction: any problem on any
    record leaves every record as it was (ValidationError listing the records). `dry_run` reports and rolls back."""
    if action.kind == "assign":
        require_permission(actor, "record.assign", action="assign owners")
    else:
        require_permission(actor, "record.write", action="change records")
    bundle, entity, clean = filter_target(uow, filter)
    with uow:
        total = count_records(uow, actor, clean, now)
        if total > limit:
            raise ValidationError({"": [f"the filter finds {total} records; a mass action takes at most {limit} "
                                        "at once: narrow the filter (or the segment) and repeat"]})
        ids = sorted({i for batch in iter_record_ids(uow, actor, clean, now) for i in batch})[:limit]
        step = _applier(uow, actor, bundle, entity, action, now, source[:200], ids)
        rows = uow.records.by_ids(ids)
        changed = skipped = 0
        errors: list[str] = []
        pending: list[tuple[RecordRow, Any]] = []
        for record_id in ids:
            row = rows[record_id]
            try:
                planned = step.plan(row)
                if planned is None:
                    skipped += 1
                    continue
                if step.batched:
                    pending.append((row, planned))
                else:
                    step.write([(row, planned)])
                changed += 1
            except ValidationError as exc:
                errors.append(f"#{row.id} {row.title}: " + "; ".join(
                    f"{k}: {', '.join(v)}" if k else ", ".join(v) for k, v in exc.errors.items()))
            except FlowError as exc:
                errors.append(f"#{row.id} {row.title}: {exc}")
            if len(errors) >= MAX_ERRORS:
                errors.append(f"stopped after {MAX_ERRORS} problems")
                break
        if not errors:
            for start in range(0, len(pending), WRITE_BATCH):
                step.write(pending[start:start + WRITE_BATCH])
        summary = ActionSummary(action.kind, len(ids), changed, skipped, errors, dry_run)
        if errors and not dry_run:
            raise ValidationError({"records": [f"nothing was changed: {len(errors)} record(s) refused the "
                                               f"{action.kind} action", *errors]})
        if not dry_run:
            uow.commit()
        return summary


def run_segment_action(uow: UnitOfWork, actor: Actor, segment_id: int, action: MassAction, now: datetime, *,
                       dry_run: bool = False, limit: int = MAX_RECORDS) -> ActionSummary:
    """Apply an action to the records of a segment (see run_action)."""
    segment = get_segment(uow, actor, segment_id)
    return run_action(uow, actor, segment.filter, action, now, dry_run=dry_run, limit=limit,
                      source=f"mass action: segment {segment.name}")
