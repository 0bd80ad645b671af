"""Which rules a record change triggers, and evaluating them: `let` aggregates, `when`, then actions or `else`."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from engine.actors import Actor
from engine.config.automation import Rule, Trigger
from engine.config.model import Bundle, Entity
from engine.filters.model import linked_entities
from engine.memo import held_for
from engine.processes.deployed import active_bundle
from engine.records.writing import entity_of
from engine.rules.actions import BatchLookups, only_leaving, run_actions
from engine.rules.aggregates import compute_aggregates, record_names
from engine.rules.expressions import RuleError, is_true
from engine.store.events import InstanceMoved, RecordChanged, RecordCreated, TaskCompleted
from engine.store.filter_spec import Filter
from engine.store.models import RecordRow
from engine.store.uow import UnitOfWork

MAX_DEPTH = 8  # a cascade of more rules than this is stopped (`flowcrm check` rejects cycles; this is the backstop)
RULE_ACTOR = Actor(id=None, username="rule", display_name="Rule", roles=frozenset({"system"}))

Changes = Mapping[str, tuple[Any, Any] | None]  # field -> (old, new) when known


def _changes(changed_fields: Iterable[str] | Mapping[str, tuple[Any, Any]]) -> Changes:
    if isinstance(changed_fields, Mapping):
        return {str(k): (v if isinstance(v, tuple) and len(v) == 2 else None) for k, v in changed_fields.items()}
    return dict.fromkeys(changed_fields)


def _linked_target_ids(uow: UnitOfWork, trigger: Trigger, record: RecordRow, changes: Changes,
                       created: bool) -> list[int]:
    """Ids of the records a linked_* trigger's `via` field of `record` points at (before and after a change)."""
    via = trigger.via or ""
    if trigger.kind == "linked_created":
        current = uow.links.reference_target(record.id, via) if created else None
        return [current] if current is not None else []
    touched = bool(set(trigger.fields) & changes.keys())
    if created or not (touched or via in changes):
        return []  # nothing the trigger watches changed: no need to read where the link points
    current = uow.links.reference_target(record.id, via)
    ids = [current] if current is not None and touched else []
    moved = changes.get(via)
    if via in changes:  # the link itself moved: both the record it left and the one it joined are affected
        old = moved[0] if moved is not None else None
        ids += [i for i in (old, current) if isinstance(i, int)]
    return list(dict.fromkeys(ids))


_TRIGGERS: dict[Hashable, tuple[tuple[object, ...], Any]] = {}  # _triggers_on, per loaded bundle


def _triggers_on(bundle: Bundle, entity: str) -> tuple[tuple[Rule, Trigger], ...]:
    """(rule, trigger) of every trigger a write of an `entity` record can fire, in the bundle's order: its own
    `created`/`changed` triggers and the `linked_*` triggers watching it. Worked out once per loaded bundle and
    entity (engine.memo.held_for), not by a walk over every rule of the bundle at each write."""
    def build() -> tuple[tuple[Rule, Trigger], ...]:
        return tuple((rule, trigger) for rule in bundle.rules.values() for trigger in rule.triggers
                     if (trigger.kind in ("created", "changed") and rule.entity == entity)
                     or (trigger.kind in ("linked_changed", "linked_created") and trigger.entity == entity))

    found: tuple[tuple[Rule, Trigger], ...] = held_for(_TRIGGERS, (id(bundle), entity), (bundle,), build, 256)
    return found


def triggered(uow: UnitOfWork, bundle: Bundle, record: RecordRow, changes: Changes,
              created: bool) -> list[tuple[Rule, RecordRow, RecordRow | None]]:
    """(rule, record it runs on, linked record or None) for every rule this write triggers, each pair once."""
    hits: list[tuple[Rule, RecordRow, RecordRow | None]] = []
    seen: set[tuple[str, int]] = set()

    def hit(rule: Rule, target: RecordRow, linked: RecordRow | None) -> None:
        if target.entity == rule.entity and (rule.name, target.id) not in seen:
            seen.add((rule.name, target.id))
            hits.append((rule, target, linked))

    for rule, trigger in _triggers_on(bundle, record.entity):
        own = created if trigger.kind == "created" else (
            trigger.kind == "changed" and not created and bool(set(trigger.fields) & changes.keys()))
        if own:
            hit(rule, record, None)
        elif trigger.kind in ("linked_changed", "linked_created") and trigger.entity == record.entity:
            ids = _linked_target_ids(uow, trigger, record, changes, created)
            targets = uow.records.by_ids(ids)
            for target_id in ids:
                if target_id in targets:
                    hit(rule, targets[target_id], record)
    return hits


def where_matches(uow: UnitOfWork, rule: Rule, ids: Sequence[int], now: datetime) -> set[int]:
    """The records among `ids` that match the rule's `where` filter (all of them without one). One SQL query by
    the compiler of entity lists and segments, so a rule's filter means exactly what the same filter means in a
    list (linked conditions included); the records' pending writes are flushed first."""
    if rule.where is None:
        return set(ids)
    return uow.find.matching(Filter(rule.entity, rule.where), now, ids)


def evaluate_rule(uow: UnitOfWork, bundle: Bundle, rule: Rule, record: RecordRow, now: datetime, *,
                  depth: int = 0, chain: tuple[str, ...] = (), linked: RecordRow | None = None,
                  matched: bool | None = None, lookups: BatchLookups | None = None) -> bool:
    """Evaluate one rule on one record: its `where` filter and `when` (both must hold), its `let` names, then
    `actions` or `else`. Returns whether the condition held. `matched`: the `where` result when the caller
    already computed it for a batch (see where_matches); `lookups`: what the actions of a batch look up once."""
    entity = entity_of(bundle, rule.entity)
    if matched is None:
        matched = record.id in where_matches(uow, rule, [record.id], now)
    names = record_names(uow, entity, record, lookups.owners if lookups is not None else None)
    names.update(compute_aggregates(uow, bundle, record, rule.let, rule=rule.name, now=now))
    linked_entity = bundle.entities.get(linked.entity) if linked is not None else None
    names["linked"] = record_names(uow, linked_entity, linked) if linked is not None and linked_entity else None
    holds = matched and is_true(rule.when, names, rule=rule.name, today=now.date())
    actions = rule.actions if holds else rule.otherwise
    if actions:
        trail = (*chain, f"rule {rule.name}")
        if depth >= MAX_DEPTH:
            raise RuleError(rule.name, f"stopped a cascade of more than {MAX_DEPTH} rules: {' → '.join(trail)}")
        run_actions(uow, record, actions, names=names, source=f"rule {rule.name}", actor=RULE_ACTOR, now=now,
                    depth=depth, chain=trail, lookups=lookups)
    return holds


def on_record_written(uow: UnitOfWork, record: RecordRow, changed_fields: Iterable[str] | Mapping[str, Any],
                      created: bool, now: datetime, depth: int = 0, *, chain: tuple[str, ...] = ()) -> None:
    """Run the rules a record's creation or field changes trigger, inside the caller's transaction.

    `changed_fields`: names, or write_fields' {field: (old, new)} (old values let a moved reference reach the
    record it left). `depth`/`chain`: the cascade so far; the rules' own writes come back here one level deeper.
    Raises RuleError (the caller does not commit, so nothing is half-written)."""
    changes = _changes(changed_fields)
    if not created and not changes:
        return
    bundle, _ = active_bundle(uow)
    if not bundle.rules:
        return
    for rule, target, linked in triggered(uow, bundle, record, changes, created):
        evaluate_rule(uow, bundle, rule, target, now, depth=depth, chain=chain, linked=linked)


def on_records_changed(uow: UnitOfWork, bundle: Bundle,
                       changes: Sequence[tuple[RecordRow, Mapping[str, tuple[Any, Any]]]], now: datetime,
                       lookups: BatchLookups) -> None:
    """The rules the field changes of many records trigger, in one pass, as a RecordChanged of each record in
    turn runs them: each rule's `where` evaluated once for all the records it runs on (again for a record an
    earlier rule acted on), territories and owners looked up once (`lookups`), the links and history the actions
    leave waiting written at the end. For changes whose rules write no field of any record but their own
    (engine.services.bulk_records.watched_changes_ready); RuleError as on_record_written raises it, after which
    the caller rolls the batch back."""
    if not bundle.rules or not changes:
        return
    hits = [hit for record, changed in changes for hit in triggered(uow, bundle, record, _changes(changed), False)]
    targets: dict[str, tuple[Rule, list[int]]] = {}
    for rule, target, _ in hits:
        if rule.where is not None:
            targets.setdefault(rule.name, (rule, []))[1].append(target.id)
    filtered = {name: where_matches(uow, rule, ids, now) for name, (rule, ids) in targets.items()}
    acted: set[int] = set()  # records a rule's actions ran on: their `where` is evaluated again
    try:
        for rule, target, linked in hits:
            matched = target.id in filtered[rule.name] if rule.name in filtered and target.id not in acted else None
            if rule.actions or rule.otherwise:
                acted.add(target.id)
            evaluate_rule(uow, bundle, rule, target, now, linked=linked, matched=matched, lookups=lookups)
    except BaseException:
        lookups.drop_joined()  # the caller rolls the batch back: what waited is undone with it
        raise
    lookups.write_joined(uow)


def created_rules(bundle: Bundle, entity: str) -> list[Rule]:
    """Rules of `entity` that run when one of its records is created, in bundle order."""
    return [rule for rule in bundle.rules.values()
            if rule.entity == entity and any(trigger.kind == "created" for trigger in rule.triggers)]


def linked_created_rules(bundle: Bundle, entity: str) -> list[Rule]:
    """Rules that run on the record a new record of `entity` links to."""
    return [rule for rule in bundle.rules.values()
            if any(t.kind == "linked_created" and t.entity == entity for t in rule.triggers)]


def rules_watch(bundle: Bundle, entity: Entity, name: str) -> bool:
    """Whether a rule runs when field `name` of an `entity` record changes (its own `changed` trigger, or a
    `linked_changed` one on a record it links to): then each record's write must run them before the next."""
    for rule in bundle.rules.values():
        for trigger in rule.triggers:
            if trigger.kind == "changed" and rule.entity == entity.name and name in trigger.fields:
                return True
            if trigger.kind == "linked_changed" and trigger.entity == entity.name and (
                    name in trigger.fields or name == trigger.via):
                return True
    return False


def on_records_created(uow: UnitOfWork, bundle: Bundle, records: Sequence[RecordRow], now: datetime,
                       lookups: BatchLookups | None = None) -> None:
    """The rules of their own entity the creation of these records (one entity) trigger, as on_record_written
    would run them record by record (those on the records they link to: engine.rules.linked_batch): conditions
    are evaluated for every record, and only the actions that can change something run (leaving a territory the
    new record never joined does not)."""
    if not records:
        return
    rules = created_rules(bundle, records[0].entity)
    if not rules:
        return
    entity = entity_of(bundle, records[0].entity)
    if all(record.id in lookups.unlinked for record in records) if lookups is not None else False:
        # inserted by the caller's batch just now: the only links they make are their reference fields'
        references = [name for name, spec in entity.fields.items() if spec.type == "reference"]
        links = {record.id: {"reference"} for record in records
                 if any(record.data.get(name) is not None for name in references)}
    else:
        links = uow.links.kinds_from(record.id for record in records)  # one query: which links they make
    lookups = lookups or BatchLookups()
    ids = [record.id for record in records]
    filtered = {rule.name: where_matches(uow, rule, ids, now) for rule in rules if rule.where is not None}
    try:
        _run_created(uow, bundle, entity, rules, records, now, lookups, links, filtered)
    except BaseException:
        lookups.drop_joined()  # the caller rolls the batch back: what waited is undone with it
        raise
    lookups.write_joined(uow)


def _run_created(uow: UnitOfWork, bundle: Bundle, entity: Entity, rules: Sequence[Rule],
                 records: Sequence[RecordRow], now: datetime, lookups: BatchLookups, links: dict[int, set[str]],
                 filtered: dict[str, Any]) -> None:
    acted: set[int] = set()  # records an action ran on: their links may have changed since
    for record in records:
        seen: dict[str, Any] | None = None  # what the record's expressions see, until an action runs on it
        for rule in rules:
            matched = record.id in filtered[rule.name] if rule.name in filtered else True
            if rule.let or (rule.where is not None and linked_entities(rule.where)):
                lookups.write_joined(uow)  # what they read of links must include the links waiting
            if rule.name in filtered and record.id in acted:  # an earlier rule's actions may have changed it
                matched = bool(where_matches(uow, rule, [record.id], now))
            if rule.let:
                acted.add(record.id)
                evaluate_rule(uow, bundle, rule, record, now, matched=matched)
                continue
            if seen is None or record.id in acted:
                seen = record_names(uow, entity, record, lookups.owners)
                seen["linked"] = None
            names = dict(seen)  # the actions may change their copy (a territory's manager as the owner)
            holds = matched and is_true(rule.when, names, rule=rule.name, today=now.date())
            actions = rule.actions if holds else rule.otherwise
            if actions and (record.id in acted or not only_leaving(actions, links.get(record.id, set()))):
                acted.add(record.id)
                run_actions(uow, record, actions, names=names, source=f"rule {rule.name}", actor=RULE_ACTOR,
                            now=now, depth=0, chain=(f"rule {rule.name}",), lookups=lookups)


def on_record_created(uow: UnitOfWork, event: RecordCreated) -> None:
    """Handler: the rules a new record triggers (created, linked_created)."""
    on_record_written(uow, event.record, event.changes, True, event.now, event.depth, chain=event.chain)


def on_record_changed(uow: UnitOfWork, event: RecordChanged | InstanceMoved) -> None:
    """Handler: the rules the fields of one change (an edit, a rule's actions, a process step) trigger."""
    on_record_written(uow, event.record, event.changes, False, event.now, event.depth, chain=event.chain)


def on_task_completed(uow: UnitOfWork, event: TaskCompleted) -> None:
    """Handler: the rules the fields a completed task's form wrote trigger."""
    on_record_written(uow, event.record, event.changes, False, event.now)
