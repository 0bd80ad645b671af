"""Merging two records: what moves to the survivor, the survivor's history, exact undo, and the refusals."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from engine.errors import ConflictError, Forbidden, NotFound, ValidationError
from engine.processes.spiff import Runtime
from engine.quality.merge import merge_records, undo_merge
from engine.quality.review import dismiss_pair, get_pair, list_pairs, mark_related, record_merges
from engine.services import records, tasks
from engine.services.links import link_records, record_links
from engine.services.reminders import set_reminder
from engine.services.views import Actor
from engine.store.models import (
    InstanceRow,
    MessageWaitRow,
    OutboxRow,
    RecordLinkRow,
    RecordRow,
    ReminderRow,
    TaskRow,
)
from engine.store.quality_models import DuplicatePairRow, MatchKeyRow, MergeLogRow
from engine.store.uow import UnitOfWork
from tests.conftest import NOW

MakeUow = Callable[[], UnitOfWork]
LATER = NOW + timedelta(hours=1)


def add_pair(make_uow: MakeUow, first: int, second: int, entity: str = "Lead", score: float = 91.5,
             status: str = "open") -> int:
    """A duplicate pair as detection would store it."""
    low, high = sorted((first, second))
    with make_uow() as uow:
        row = uow.merges.pair_between(low, high)  # detection may have found it when the records were written
        if row is None:
            row = DuplicatePairRow(entity=entity, record_a_id=low, record_b_id=high, found_by="scan", found_at=NOW)
            uow.session.add(row)
        row.score, row.rule, row.status = score, "phone_or_name", status
        row.reasons = [{"field": "phone", "how": "exact", "a": "+7 916 000-00-01", "b": "89160000001",
                        "score": 100.0}]
        uow.commit()
        return row.id


@dataclass
class World:
    old: int  # the survivor
    new: int  # merged into it
    other: int  # a third lead paired with `new`
    contact: int
    activity: int
    pair: int
    side_pair: int


def build(make_uow: MakeUow, actors: dict[str, Actor]) -> World:
    head, sam = actors["head"], actors["sales"]
    contact = records.create_record(make_uow(), head, "Contact", {"full_name": "Ivan Petrov",
                                                                  "phone": "+7 916 000-00-01"}, NOW,
                                    owner_id=sam.id).id
    old = records.create_record(make_uow(), head, "Lead", {"title": "Ivan, 20 laptops", "phone": "+7 916 000-00-01",
                                                           "budget": "100000"}, NOW, owner_id=sam.id).id
    new = records.create_record(make_uow(), head, "Lead", {"title": "Ivan Petrov", "email": "ivan@example.com",
                                                           "phone": "89160000001", "contact": contact,
                                                           "description": "asked twice"}, LATER,
                                owner_id=sam.id).id
    other = records.create_record(make_uow(), head, "Lead", {"title": "Someone else"}, NOW, owner_id=sam.id).id
    records.update_record(make_uow(), head, new, {"budget": "150000"}, LATER)
    activity = records.create_record(make_uow(), head, "Activity", {"subject": "First call", "lead": new,
                                                                    "contact": contact}, LATER,
                                     owner_id=sam.id).id
    link_records(make_uow(), head, new, contact, "colleague", LATER)  # moves to old
    link_records(make_uow(), head, old, contact, "colleague", NOW)  # … where the same link exists: dropped
    link_records(make_uow(), head, new, old, "related", LATER)  # would link old to itself: dropped
    set_reminder(make_uow(), sam, new, NOW + timedelta(days=2), "call back", NOW)
    with make_uow() as uow:
        uow.session.add(OutboxRow(record_id=new, template="offer", locale="en", to_address="ivan@example.com",
                                  subject="Offer", body="…", status="pending", created_at=NOW, created_by="test",
                                  next_attempt_at=NOW))
        for key, value in (("phone", "+79160000001"), ("email", "ivan@example.com")):
            uow.session.add(MatchKeyRow(record_id=new, entity="Lead", key=key, value=value))
        uow.commit()
    return World(old, new, other, contact, activity, add_pair(make_uow, old, new),
                 add_pair(make_uow, new, other, score=70.0))


def snapshot(make_uow: MakeUow, world: World) -> dict[str, Any]:
    """Every row a merge may touch, as comparable values. Left out: revisions and update times, and the ids of
    links and match keys (an undo writes reference links and recomputed keys anew; SQLite may reuse an id)."""
    ids = {world.old, world.new, world.other, world.contact, world.activity}
    with make_uow() as uow:
        s = uow.session
        return {
            "records": {r.id: (r.title, r.data, r.owner_id, r.merged_into_id)
                        for r in s.scalars(select(RecordRow).where(RecordRow.id.in_(ids)))},
            "links": sorted((link.from_record_id, link.to_record_id, link.kind, link.field or "", link.created_by)
                            for link in s.scalars(select(RecordLinkRow))),
            "tasks": sorted((t.id, t.record_id, t.state) for t in s.scalars(select(TaskRow))),
            "instances": sorted((i.id, i.record_id, i.state_json) for i in s.scalars(select(InstanceRow))),
            "waits": sorted((w.id, w.business_key) for w in s.scalars(select(MessageWaitRow))),
            "reminders": sorted((r.id, r.record_id) for r in s.scalars(select(ReminderRow))),
            "outbox": sorted((o.id, o.record_id) for o in s.scalars(select(OutboxRow))),
            "keys": sorted((k.record_id, k.key, k.value) for k in s.scalars(select(MatchKeyRow))),
            "pairs": sorted((p.id, p.status, p.decided_at, p.decided_by) for p in s.scalars(select(DuplicatePairRow))),
        }


def rows_of(make_uow: MakeUow, row: Any, record_id: int) -> list[Any]:
    with make_uow() as uow:
        return list(uow.session.scalars(select(row.id).where(row.record_id == record_id)))


def live_record_ids(make_uow: MakeUow, instance_id: int) -> set[int]:
    """The record ids the running instance's ready tasks carry in their data."""
    with make_uow() as uow:
        instance = uow.instances.get(instance_id)
        version = uow.config.process_version(instance.process_version_id)
        runtime = Runtime.load(version.id, version.spec_json, instance.state_json)
        return {t.data["record_id"] for t in runtime.ready_user_tasks()}


def test_merge_moves_everything_attached_and_undo_puts_every_row_back(deployed: MakeUow, actors) -> None:
    head = actors["head"]
    world = build(deployed, actors)
    before = snapshot(deployed, world)
    new_tasks = rows_of(deployed, TaskRow, world.new)
    [new_instance] = rows_of(deployed, InstanceRow, world.new)
    assert new_tasks
    assert live_record_ids(deployed, new_instance) == {world.new}

    merge_id = merge_records(deployed(), head, world.old, world.new, {"email": "merged", "budget": "merged",
                                                                      "description": "merged"}, LATER,
                             pair_id=world.pair)
    after = snapshot(deployed, world)
    old, new = after["records"][world.old], after["records"][world.new]
    assert old[1]["email"] == "ivan@example.com"
    assert old[1]["budget"] == "150000"
    assert old[1]["phone"] == "+7 916 000-00-01"
    assert "contact" not in old[1]
    assert new[3] == world.old
    assert new[1]["description"] == "asked twice"
    assert after["records"][world.activity][1]["lead"] == world.old
    assert set(rows_of(deployed, TaskRow, world.old)) >= set(new_tasks)
    assert rows_of(deployed, TaskRow, world.new) == []
    assert world.old == after["instances"][[i[0] for i in after["instances"]].index(new_instance)][1]
    assert live_record_ids(deployed, new_instance) == {world.old}
    assert [r[1] for r in after["reminders"]] == [world.old]
    assert [o[1] for o in after["outbox"]] == [world.old]
    assert [k for k in after["keys"] if k[0] == world.new] == []
    assert {p[0]: p[1] for p in after["pairs"]} == {world.pair: "merged", world.side_pair: "merged"}
    links = {(f, t, k, fld) for f, t, k, fld, _ in after["links"]}
    assert (world.old, world.contact, "colleague", "") in links
    assert not any(world.new in (f, t) for f, t, _, _ in links)  # the merged record has no links left
    assert not any(f == t for f, t, _, _ in links)
    assert sum(1 for f, t, k, _ in links if (f, t, k) == (world.old, world.contact, "colleague")) == 1
    assert world.new not in {r.id for r in records.list_records(deployed(), head, "Lead")}

    history = records.record_history(deployed(), head, world.old)
    assert [(c.field, c.new_value) for c in history if c.source == f"merge #{merge_id}"] == [
        ("email", "ivan@example.com"), ("budget", "150000"), ("description", "asked twice")]
    from_new = [c for c in history if c.origin_id == world.new]
    assert ("budget", "100000", "150000") not in [(c.field, c.old_value, c.new_value) for c in from_new]
    assert ("budget", None, "150000") in [(c.field, c.old_value, c.new_value) for c in from_new]
    assert {c.origin_id for c in history} == {None, world.new}
    assert [c.source for c in records.record_history(deployed(), head, world.activity) if c.field == "lead"] == [
        "create", f"merge #{merge_id}"]
    facts = record_merges(deployed(), head, world.new)
    assert (facts.merged_into_id, facts.merged_by.id) == (world.old, merge_id)
    assert [m.id for m in record_merges(deployed(), head, world.old).merges] == [merge_id]

    undo_merge(deployed(), head, merge_id, LATER)
    assert snapshot(deployed, world) == before
    assert live_record_ids(deployed, new_instance) == {world.new}
    assert [c.source for c in records.record_history(deployed(), head, world.old) if c.field == "email"] == [
        f"merge #{merge_id}", f"undo merge #{merge_id}"]
    assert all(c.origin_id is None for c in records.record_history(deployed(), head, world.old))
    with deployed() as uow:
        log = uow.session.get(MergeLogRow, merge_id)
        assert (log.undone_at, log.undone_by) == (LATER, "hank")
    with pytest.raises(ConflictError, match="already undone"):
        undo_merge(deployed(), head, merge_id, LATER)


def test_a_merged_instance_keeps_working_on_the_survivor(deployed: MakeUow, actors) -> None:
    head, sam = actors["head"], actors["sales"]
    world = build(deployed, actors)
    [moved_task] = rows_of(deployed, TaskRow, world.new)
    merge_records(deployed(), head, world.old, world.new, {}, LATER, pair_id=world.pair)
    pooled = [t for t in tasks.list_tasks(deployed(), sam, "pool") if t.record_id == world.old]
    assert moved_task in {t.id for t in pooled}
    assert len(pooled) == 2
    tasks.complete_task(deployed(), sam, moved_task, {"outcome": "convert"}, LATER)
    [meeting] = [t for t in tasks.list_tasks(deployed(), sam, "mine") if t.element_id == "arrange_meeting"]
    assert meeting.record_id == world.old
    assert records.get_record(deployed(), head, world.old).data["status"] != "new"  # the step wrote the survivor
    assert records.get_record(deployed(), head, world.new).data["status"] == "new"


@pytest.mark.parametrize("who", ["auditor", "sales", "designer"])
def test_only_the_head_of_sales_and_admins_merge(deployed: MakeUow, actors, who: str) -> None:
    world = build(deployed, actors)
    with pytest.raises(Forbidden):
        merge_records(deployed(), actors[who], world.old, world.new, {}, LATER)
    merge_id = merge_records(deployed(), actors["admin"], world.old, world.new, {}, LATER)
    with pytest.raises(Forbidden):
        undo_merge(deployed(), actors[who], merge_id, LATER)


def test_merge_refusals(deployed: MakeUow, actors) -> None:
    head = actors["head"]
    world = build(deployed, actors)
    with pytest.raises(ValidationError, match="only records of one entity"):
        merge_records(deployed(), head, world.old, world.contact, {}, LATER)
    with pytest.raises(ValidationError, match="itself"):
        merge_records(deployed(), head, world.old, world.old, {}, LATER)
    with pytest.raises(ValidationError) as err:
        merge_records(deployed(), head, world.old, world.new, {"nope": "merged", "title": "both"}, LATER)
    assert set(err.value.errors) == {"choices.nope", "choices.title"}
    with pytest.raises(ValidationError, match="pair"):
        merge_records(deployed(), head, world.old, world.other, {}, LATER, pair_id=world.pair)
    with deployed() as uow:
        revision = uow.records.get(world.new).revision
    records.update_record(deployed(), head, world.new, {"budget": "1"}, LATER)
    with pytest.raises(ConflictError, match="changed by someone else"):
        merge_records(deployed(), head, world.old, world.new, {}, LATER, expected_revisions={world.new: revision})
    merge_id = merge_records(deployed(), head, world.old, world.new, {}, LATER, pair_id=world.pair)
    with pytest.raises(ConflictError, match="already merged"):
        merge_records(deployed(), head, world.other, world.new, {}, LATER)
    third = add_pair(deployed, world.old, world.other)
    dismiss_pair(deployed(), head, third, LATER)
    with pytest.raises(ConflictError, match="already decided"):
        merge_records(deployed(), head, world.other, world.old, {}, LATER, pair_id=third)
    merge_records(deployed(), head, world.other, world.old, {}, LATER)  # the survivor goes on into another
    with pytest.raises(ConflictError, match="undo that merge first"):
        undo_merge(deployed(), head, merge_id, LATER)
    history = records.record_history(deployed(), head, world.other)
    assert {c.origin_id for c in history} == {None, world.old, world.new}  # merged twice over
    with pytest.raises(NotFound):
        undo_merge(deployed(), head, 9999, LATER)


def test_a_record_the_head_cannot_see_is_not_found(deployed: MakeUow, actors) -> None:
    world = build(deployed, actors)
    stranger = records.create_record(deployed(), actors["admin"], "Lead", {"title": "Ivan"}, NOW,
                                     owner_id=actors["admin"].id).id
    with pytest.raises(NotFound):
        merge_records(deployed(), actors["head"], world.old, stranger, {}, LATER)


def test_a_pair_marked_related_links_the_records_and_leaves_the_open_queue(deployed: MakeUow, actors) -> None:
    head, sam, sue = actors["head"], actors["sales"], actors["sales2"]
    world = build(deployed, actors)
    assert [p.id for p in list_pairs(deployed(), head)] == [world.pair, world.side_pair]  # highest score first
    assert [p.id for p in list_pairs(deployed(), sam, entity="Lead")] == [world.pair, world.side_pair]
    assert list_pairs(deployed(), sue) == []  # not her records
    with pytest.raises(ValidationError, match="relationship"):
        mark_related(deployed(), head, world.pair, "enemy", LATER)
    with pytest.raises(Forbidden):
        mark_related(deployed(), actors["auditor"], world.pair, None, LATER)
    view = mark_related(deployed(), sam, world.pair, "same_household", LATER)  # sam owns both
    assert (view.status, view.decided_at, view.decided_by) == ("related", LATER, "sam")
    outgoing = record_links(deployed(), head, world.old).outgoing
    assert [(link.record_id, link.kind) for link in outgoing if link.kind == "same_household"] == [(world.new,
                                                                                                   "same_household")]
    with pytest.raises(ConflictError, match="already decided"):
        dismiss_pair(deployed(), head, world.pair, LATER)
    assert [p.id for p in list_pairs(deployed(), head)] == [world.side_pair]
    assert [p.id for p in list_pairs(deployed(), head, status="decided")] == [world.pair]
    dismissed = dismiss_pair(deployed(), head, world.side_pair, LATER)
    assert (dismissed.status, dismissed.decided_by) == ("dismissed", "hank")
    assert list_pairs(deployed(), head) == []


def test_compare_defaults_keep_the_survivors_values_and_fill_its_blanks(deployed: MakeUow, actors) -> None:
    world = build(deployed, actors)
    detail = get_pair(deployed(), actors["head"], world.pair)
    assert (detail.a.id, detail.b.id) == (world.old, world.new)
    assert detail.defaults["email"] == "b"  # only the newer lead has one: it fills the survivor's blank
    assert detail.defaults["budget"] == "a"  # both have one: the survivor's stays, however recent the other's
    assert detail.defaults["title"] == "a"
    assert detail.defaults["phone"] == "a"
    assert detail.attached_b["process_instance"] == 1
    assert detail.attached_b["reminder"] == 1
    assert detail.attached_b["record_link"] >= 4
    assert detail.can_merge
    assert detail.can_decide
    auditor_view = get_pair(deployed(), actors["auditor"], world.pair)
    assert not auditor_view.can_merge
    assert not auditor_view.can_decide
    with pytest.raises(Forbidden):
        get_pair(deployed(), actors["designer"], world.pair)
    assert get_pair(deployed(), actors["sales2"], world.pair).can_decide is False  # sees them (her pool), owns none
