"""What rules and pipeline stages do: set and compute fields, start processes, make tasks, queue e-mail,
join and leave territories, create records. Everything runs inside the caller's transaction."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.actors import Actor
from engine.config.automation import TERRITORY_ENTITY, Action
from engine.config.expressions import parse_duration
from engine.config.model import Bundle, Entity, label_text
from engine.errors import ValidationError
from engine.messages import Message
from engine.processes.deployed import active_bundle
from engine.records.linking import add_link, link_values, remove_link
from engine.records.outbox import queue_email
from engine.records.schema import validate_record
from engine.records.writing import applied, check_targets, entity_of, insert_record, write_fields
from engine.rules.aggregates import OWNER, record_names
from engine.rules.expressions import RuleError, evaluate, field_names, to_json
from engine.store.events import ProcessStartRequested, RecordChanged
from engine.store.models import FieldChangeRow, RecordRow, TaskRow
from engine.store.uow import UnitOfWork

TERRITORY_LINK = "territory"
TERRITORY_MANAGER = "manager"  # the territory's `user` field whose user owns unowned members


@dataclass
class BatchLookups:
    """What the actions of one batch of records (an import's transaction) look up once: territories by code,
    owners' login names by user id, and the new records known to be in no territory (no query to find out);
    and the territory links those records join, with their history, written together (write_joined)."""

    territories: dict[str, RecordRow | None] = field(default_factory=dict)
    owners: dict[int, str | None] = field(default_factory=dict)
    unlinked: set[int] = field(default_factory=set)
    links: list[dict[str, Any]] = field(default_factory=list)  # record_link rows not yet written
    history: list[dict[str, Any]] = field(default_factory=list)  # their field_change rows (and owners given)

    def write_joined(self, uow: UnitOfWork) -> None:
        """Write the links and history the batch's actions left waiting: one statement each, whatever their
        number (one INSERT per link on SQLite when the ORM flushes them, whose ids it must read back)."""
        links, history = self.links, self.history
        self.links, self.history = [], []
        uow.links.add_rows(links)
        uow.records.add_changes(history)

    def drop_joined(self) -> None:
        """Forget what waits (the batch's savepoint rolled back)."""
        self.links, self.history = [], []


@dataclass
class _Run:
    """One run of a list of actions on one record."""

    uow: UnitOfWork
    bundle: Bundle
    record: RecordRow
    entity: Entity
    names: dict[str, Any]
    source: str
    actor: Actor
    now: datetime
    depth: int
    chain: tuple[str, ...]
    changed: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    lookups: BatchLookups | None = None

    @property
    def rule(self) -> str:
        return self.source.removeprefix("rule ")

    def fail(self, message: str, expression: str | None = None) -> RuleError:
        return RuleError(self.rule, message, expression, label=self.source)

    def evaluate(self, expression: Any) -> Any:
        if not isinstance(expression, str):
            raise self.fail(f"expected an expression in quotes, got {expression!r}")
        try:
            return evaluate(expression, self.names, rule=self.rule, today=self.now.date())
        except RuleError as exc:  # say where: a pipeline stage is not a rule
            raise self.fail(exc.message, expression) from exc


def _mapping(run: _Run, kind: str, args: Any) -> Mapping[str, Any]:
    if not isinstance(args, Mapping):
        raise run.fail(f"{kind}: expected a mapping, got {args!r}")
    return args


def _text(run: _Run, kind: str, args: Any) -> str:
    if not isinstance(args, str) or not args:
        raise run.fail(f"{kind}: expected a name, got {args!r}")
    return args


def _computed(run: _Run, entity: Entity, expressions: Mapping[str, Any]) -> dict[str, Any]:
    values = {}
    for name, expression in expressions.items():
        field_def = entity.fields.get(name)
        values[name] = to_json(run.evaluate(expression), field_def.type if field_def else "")
    return values


def _clean(run: _Run, values: Mapping[str, Any]) -> dict[str, Any]:
    """Values validated against the record's entity (a required field may not be emptied); ValidationError."""
    clean = validate_record(run.entity, run.bundle, dict(values), partial=True)
    emptied = [n for n, f in run.entity.fields.items() if f.required and n in clean and clean[n] is None]
    if emptied:
        raise ValidationError({n: ["is required"] for n in emptied})
    return clean


def _invalid(run: _Run, kind: str, exc: ValidationError) -> RuleError:
    return run.fail(Message("runtime.action_invalid_values", action=kind, entity=run.entity.name, detail=str(exc)))


def _write(run: _Run, kind: str, values: Mapping[str, Any]) -> None:
    """Validate values against the record's entity and write them with history under the run's source."""
    try:
        changed = write_fields(run.uow, run.record, _clean(run, values), actor=run.actor.username,
                               source=run.source, now=run.now, entity=run.entity)
    except ValidationError as exc:
        raise _invalid(run, kind, exc) from exc
    for name, (old, new) in changed.items():
        first_old = run.changed[name][0] if name in run.changed else old
        run.changed[name] = (first_old, new)
    run.names.update(field_names(run.entity, run.record.data))


def _set(run: _Run, args: Any) -> None:
    _write(run, "set", _mapping(run, "set", args))


def _compute(run: _Run, args: Any) -> None:
    _write(run, "compute", _computed(run, run.entity, _mapping(run, "compute", args)))


def _start_process(run: _Run, args: Any) -> None:
    process_id = _text(run, "start_process", args)
    version = run.uow.config.latest_process(process_id)
    if version is None:
        raise run.fail(Message("runtime.process_not_deployed", process=repr(process_id)))
    if version.entity and version.entity != run.record.entity:
        raise run.fail(Message("runtime.process_other_entity", process=process_id, runs_on=version.entity,
                                entity=run.record.entity))
    run.uow.publish(ProcessStartRequested(version, run.record, run.actor, run.now, depth=run.depth + 1,
                                          chain=run.chain))  # engine.services.instances.start_requested


def _user_id(run: _Run, kind: str, username: str) -> int:
    user = run.uow.users.by_username(username)
    if user is None or not user.active:
        raise run.fail(Message("runtime.action_no_user", action=kind, user=repr(username)))
    return user.id


def _create_task(run: _Run, args: Any) -> None:
    spec = _mapping(run, "create_task", args)
    raw_title = spec.get("title") or "Task"
    title = label_text(raw_title, run.bundle.settings.default_locale, "Task") if isinstance(raw_title, Mapping) \
        else str(raw_title)
    # a title given per language is kept in each, so every reader sees it in theirs
    labels = {str(k): str(v)[:300] for k, v in raw_title.items() if v} if isinstance(raw_title, Mapping) else None
    existing = run.uow.tasks.for_record(run.record.id)
    if any(t.instance_id is None and t.state == "open" and t.spec_name == run.source[:200] and t.title == title
           for t in existing):
        return  # the same rule's task is still open: a robot does not pile up duplicates
    assignee = spec.get("assignee")
    assignee_id = run.record.owner_id if assignee == "owner" else (
        _user_id(run, "create_task", str(assignee)) if assignee else None)
    groups = [str(g) for g in spec.get("candidate_groups") or ()]
    due_at = None
    if spec.get("due"):
        length = parse_duration(spec["due"])
        if length is None:
            raise run.fail(f"create_task: due {spec['due']!r} is not an ISO 8601 duration like P2D")
        due_at = run.now + length
    add_standalone_task(run.uow, run.record.id, run.source, title, assignee_id, groups, due_at, run.now,
                        title_labels=labels)


def add_standalone_task(uow: UnitOfWork, record_id: int, source: str, title: str, assignee_id: int | None,
                        groups: Sequence[str], due_at: datetime | None, now: datetime, *,
                        title_labels: Mapping[str, str] | None = None) -> TaskRow:
    """Create an open task outside any process (by a rule, a reminder...), indexed for the inbox and the pool;
    `title_labels`: its title per locale, when its maker gives more than one language."""
    row = TaskRow(id=str(uuid.uuid4()), instance_id=None, record_id=record_id, spec_name=source[:200],
                  title=title[:300], form_key=None, lane=None, candidate_groups=",".join(groups), candidate_users="",
                  assignee_id=assignee_id, state="open", due_at=due_at, created_at=now,
                  title_labels=dict(title_labels) if title_labels else None)
    uow.tasks.add(row)
    uow.tasks.flush()
    uow.tasks.add_candidates(row, groups, [])
    return row


def _send_email(run: _Run, args: Any) -> None:
    spec = _mapping(run, "send_email", args)
    template, to_field = str(spec.get("template") or ""), str(spec.get("to") or "")
    if template not in run.bundle.templates:
        raise run.fail(Message("runtime.no_template", template=repr(template)))
    address = run.record.data.get(to_field)
    try:
        queue_email(run.uow, run.record, template, address, run.bundle.settings.default_locale, run.source,
                    run.now)
    except ValidationError as exc:
        raise run.fail(Message("runtime.email_to_field", field=repr(to_field), detail=str(exc))) from exc


def _territory(run: _Run, kind: str, args: Any) -> RecordRow | None:
    code = _text(run, kind, args)
    if run.lookups is None:
        return run.uow.records.by_field(TERRITORY_ENTITY, "code", code)
    if code not in run.lookups.territories:  # a scan of the records' JSON: once per batch, not once per record
        run.lookups.territories[code] = run.uow.records.by_field(TERRITORY_ENTITY, "code", code)
    return run.lookups.territories[code]


def _join_territory(run: _Run, args: Any) -> None:
    territory = _territory(run, "join_territory", args)
    if territory is None:
        raise run.fail(f"join_territory: no {TERRITORY_ENTITY} record with code {args!r}")
    if not_in_any(run):  # a new record of a batch: its link and history wait for the batch's (write_joined)
        assert run.lookups is not None  # noqa: S101 - not_in_any is true only in a batch
        link, notes = link_values(run.record.id, territory.id, TERRITORY_LINK, actor=run.actor.username,
                                  source=run.source, now=run.now)
        run.lookups.links.append(link)
        run.lookups.history.extend(notes)
        run.lookups.unlinked.discard(run.record.id)
    elif _settled(run).links.find(run.record.id, territory.id, TERRITORY_LINK) is None:
        add_link(run.uow, run.record, territory, TERRITORY_LINK, actor=run.actor.username, source=run.source,
                 now=run.now)
    manager = territory.data.get(TERRITORY_MANAGER)
    if run.record.owner_id is None and manager:
        run.record.owner_id = _user_id(run, "join_territory", str(manager))
        run.record.updated_at = run.now
        note = {"record_id": run.record.id, "at": run.now, "actor": run.actor.username, "source": run.source[:200],
                "field": "owner", "old_value": None, "new_value": manager}
        if run.lookups is not None:
            run.lookups.history.append(note)  # after its link's history, as it would be written
        else:
            run.uow.records.add(FieldChangeRow(**note))
        run.names[OWNER] = manager
        run.changed.setdefault(OWNER, (None, manager))


def _settled(run: _Run) -> UnitOfWork:
    """The unit of work, once the links and history a batch's actions left waiting are written (a read or a
    write of anything else may depend on them)."""
    if run.lookups is not None and (run.lookups.links or run.lookups.history):
        run.lookups.write_joined(run.uow)
    return run.uow


def not_in_any(run: _Run) -> bool:
    """Whether the record is known to be in no territory: a new record of the batch no action has joined."""
    return run.lookups is not None and run.record.id in run.lookups.unlinked


def _leave_territory(run: _Run, args: Any) -> None:
    territory = _territory(run, "leave_territory", args)
    link = _settled(run).links.find(run.record.id, territory.id, TERRITORY_LINK) \
        if territory is not None and not not_in_any(run) else None
    if link is not None:  # not a member (or no such territory): nothing to leave
        remove_link(run.uow, link, actor=run.actor.username, source=run.source, now=run.now)


def only_leaving(actions: Sequence[Action], link_kinds: set[str]) -> bool:
    """Whether running `actions` on a record making links of `link_kinds` would change nothing: they only leave
    territories and the record is in none."""
    return TERRITORY_LINK not in link_kinds and all(action.kind == "leave_territory" for action in actions)


def _create_record(run: _Run, args: Any) -> None:
    spec = _mapping(run, "create_record", args)
    entity = run.bundle.entities.get(str(spec.get("entity")))
    if entity is None:
        raise run.fail(f"create_record: unknown entity {spec.get('entity')!r}")
    values = {**_mapping(run, "create_record set", spec.get("set") or {}),
              **_computed(run, entity, _mapping(run, "create_record compute", spec.get("compute") or {}))}
    try:
        clean = validate_record(entity, run.bundle, values)
        created = insert_record(run.uow, run.actor, entity, clean, run.now, owner_id=run.record.owner_id,
                                source=run.source, depth=run.depth + 1, chain=run.chain)
    except ValidationError as exc:
        raise run.fail(Message("runtime.create_record_invalid", entity=entity.name, detail=str(exc))) from exc
    if spec.get("link"):
        add_link(run.uow, created, run.record, str(spec["link"]), actor=run.actor.username, source=run.source,
                 now=run.now)


HELD_ACTIONS = frozenset({"set", "compute"})  # what apply_held runs


def apply_held(uow: UnitOfWork, record: RecordRow, data: dict[str, Any], actions: Sequence[Action], *,
               names: Mapping[str, Any], source: str, actor: Actor, now: datetime
               ) -> tuple[dict[str, Any], list[tuple[str, Any, Any]]]:
    """Run `set` and `compute` actions (HELD_ACTIONS) on values of a record held apart from it (`data`: what the
    record holds by now), as run_actions would write them: each action's values validated and checked as
    write_fields checks them, the names the next action sees updated. Writes nothing: returns the new values and
    each change (field, old, new) in order. RuleError as run_actions raises it."""
    bundle, _ = active_bundle(uow)
    entity = entity_of(bundle, record.entity)
    run = _Run(uow, bundle, record, entity, dict(names), source, actor, now, 0, (source,))
    changes: list[tuple[str, Any, Any]] = []
    for action in actions:
        if action.kind not in HELD_ACTIONS:
            raise run.fail(f"{action.kind} cannot run on held values")
        args = _mapping(run, action.kind, action.args)
        values = _computed(run, entity, args) if action.kind == "compute" else args
        try:
            clean = _clean(run, values)
            check_targets(uow, entity, clean)
        except ValidationError as exc:
            raise _invalid(run, action.kind, exc) from exc
        data, changed = applied(data, clean)
        changes.extend((name, old, new) for name, (old, new) in changed.items())
        run.names.update(field_names(entity, data))
    return data, changes


# actions that read no link nor history another record's action of the batch left waiting (the others, and the
# rules a change triggers, run once it is written)
_WAITING_ACTIONS = frozenset({"join_territory", "leave_territory"})
_HANDLERS: dict[str, Callable[[_Run, Any], None]] = {
    "set": _set, "compute": _compute, "start_process": _start_process, "create_task": _create_task,
    "send_email": _send_email, "join_territory": _join_territory, "leave_territory": _leave_territory,
    "create_record": _create_record,
}


def run_actions(uow: UnitOfWork, record: RecordRow, actions: Sequence[Action], *, names: Mapping[str, Any] | None,
                source: str, actor: Actor, now: datetime, depth: int, chain: tuple[str, ...] = (),
                lookups: BatchLookups | None = None) -> None:
    """Run actions in order on a record; then the rules its changed fields trigger (one level deeper).

    `names` are the expression names (a record's fields, `let` values, `linked`); None builds them from the
    record. `source` goes into field history ("rule <name>", "pipeline <code> / stage <code>"); `chain` is the
    cascade of rules leading here (for the depth error); `lookups` is shared by the records of a batch. A failure
    raises RuleError and writes nothing durable: the caller's transaction is not committed."""
    bundle, _ = active_bundle(uow)
    entity = entity_of(bundle, record.entity)
    scope = dict(names) if names is not None else record_names(uow, entity, record)
    run = _Run(uow, bundle, record, entity, scope, source, actor, now, depth, chain or (source,), lookups=lookups)
    for action in actions:
        handler = _HANDLERS.get(action.kind)
        if handler is None:
            raise run.fail(f"unknown action {action.kind!r}")
        if action.kind not in _WAITING_ACTIONS:
            _settled(run)
        handler(run, action.args)
    if run.changed:  # the rules these changes trigger run one cascade level deeper
        if lookups is not None:  # the cascade's actions run without the batch's lookups: it may join a territory
            lookups.unlinked.discard(record.id)
            _settled(run)
        uow.publish(RecordChanged(record, run.changed, now, depth + 1, run.chain))
