"""The `linked_created` rules a batch of new records triggers on the records they link to, run for the batch in
file order with the outcome of running them record by record (on_record_written after each insert_record):

- the records the batch links to are read once, and each rule's `let` aggregates once per batch (one query per
  (entity, via) for all the targets); while the batch's records are taken in order, the record at position i sees
  the linked records that existed before the batch and the batch's records up to and including itself, as it
  would have one by one — each target's aggregate carried from one of its records to the next, each linking
  record added once (engine.rules.aggregates.RunningLet: the fold the row-by-row path computes too);
- `set` and `compute` run on each target's values held in memory (engine.rules.actions.apply_held): the next
  record's rule sees what the previous one wrote;
- at the end, the targets' field history goes in one INSERT (one row per change, in the order they happened), and
  their new values in one executemany UPDATE guarded by the revisions read, each revision moved on by the number
  of rule runs that changed the target (as many as record by record, where each run's write was flushed alone).

Only rules for which that is the same outcome take this path (linked_batch_ready); creating records of an entity
with any other `linked_created` rule keeps the row-by-row path."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.config.automation import Aggregate, Rule
from engine.config.model import Bundle, Entity
from engine.filters.model import linked_entities
from engine.quality.matching import rules_of
from engine.records.writing import entity_of, title_of
from engine.rules.actions import HELD_ACTIONS, BatchLookups, apply_held
from engine.rules.aggregates import OWNER, RunningLet, aggregate_of, owner_name, record_names
from engine.rules.dispatch import RULE_ACTOR, created_rules, linked_created_rules, rules_watch
from engine.rules.expressions import field_names, is_true
from engine.store.events import FieldsChanged
from engine.store.filter_spec import Filter
from engine.store.models import LinkedRecord, RecordRow
from engine.store.uow import UnitOfWork


def _written(rule: Rule) -> set[str]:
    """The fields a rule's set and compute actions write."""
    return {str(name) for action in rule.all_actions() if isinstance(action.args, dict) for name in action.args}


def linked_batch_ready(bundle: Bundle, entity: str) -> bool:
    """Whether the `linked_created` rules that new `entity` records trigger can run for a batch of them
    (run_linked_created) with the outcome of running them record by record: the entity has no `created` rule of
    its own; each rule runs on another entity than any other such rule (a record's rules change each target at
    most once), has one `linked_created` trigger for the entity, no `where`, only `set` and `compute` actions,
    writes no field a rule or a duplicate rule watches (no cascade, no duplicate check), and its aggregates read
    no record a rule of the batch changes."""
    rules = linked_created_rules(bundle, entity)
    if not rules:
        return True
    targets = [rule.entity for rule in rules]
    if created_rules(bundle, entity) or entity in targets or len(set(targets)) != len(targets):
        return False
    for rule in rules:
        target = bundle.entities.get(rule.entity)
        duplicates = rules_of(bundle, rule.entity)
        watched = duplicates.fields() if duplicates is not None else set()
        if (target is None or rule.where is not None
                or sum(t.kind == "linked_created" and t.entity == entity for t in rule.triggers) != 1
                or any(action.kind not in HELD_ACTIONS for action in rule.all_actions())
                or any(name in watched or rules_watch(bundle, target, name) for name in _written(rule))
                or any(item.of in targets or (item.filter is not None and linked_entities(item.filter))
                       for item in rule.let)):
            return False
    return True


@dataclass
class _Held:
    """A target's values while the batch's rules run, and what they did to it."""

    record: RecordRow
    data: dict[str, Any]
    runs: int = 0  # rule runs that changed it (its revision moves on by as many)
    changed: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # field -> (first old, last new)
    source: str = ""


@dataclass
class _Taken:
    """One `let` name for one target while the batch's records are taken in order: its running value over the
    first `taken` records linking to the target (those before the batch, then the batch's up to the last one
    looked at)."""

    running: RunningLet
    rows: list[LinkedRecord]
    taken: int = 0
    in_order: bool = True  # the records' positions in the batch rise with their ids (a prefix is what one sees)


@dataclass
class _Aggregates:
    """One rule's `let` over the batch: per (entity, via) the records linking to each target, read once; each
    target's aggregate carried from one record of the batch to the next (each linking record added once, so a
    batch with n records on one target costs n additions, not n²/2)."""

    linking: dict[tuple[str, str], dict[int, list[LinkedRecord]]]
    position: dict[int, int]  # id of a record of the batch -> its position
    passes: dict[tuple[str, int], bool] = field(default_factory=dict)  # (let name, record id) -> its `where`
    filtered: dict[str, set[int]] = field(default_factory=dict)  # let name -> the ids its filter matches
    taken: dict[tuple[str, int], _Taken] = field(default_factory=dict)  # (let name, target id) -> its running value

    def values(self, uow: UnitOfWork, bundle: Bundle, rule: Rule, target: int, at: int,
               now: datetime) -> dict[str, Any]:
        """The `let` names of the rule for `target` as the batch's record at position `at` sees them (`at` rises
        from one call to the next for a target)."""
        result: dict[str, Any] = {}
        for item in rule.let:
            state = self.taken.get((item.name, target))
            if state is None:
                rows = self.linking[(item.of, item.via)][target]
                positions = [self.position.get(row.id, -1) for row in rows]
                state = _Taken(RunningLet(bundle, item, rule=rule.name), rows,
                               in_order=all(a <= b for a, b in itertools.pairwise(positions)))
                self.taken[(item.name, target)] = state
            if not state.in_order:  # the records seen are not the first ones by id: taken again each time
                seen = [row for row in state.rows if self.position.get(row.id, -1) <= at]
                result[item.name] = aggregate_of(
                    bundle, item, [row for row in seen if self._passes(uow, bundle, rule, item, row, now)],
                    rule=rule.name)
                continue
            rows = state.rows
            while state.taken < len(rows) and self.position.get(rows[state.taken].id, -1) <= at:
                row = rows[state.taken]
                state.taken += 1
                if self._passes(uow, bundle, rule, item, row, now):
                    state.running.add(row)
            result[item.name] = state.running.value()
        return result

    def _passes(self, uow: UnitOfWork, bundle: Bundle, rule: Rule, item: Aggregate, row: LinkedRecord,
                now: datetime) -> bool:
        key = (item.name, row.id)
        if key not in self.passes:
            entity = entity_of(bundle, item.of)
            holds = not item.where or is_true(item.where, record_names(uow, entity, row), rule=rule.name,
                                              today=now.date())
            self.passes[key] = holds and (item.filter is None or row.id in self.filtered[item.name])
        return self.passes[key]


def _aggregates(uow: UnitOfWork, rule: Rule, targets: set[int], position: dict[int, int],
                now: datetime) -> _Aggregates:
    linking = {(item.of, item.via): uow.records.referencing_many(targets, item.of, item.via) for item in rule.let}
    found = _Aggregates(linking, position)
    for item in rule.let:
        if item.filter is not None:
            ids = [row.id for rows in linking[(item.of, item.via)].values() for row in rows]
            found.filtered[item.name] = uow.find.matching(Filter(item.of, item.filter), now, ids)
    return found


def run_linked_created(uow: UnitOfWork, bundle: Bundle, records: Sequence[RecordRow], now: datetime,
                       lookups: BatchLookups) -> None:
    """Run the `linked_created` rules new records (of one entity, in file order; linked_batch_ready) trigger on
    the records they link to, as on_record_written would run them after each record's insert: RuleError (or
    ConflictError from the write) as one by one, after which the caller rolls the batch back."""
    rules = linked_created_rules(bundle, records[0].entity) if records else []
    if not rules:
        return
    entity = entity_of(bundle, records[0].entity)
    lookups.write_joined(uow)  # the aggregates read links: none may wait
    plans: list[tuple[Rule, Entity, list[int | None]]] = []
    for rule in rules:
        via = next(t.via for t in rule.triggers if t.kind == "linked_created" and t.entity == entity.name) or ""
        ids = [value if isinstance(value := record.data.get(via), int) else None for record in records]
        plans.append((rule, entity_of(bundle, rule.entity), ids))
    loaded = uow.records.by_ids({i for _, _, ids in plans for i in ids if i is not None})
    position = {record.id: n for n, record in enumerate(records)}
    lets = {rule.name: _aggregates(uow, rule, {i for i in ids if i in loaded}, position, now)
            for rule, _, ids in plans if rule.let}
    held: dict[int, _Held] = {}
    history: list[dict[str, Any]] = []
    for at, record in enumerate(records):
        linked = record_names(uow, entity, record, lookups.owners)
        for rule, target_entity, ids in plans:
            target_id = ids[at]
            target = loaded.get(target_id) if target_id is not None else None
            if target is None or target.entity != rule.entity:
                continue
            state = held.setdefault(target.id, _Held(target, dict(target.data)))
            names = {**field_names(target_entity, state.data), OWNER: owner_name(uow, target, lookups.owners)}
            if rule.name in lets:
                names.update(lets[rule.name].values(uow, bundle, rule, target.id, at, now))
            names["linked"] = linked
            holds = is_true(rule.when, names, rule=rule.name, today=now.date())
            actions = rule.actions if holds else rule.otherwise
            if not actions:
                continue
            source = f"rule {rule.name}"
            state.data, changes = apply_held(uow, target, state.data, actions, names=names, source=source,
                                             actor=RULE_ACTOR, now=now)
            if changes:
                state.runs += 1
                state.source = source
                for name, old, new in changes:
                    history.append({"record_id": target.id, "at": now, "actor": RULE_ACTOR.username,
                                    "source": source, "field": name, "old_value": old, "new_value": new})
                    state.changed[name] = (state.changed[name][0] if name in state.changed else old, new)
    _write(uow, bundle, [state for state in held.values() if state.runs], history, now)


def _write(uow: UnitOfWork, bundle: Bundle, changed: list[_Held], history: list[dict[str, Any]],
           now: datetime) -> None:
    """The targets' history in one INSERT, their values in one UPDATE; then FieldsChanged for each (search
    keys: no rule and no duplicate rule watches what these rules write)."""
    if not changed:
        return
    uow.records.add_changes(history)
    columns = [{"data": state.data, "title": title_of(entity_of(bundle, state.record.entity), state.data,
                                                     state.record.id), "updated_at": now} for state in changed]
    uow.records.update_many([state.record for state in changed], columns, [state.runs for state in changed])
    for state in changed:
        uow.publish(FieldsChanged(state.record, state.changed, state.source, RULE_ACTOR.username, now))
