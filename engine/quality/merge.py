"""Merging two records of one entity into one, and undoing it.

The survivor takes the chosen field values (field history names `merge #<id>`); everything attached to the merged
record moves to it: links, other records' reference fields, tasks, process instances (and the record their live
workflow data names), reminders, outbox rows, import row keys. The merged record keeps its row and data, hidden
from lists, with `merged_into_id` set; its match keys go and its open duplicate pairs close. Field history is
append only and stays where it was written; `records.record_history` of the survivor shows it with its origin.
MergeLogRow.undo keeps exactly what `undo_merge` needs to put every row back. Rules are not run by a merge or
its undo: it corrects data rather than being a business event, and an undo must not leave rule side effects.

Who may merge: the head of sales and admins (both records visible to them). Sales users may not, even records
they own both of: a merge moves tasks and history across owners, so it is the reviewer's decision."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from engine.config.model import Entity
from engine.errors import ConflictError, NotFound, ValidationError
from engine.processes.deployed import active_bundle, business_time
from engine.processes.spiff import Runtime
from engine.quality.merge_keys import drop_keys, key_memo, refresh_survivor_keys, restore_keys
from engine.services.access import MERGERS as MERGERS  # web names it from here
from engine.services.access import require_permission
from engine.services.instances import process_data
from engine.services.records import entity_of, load_visible, write_fields
from engine.services.views import Actor
from engine.store.merge_repos import ATTACHED
from engine.store.models import InstanceRow, RecordLinkRow, RecordRow
from engine.store.quality_models import MergeLogRow
from engine.store.uow import UnitOfWork

SURVIVOR, MERGED = "survivor", "merged"
REFERENCE = "reference"


def check_choices(entity: Entity, choices: dict[str, Any]) -> dict[str, str]:
    """Choices as {field: "survivor" | "merged"} over the entity's fields; unnamed fields keep the survivor's."""
    if not isinstance(choices, dict):
        raise ValidationError({"choices": ["must be an object of field → 'survivor' or 'merged'"]})
    errors: dict[str, list[str]] = {}
    for name, side in choices.items():
        if name not in entity.fields:
            errors[f"choices.{name}"] = [f"{entity.name} has no field {name!r}"]
        elif side not in (SURVIVOR, MERGED):
            errors[f"choices.{name}"] = [f"must be 'survivor' or 'merged', not {side!r}"]
    if errors:
        raise ValidationError(errors)
    return {name: str(choices.get(name, SURVIVOR)) for name in entity.fields}


def _pair_for(uow: UnitOfWork, pair_id: int | None, first: int, second: int) -> int | None:
    if pair_id is None:
        return None
    pair = uow.merges.pair(pair_id)
    if pair is None:
        raise NotFound(f"duplicate pair {pair_id} not found")
    if {pair.record_a_id, pair.record_b_id} != {first, second}:
        raise ValidationError({"survivor_id": [f"pair {pair_id} is records {pair.record_a_id} and "
                                               f"{pair.record_b_id}, not {first} and {second}"]})
    if pair.status != "open":
        raise ConflictError(f"duplicate pair {pair_id} was already decided ({pair.status})")
    return pair.id


def _load_pair_of_records(uow: UnitOfWork, actor: Actor, survivor_id: int,
                          merged_id: int) -> tuple[RecordRow, RecordRow]:
    if survivor_id == merged_id:
        raise ValidationError({"survivor_id": ["a record cannot be merged into itself"]})
    survivor = load_visible(uow, actor, survivor_id)
    merged = load_visible(uow, actor, merged_id)
    if survivor.entity != merged.entity:
        raise ValidationError({"survivor_id": [f"record {survivor_id} is a {survivor.entity} and record {merged_id} "
                                               f"a {merged.entity}: only records of one entity merge"]})
    for row in (survivor, merged):
        if row.merged_into_id is not None:
            raise ConflictError(f"record {row.id} was already merged into record {row.merged_into_id}")
    return survivor, merged


def _link_memo(link: RecordLinkRow) -> dict[str, Any]:
    return {"id": link.id, "from": link.from_record_id, "to": link.to_record_id, "kind": link.kind,
            "field": link.field, "created_at": link.created_at.isoformat(), "created_by": link.created_by}


def _plan_links(uow: UnitOfWork, survivor: RecordRow, merged: RecordRow) -> dict[str, list[dict[str, Any]]]:
    """Hand-made links move to the survivor (self-links and exact duplicates go); the merged record's own
    reference links go (its fields no longer count anywhere); links to it from reference fields are repointed
    through those fields (`_plan_references`)."""
    moved: list[dict[str, Any]] = []
    deleted: list[dict[str, Any]] = []
    kept: set[tuple[int, int, str, str | None]] = set()
    for link in uow.merges.links_of(merged.id):
        if link.kind == REFERENCE:
            if link.from_record_id == merged.id:
                deleted.append(_link_memo(link))
            continue
        ends = tuple(survivor.id if end == merged.id else end for end in (link.from_record_id, link.to_record_id))
        shape = (ends[0], ends[1], link.kind, link.field)
        if ends[0] == ends[1] or shape in kept or uow.merges.has_link(*shape, other_than=link.id):
            deleted.append(_link_memo(link))
            continue
        kept.add(shape)
        moved.append({"id": link.id, "from": link.from_record_id, "to": link.to_record_id})
    return {"moved": moved, "deleted": deleted}


def _plan_references(uow: UnitOfWork, survivor: RecordRow, merged: RecordRow) -> list[dict[str, Any]]:
    """Every record whose reference field targets the merged record will target the survivor (the survivor's own
    reference to it is cleared: a record does not point at itself)."""
    return [{"record_id": link.from_record_id, "field": link.field,
             "to": None if link.from_record_id == survivor.id else survivor.id}
            for link in uow.links.incoming(merged.id)
            if link.kind == REFERENCE and link.field is not None and link.from_record_id != merged.id]


def _live_data(uow: UnitOfWork, record: RecordRow, data: dict[str, Any]) -> dict[str, Any]:
    return {**process_data(uow, record), "record": dict(data)}


def _rebound_state(uow: UnitOfWork, instance: InstanceRow, live: dict[str, Any]) -> str:
    """The instance's serialized state with its live workflow data pointing at another record."""
    version = uow.config.process_version(instance.process_version_id)
    if instance.status != "running" or version is None:
        return instance.state_json
    runtime = Runtime.load(version.id, version.spec_json, instance.state_json, time=business_time(uow))
    return runtime.dump() if runtime.set_live_data(live) else instance.state_json


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _plan_instances(uow: UnitOfWork, survivor: RecordRow, merged: RecordRow,
                    data_after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    plan: dict[str, dict[str, Any]] = {}
    live = _live_data(uow, survivor, data_after)
    for instance in uow.merges.attached("process_instance", merged.id):
        state = _rebound_state(uow, instance, live)
        plan[str(instance.id)] = {"state_json": instance.state_json, "after": _digest(state),
                                  "waits": {str(w.id): w.business_key for w in uow.merges.waits_of(instance.id)}}
    return plan


def _plan(uow: UnitOfWork, survivor: RecordRow, merged: RecordRow, values: dict[str, Any]) -> dict[str, Any]:
    """Everything the merge will change, as `undo_merge` needs it, read before anything changes."""
    fields = {name: [survivor.data.get(name), new] for name, new in values.items()
              if survivor.data.get(name) != new}
    data_after = {**survivor.data, **{name: new for name, (_, new) in fields.items()}}
    return {
        "fields": fields,
        "links": _plan_links(uow, survivor, merged),
        "references": _plan_references(uow, survivor, merged),
        "moved": {table: [row.id for row in uow.merges.attached(table, merged.id)] for table in ATTACHED},
        "instances": _plan_instances(uow, survivor, merged, {k: v for k, v in data_after.items() if v is not None}),
        "keys": key_memo(uow, merged),
        "pairs": [{"id": p.id, "status": p.status} for p in uow.merges.pairs_of(merged.id, "open")],
    }


def _apply(uow: UnitOfWork, actor: Actor, survivor: RecordRow, merged: RecordRow, plan: dict[str, Any],
           source: str, now: datetime) -> None:
    bundle, _ = active_bundle(uow)
    links = {link.id: link for link in uow.merges.links_of(merged.id)}
    for gone in plan["links"]["deleted"]:
        uow.merges.delete(links[gone["id"]])
    for moved in plan["links"]["moved"]:
        link = links[moved["id"]]
        link.from_record_id, link.to_record_id = (survivor.id if end == merged.id else end
                                                  for end in (moved["from"], moved["to"]))
    uow.merges.flush()
    for ref in plan["references"]:
        holder = uow.records.get(ref["record_id"])
        assert holder is not None  # noqa: S101 - read in the plan, same transaction
        write_fields(uow, holder, {ref["field"]: ref["to"]}, actor=actor.username, source=source, now=now,
                     entity=entity_of(bundle, holder.entity))
    for table, ids in plan["moved"].items():
        for row in uow.merges.attached_by_ids(table, ids):
            row.record_id = survivor.id
    live = _live_data(uow, survivor, survivor.data)
    for key in plan["instances"]:
        instance = uow.instances.get(int(key))
        assert instance is not None  # noqa: S101 - read in the plan, same transaction
        instance.state_json = _rebound_state(uow, instance, live)
        for wait in uow.merges.waits_of(instance.id):
            wait.business_key = str(survivor.id)
    drop_keys(uow, plan["keys"])
    for pair in uow.merges.pairs_by_ids(p["id"] for p in plan["pairs"]).values():
        pair.status, pair.decided_at, pair.decided_by = "merged", now, actor.username[:80]


def merge_records(uow: UnitOfWork, actor: Actor, survivor_id: int, merged_id: int, choices: dict[str, Any],
                  now: datetime, pair_id: int | None = None,
                  expected_revisions: dict[int, int] | None = None) -> int:
    """Merge `merged_id` into `survivor_id` in one transaction and log how to undo it; returns the merge id."""
    require_permission(actor, "record.merge", action="merge records")
    bundle, _ = active_bundle(uow)
    with uow:
        survivor, merged = _load_pair_of_records(uow, actor, survivor_id, merged_id)
        for row in (survivor, merged):
            expected = (expected_revisions or {}).get(row.id)
            if expected is not None and expected != row.revision:
                raise ConflictError(f"record {row.id} was changed by someone else (revision {row.revision}, you "
                                    f"compared {expected}); reload and compare again")
        entity = entity_of(bundle, survivor.entity)
        sides = check_choices(entity, choices)
        pair = _pair_for(uow, pair_id, survivor.id, merged.id)
        if pair is None:  # merged from elsewhere (a record card, the API): the open pair of the two is decided by it
            found = uow.merges.pair_between(survivor.id, merged.id)
            pair = found.id if found is not None and found.status == "open" else None
        values = {name: merged.data.get(name) for name, side in sides.items() if side == MERGED}
        selfish = [n for n, v in values.items() if entity.fields[n].type == REFERENCE and v == survivor.id]
        if selfish:
            raise ValidationError({f"choices.{n}": [f"the merged record's {n} is the survivor itself"]
                                   for n in selfish})
        log = MergeLogRow(entity=entity.name, survivor_id=survivor.id, merged_id=merged.id, pair_id=pair,
                          choices=sides, undo=_plan(uow, survivor, merged, values), at=now, by=actor.username[:80])
        uow.merges.add(log)  # the log is append only: written whole, before the changes it describes
        uow.merges.flush()
        source = f"merge #{log.id}"
        write_fields(uow, survivor, values, actor=actor.username, source=source, now=now, entity=entity)
        _apply(uow, actor, survivor, merged, log.undo, source, now)
        merged.merged_into_id = survivor.id
        survivor.updated_at = now  # bumps its revision too: a concurrent merge of the survivor itself conflicts
        uow.merges.flush()
        refresh_survivor_keys(uow, bundle, survivor)
        uow.commit()
        return log.id


def _restore_links(uow: UnitOfWork, merged: RecordRow, survivor: RecordRow, memo: dict[str, Any]) -> None:
    for moved in memo["moved"]:
        for link in uow.merges.links_by_ids([moved["id"]]):
            link.from_record_id, link.to_record_id = moved["from"], moved["to"]
    for gone in memo["deleted"]:
        if gone["kind"] == REFERENCE and uow.links.reference_target(gone["from"], gone["field"]) is not None:
            continue  # the merged record's field was written again since: its link is there
        taken = bool(uow.merges.links_by_ids([gone["id"]]))
        uow.links.add(RecordLinkRow(id=None if taken else gone["id"], from_record_id=gone["from"],
                                    to_record_id=gone["to"], kind=gone["kind"], field=gone["field"],
                                    created_at=datetime.fromisoformat(gone["created_at"]),
                                    created_by=gone["created_by"]))
    uow.merges.flush()


def _restore_instances(uow: UnitOfWork, merged: RecordRow, survivor: RecordRow, memo: dict[str, Any]) -> None:
    live = _live_data(uow, merged, merged.data)
    for key, saved in memo.items():
        instance = uow.instances.get(int(key))
        if instance is None or instance.record_id != survivor.id:
            continue
        instance.record_id = merged.id
        if _digest(instance.state_json) == saved["after"]:  # untouched since the merge: its state as it was
            instance.state_json = saved["state_json"]
        else:
            instance.state_json = _rebound_state(uow, instance, live)
        for wait in uow.merges.waits_of(instance.id):
            wait.business_key = saved["waits"].get(str(wait.id), str(merged.id))


def undo_merge(uow: UnitOfWork, actor: Actor, merge_id: int, now: datetime) -> None:
    """Put both records back as they were before merge `merge_id` (values the survivor got since are kept)."""
    require_permission(actor, "record.merge", action="undo merges")
    bundle, _ = active_bundle(uow)
    with uow:
        log = uow.merges.merge(merge_id)
        if log is None:
            raise NotFound(f"merge {merge_id} not found")
        survivor = load_visible(uow, actor, log.survivor_id)
        merged = uow.records.get(log.merged_id)
        assert merged is not None  # noqa: S101 - foreign key
        if log.undone_at is not None:
            raise ConflictError(f"merge {merge_id} was already undone ({log.undone_at:%Y-%m-%d %H:%M} by "
                                f"{log.undone_by})")
        if survivor.merged_into_id is not None:
            raise ConflictError(f"record {survivor.id} was merged into record {survivor.merged_into_id} since; "
                                "undo that merge first")
        if merged.merged_into_id != survivor.id:
            raise ConflictError(f"record {merged.id} is no longer merged into record {survivor.id}")
        undo, source = log.undo, f"undo merge #{log.id}"
        for pair in uow.merges.pairs_by_ids(p["id"] for p in undo["pairs"]).values():
            if pair.status == "merged":
                pair.status, pair.decided_at, pair.decided_by = "open", None, None
        restore_keys(uow, merged, undo["keys"])
        _restore_instances(uow, merged, survivor, undo["instances"])
        for table, ids in undo["moved"].items():
            for row in uow.merges.attached_by_ids(table, ids):
                if row.record_id == survivor.id:
                    row.record_id = merged.id
        for ref in undo["references"]:
            holder = uow.records.get(ref["record_id"])
            if holder is not None and holder.data.get(ref["field"]) == ref["to"]:
                write_fields(uow, holder, {ref["field"]: merged.id}, actor=actor.username, source=source, now=now,
                             entity=entity_of(bundle, holder.entity))
        _restore_links(uow, merged, survivor, undo["links"])
        entity = entity_of(bundle, survivor.entity)
        back = {name: old for name, (old, new) in undo["fields"].items() if survivor.data.get(name) == new}
        write_fields(uow, survivor, back, actor=actor.username, source=source, now=now, entity=entity)
        merged.merged_into_id = None
        survivor.updated_at = now
        log.undone_at, log.undone_by = now, actor.username[:80]
        uow.merges.flush()
        refresh_survivor_keys(uow, bundle, survivor)
        uow.commit()
