"""Many new records at once: the state insert_record leaves one record at a time, written with multi-row inserts.

Records, field history, reference links and match keys go in one multi-row statement each; the rules triggered by
creation run once per batch (engine.rules.dispatch.on_records_created), and so do those it triggers on the records
they link to (engine.rules.linked_batch.run_linked_created). An error raised here is one insert_record
would raise for one of the records: the caller rolls the batch back and writes its records one by one to find out
which (that is how an import keeps its per-row errors)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from engine.config.model import Bundle, Entity
from engine.errors import ValidationError
from engine.filters.model import linked_entities
from engine.processes.deployed import active_bundle
from engine.quality.checks import SELF_CHECKING_SOURCES, apply_on_create
from engine.quality.matching import Keys, record_keys, refresh_keys, rules_of
from engine.records.schema import validate_record
from engine.records.writing import applied
from engine.rules.actions import BatchLookups
from engine.rules.dispatch import created_rules, linked_created_rules, on_records_changed, on_records_created
from engine.rules.linked_batch import linked_batch_ready, run_linked_created
from engine.search.index import index_new
from engine.services.access import require_permission
from engine.services.instance_starts import start_for_new_records
from engine.services.records import check_targets, entity_of, refuse_merged_targets, title_of
from engine.services.views import Actor
from engine.store.events import FieldsChanged, RecordChanged
from engine.store.models import RecordRow, UserRow
from engine.store.uow import UnitOfWork


def bulk_ready(bundle: Bundle, entity: Entity) -> bool:
    """Whether creating records of `entity` can take the batch path: the rules their creation triggers read
    only the record itself (no `let` aggregates, no linked condition in `where`), and the rules it triggers on
    the records they link to run for a batch as one by one (engine.rules.linked_batch.linked_batch_ready)."""
    return linked_batch_ready(bundle, entity.name) and not any(
        rule.let or linked_entities(rule.where) for rule in created_rules(bundle, entity.name)
    )


# actions whose writes touch only the record they run on (its fields, territory links, its tasks): no new record,
# process instance or mail whose id or order would tell when it ran
_OWN_RECORD_ACTIONS = frozenset({"set", "compute", "join_territory", "leave_territory", "create_task"})


def changes_ready(bundle: Bundle, entity: Entity) -> bool:
    """Whether a change of an `entity` record may be written before records created earlier in the same batch
    (an import's matched row, while the run of new rows before it waits): the rules the change triggers read and
    write only the record itself (no `let` aggregates, no linked condition, no rule on a record linking to it,
    only actions on the record), and no rule the batch's new records trigger on the records they link to
    aggregates records of the entity (they would see the change before its row)."""
    if any(item.of == entity.name for rule in linked_created_rules(bundle, entity.name) for item in rule.let):
        return False
    for rule in bundle.rules.values():
        for trigger in rule.triggers:
            if trigger.kind == "linked_changed" and trigger.entity == entity.name:
                return False
            if trigger.kind == "changed" and rule.entity == entity.name and (
                    rule.let or linked_entities(rule.where)
                    or any(action.kind not in _OWN_RECORD_ACTIONS for action in rule.all_actions())):
                return False
    return True


# actions that write no field of the record they run on (its territory links, an owner a territory's manager gives,
# its tasks): a later row that reads the record's fields reads what it would have read had they run at once
_FIELDLESS_ACTIONS = frozenset({"join_territory", "leave_territory", "create_task"})


def watched_changes_ready(bundle: Bundle, entity: Entity) -> bool:
    """Whether the changes of many `entity` records may be written together with the rules they trigger run for
    the batch after them (an import's matched rows whose change a rule watches): changes_ready, and every rule a
    change of the entity triggers writes no field of the record (only territory links, owners and tasks)."""
    return changes_ready(bundle, entity) and all(
        action.kind in _FIELDLESS_ACTIONS
        for rule in bundle.rules.values()
        if rule.entity == entity.name and any(trigger.kind == "changed" for trigger in rule.triggers)
        for action in rule.all_actions()
    )


def _check(uow: UnitOfWork, entity: Entity, cleans: Sequence[dict[str, Any]]) -> None:
    references = [
        value
        for clean in cleans
        for name, value in clean.items()
        if isinstance(value, int) and (field := entity.fields.get(name)) is not None and field.type == "reference"
    ]
    # one query; held here, so the checks below find the targets in the session (it keeps unchanged rows weakly)
    found = uow.records.by_ids(references)
    for clean in cleans:
        refuse_merged_targets(uow, entity, clean, found)
        check_targets(uow, entity, clean)


def _keyed(bundle: Bundle, rows: Sequence[RecordRow]) -> list[RecordRow]:
    """The new records having a field their entity's duplicate rules read."""
    config = rules_of(bundle, rows[0].entity)
    wanted = config.fields() if config is not None else set()
    return [row for row in rows if set(row.data) & wanted]


def _keys(uow: UnitOfWork, bundle: Bundle, rows: Sequence[RecordRow], known: Sequence[Keys | None]) -> None:
    """Match keys of new records, in one statement; `known`: each record's keys when the caller computed them from
    its values already (None: computed here)."""
    config = rules_of(bundle, rows[0].entity)
    if config is None:
        return
    region = bundle.settings.default_region
    given = {id(row): keys for row, keys in zip(rows, known, strict=True) if keys is not None}
    uow.quality.add_keys(
        [
            (row.id, row.entity, name, value)
            for row in _keyed(bundle, rows)
            for name, values in (given[id(row)] if id(row) in given else record_keys(config, row.data, region)).items()
            for value in sorted(values)
        ]
    )


def insert_records(
    uow: UnitOfWork,
    actor: Actor,
    entity: Entity,
    cleans: Sequence[dict[str, Any]],
    now: datetime,
    *,
    owner_id: int | None = None,
    source: str = "create",
    start_processes: bool = True,
    lookups: BatchLookups | None = None,
    sources: Sequence[str] | None = None,
    match_keys: Sequence[Keys | None] | None = None,
) -> list[RecordRow]:
    """Store new records from validated data inside the caller's transaction, as insert_record would one by one:
    history, reference links, match keys (and the duplicate policy), rules triggered by their creation, then
    processes that start on create (`lookups`: what the rules' actions look up, shared across batches of one
    transaction; `sources`: each record's own field history source, like an import's row, beside `source`;
    `match_keys`: each record's duplicate keys by name when the caller computed them from its values already).
    Check bulk_ready first."""
    if not cleans:
        return []
    bundle, _ = active_bundle(uow)
    _check(uow, entity, cleans)
    datas = [{name: value for name, value in clean.items() if value is not None} for clean in cleans]
    by = actor.username
    titled = [bool(entity.title_field) and data.get(entity.title_field or "") not in (None, "") for data in datas]
    # insert_record inserts its record with its values (revision 1); an untitled one is then given its id as
    # title (revision 2), as below
    rows = uow.records.insert_held_many(
        [
            {
                "entity": entity.name,
                "title": title_of(entity, data) if has_title else "",
                "data": data,
                "owner_id": owner_id,
                "created_at": now,
                "created_by": by[:80],
                "updated_at": now,
                "revision": 1,
                "merged_into_id": None,
            }
            for data, has_title in zip(datas, titled, strict=True)
        ]
    )
    for row, has_title in zip(rows, titled, strict=True):
        if not has_title:
            row.title = title_of(entity, row.data, row.id)
    own = list(sources) if sources is not None else [source] * len(rows)
    uow.records.add_history(  # (record_id, at, actor, source, field, old_value, new_value)
        [
            (row.id, now, by, written_by[:200], name, None, value)
            for row, written_by in zip(rows, own, strict=True)
            for name, value in row.data.items()
        ]
    )
    index_new(uow, entity, rows, bundle.settings.default_region)
    uow.links.add_references(
        [
            (row.id, name, value)
            for row in rows
            for name, value in row.data.items()
            if (field := entity.fields.get(name)) is not None and field.type == "reference"
        ],
        now,
        by,
    )
    if source.startswith(SELF_CHECKING_SOURCES):
        _keys(uow, bundle, rows, match_keys or [None] * len(rows))
    else:  # each record is checked against those before it only, as one by one: keys written in turn
        for row in _keyed(bundle, rows):
            refresh_keys(uow, bundle, row)
            apply_on_create(uow, bundle, row, now, found_by="create", actor=by)
    lookups = lookups or BatchLookups()
    lookups.unlinked.update(row.id for row in rows)  # just inserted: in no territory yet
    try:
        on_records_created(uow, bundle, rows, now, lookups)
        run_linked_created(uow, bundle, rows, now, lookups)
    finally:  # known only while their creation's rules run (a refused batch is rolled back: its ids come again)
        lookups.unlinked.difference_update(row.id for row in rows)
    if start_processes:
        start_for_new_records(uow, actor, rows, now)
    return rows


def create_records(uow: UnitOfWork, actor: Actor, entity_name: str, datas: Sequence[dict[str, Any]], now: datetime,
                   *, owner_id: int | None = None, start_processes: bool = True) -> list[RecordRow]:
    """Validate and store many new records of one entity in one transaction through the batch path (as
    create_record would one by one with creator_owns=False): ValidationError naming the position and field of
    every problem, nothing written. Entities whose creation rules are not bulk_ready are refused."""
    require_permission(actor, "record.write", action="create records")
    bundle, _ = active_bundle(uow)
    entity = entity_of(bundle, entity_name)
    if not bulk_ready(bundle, entity):
        raise ValidationError({"": [f"{entity.name} records are created one by one (rules read linked records)"]})
    cleans, errors = [], {}
    for position, data in enumerate(datas, start=1):
        try:
            cleans.append(validate_record(entity, bundle, data))
        except ValidationError as exc:
            errors.update({f"[{position}] {name}".rstrip(): messages for name, messages in exc.errors.items()})
    if errors:
        raise ValidationError(errors)
    with uow:
        rows = insert_records(uow, actor, entity, cleans, now, owner_id=owner_id, start_processes=start_processes)
        uow.commit()
        return rows


def update_records(uow: UnitOfWork, rows: Sequence[RecordRow], values: Sequence[dict[str, Any]], *, actor: str,
                   source: str, now: datetime, entity: Entity) -> list[dict[str, tuple[Any, Any]]]:
    """Write validated values to many loaded records, as write_fields would one by one, in three statements:
    one multi-row history INSERT, one executemany UPDATE (each row guarded by its revision), and the reference
    links of the reference fields that changed; then FieldsChanged and RecordChanged for each changed record,
    handled as a single write's (search keys, match keys, duplicate policy, rules). Only for fields no rule
    watches (rules_watch): a rule's write on one record could change what the next one is written from.
    Returns each record's {field: (old, new)} (empty when nothing changed)."""
    checked: set[tuple[str, str]] = set()
    for clean in values:  # a mass write gives many records the same values: each is checked once
        targets = {name: value for name, value in clean.items() if (name, repr(value)) not in checked}
        check_targets(uow, entity, targets)
        checked.update((name, repr(value)) for name, value in targets.items())
    applies = [applied(row.data, clean) for row, clean in zip(rows, values, strict=True)]
    write_changes(uow, rows, applies, actor=actor, sources=[source] * len(rows), now=now, entity=entity)
    return [changed for _, changed in applies]


def write_changes(uow: UnitOfWork, rows: Sequence[RecordRow],
                  applies: Sequence[tuple[dict[str, Any], dict[str, tuple[Any, Any]]]], *, actor: str,
                  sources: Sequence[str], now: datetime, entity: Entity, lookups: BatchLookups | None = None) -> None:
    """Store what `applied` made of each loaded record's values (its new data and {field: (old, new)}, computed
    from the record's data as loaded, each record once), with the field history source of each: one multi-row
    history INSERT, one executemany UPDATE guarded by the revisions, the reference links of the reference
    fields that changed, then FieldsChanged and RecordChanged per changed record, in order (update_records).
    `lookups` (the rules of the changes are watched_changes_ready): instead of a RecordChanged each, the rules
    the changes trigger run in one pass over the records (on_records_changed) with the batch's lookups."""
    history: list[dict[str, Any]] = []
    written: list[RecordRow] = []
    columns: list[dict[str, Any]] = []
    for row, (data, changed), source in zip(rows, applies, sources, strict=True):
        for name, (old, new) in changed.items():
            history.append({"record_id": row.id, "at": now, "actor": actor, "source": source, "field": name,
                            "old_value": old, "new_value": new})
            if (field := entity.fields.get(name)) is not None and field.type == "reference":
                uow.links.set_reference(row.id, name, new, now, actor)
        if changed:
            written.append(row)
            columns.append({"data": data, "title": title_of(entity, data, row.id), "updated_at": now})
    uow.records.add_changes(history)
    uow.records.update_many(written, columns)
    for row, (_, changed), source in zip(rows, applies, sources, strict=True):
        if changed:
            uow.publish(FieldsChanged(row, changed, source, actor, now))
            if lookups is None:
                uow.publish(RecordChanged(row, changed, now))
    if lookups is not None:
        bundle, _ = active_bundle(uow)
        on_records_changed(uow, bundle, [(row, changed) for row, (_, changed) in zip(rows, applies, strict=True)
                                         if changed], now, lookups)


def give_records(uow: UnitOfWork, rows: Sequence[RecordRow], to: UserRow, *, actor: str, source: str,
                 now: datetime) -> None:
    """Make `to` the owner of many loaded records, as give_record would one by one: one history row each (field
    `owner`, the old and new owners' login names) in one INSERT, the owners in one executemany UPDATE."""
    owners = uow.users.by_ids({row.owner_id for row in rows if row.owner_id is not None})
    uow.records.add_changes([{"record_id": row.id, "at": now, "actor": actor, "source": source, "field": "owner",
                              "old_value": owners[row.owner_id].username if row.owner_id in owners else None,
                              "new_value": to.username} for row in rows])
    uow.records.update_many(rows, [{"owner_id": to.id, "updated_at": now} for _ in rows])
