"""Rules at run time (docs/rules.md) through the services, on every backend: triggers, aggregates, actions,
cascades, rollback and scheduled runs."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest

from engine.config.automation import Action
from engine.rules.actions import run_actions
from engine.rules.expressions import RuleError
from engine.services import instances, links, mail, records, rules, tasks
from engine.services.views import Actor, FieldChangeView
from engine.store.models import TaskRow
from tests.conftest import NOW
from tests.integration.rules_bundle import MakeUow, deploy, make_people, rule

STATUS_BY_DEALS = rule(
    "status_by_deals", "Contact",
    [{"linked_changed": {"entity": "Deal", "via": "client", "fields": ["stage"]}},
     {"linked_created": {"entity": "Deal", "via": "client"}}],
    [{"compute": {"status": "'permanent' if won >= 3 else ('periodic' if won == 2 else 'one_time')",
                  "revenue": "won_amount", "last_won_on": "last_won"}}],
    let={"won": {"count": "Deal", "via": "client", "where": "stage == 'won'"},
         "won_amount": {"sum": "amount", "of": "Deal", "via": "client", "where": "stage == 'won'"},
         "last_won": {"max": "closed_on", "of": "Deal", "via": "client", "where": "stage == 'won'"}},
    when="won >= 1")


@pytest.fixture
def people(make_uow: MakeUow) -> dict[str, Actor]:
    deploy(make_uow)
    return make_people(make_uow)


def create(make_uow: MakeUow, actor: Actor, entity: str, data: dict[str, Any], *, owned: bool = True) -> int:
    return records.create_record(make_uow(), actor, entity, data, NOW, owner_id=actor.id if owned else None).id


def data_of(make_uow: MakeUow, actor: Actor, record_id: int) -> dict[str, Any]:
    return records.get_record(make_uow(), actor, record_id).data


def changes(make_uow: MakeUow, actor: Actor, record_id: int, field: str) -> list[FieldChangeView]:
    return [c for c in records.record_history(make_uow(), actor, record_id) if c.field == field]


def count_rows(make_uow: MakeUow) -> dict[str, int]:
    from sqlalchemy import func, select

    from engine.store.models import Base

    with make_uow() as uow:
        return {t.name: uow.session.scalar(select(func.count()).select_from(t)) or 0
                for t in Base.metadata.sorted_tables}


def test_client_status_follows_the_count_of_won_deals(make_uow: MakeUow, people: dict[str, Actor]) -> None:
    sam, ada = people["sales"], people["admin"]
    deploy(make_uow, STATUS_BY_DEALS)
    ann = create(make_uow, sam, "Contact", {"full_name": "Ann"})
    bob = create(make_uow, sam, "Contact", {"full_name": "Bob"})
    first = create(make_uow, sam, "Deal", {"title": "d1", "client": ann, "stage": "new", "amount": "0.10"})
    assert "status" not in data_of(make_uow, ada, ann)

    records.update_record(make_uow(), sam, first, {"stage": "won", "closed_on": "2026-01-10"}, NOW)
    assert data_of(make_uow, ada, ann)["status"] == "one_time"
    create(make_uow, sam, "Deal", {"title": "d2", "client": ann, "stage": "won", "amount": "0.20",
                                   "closed_on": "2026-02-01"})
    third = create(make_uow, sam, "Deal", {"title": "d3", "client": ann, "stage": "won", "amount": "1",
                                           "closed_on": "2025-12-31"})

    ann_data = data_of(make_uow, ada, ann)
    assert (ann_data["status"], ann_data["revenue"], ann_data["last_won_on"]) == ("permanent", "1.30", "2026-02-01")
    status = changes(make_uow, ada, ann, "status")
    assert [(c.new_value, c.source, c.actor) for c in status] == [
        ("one_time", "rule status_by_deals", "rule"), ("periodic", "rule status_by_deals", "rule"),
        ("permanent", "rule status_by_deals", "rule")]

    # moving a deal to another client re-evaluates the client it left as well as the one it joined
    records.update_record(make_uow(), sam, third, {"client": bob}, NOW)
    assert data_of(make_uow, ada, ann)["status"] == "periodic"
    assert data_of(make_uow, ada, bob)["status"] == "one_time"


def test_probable_client_with_an_inbound_activity_becomes_potential(make_uow: MakeUow,
                                                                    people: dict[str, Actor]) -> None:
    sam, ada = people["sales"], people["admin"]
    deploy(make_uow, rule("probable_calls_in", "Contact",
                          [{"linked_created": {"entity": "Activity", "via": "contact"}}],
                          [{"set": {"status": "potential"}}],
                          when="linked['direction'] == 'inbound' and status == 'probable'"))
    called_out = create(make_uow, sam, "Contact", {"full_name": "Out", "status": "probable"})
    calling_in = create(make_uow, sam, "Contact", {"full_name": "In", "status": "probable"})
    client = create(make_uow, sam, "Contact", {"full_name": "Client", "status": "client"})

    create(make_uow, sam, "Activity", {"subject": "we call", "contact": called_out, "direction": "outbound"})
    create(make_uow, sam, "Activity", {"subject": "they call", "contact": calling_in, "direction": "inbound"})
    create(make_uow, sam, "Activity", {"subject": "they call", "contact": client, "direction": "inbound"})

    assert data_of(make_uow, ada, called_out)["status"] == "probable"
    assert data_of(make_uow, ada, client)["status"] == "client"
    assert data_of(make_uow, ada, calling_in)["status"] == "potential"
    [change] = changes(make_uow, ada, calling_in, "status")[1:]
    assert (change.old_value, change.source) == ("probable", "rule probable_calls_in")


ROBOT = rule("unreachable_contact", "Contact", ["created", {"changed": ["phone", "email"]}],
             [{"create_task": {"title": "Add a phone or e-mail", "assignee": "owner", "candidate_groups": ["sales"],
                               "due": "P2D"}}],
             when="not phone and not email")


def test_data_quality_robot_gives_the_owner_one_task(make_uow: MakeUow, people: dict[str, Actor]) -> None:
    sam, sue, ada = people["sales"], people["sales2"], people["admin"]
    deploy(make_uow, ROBOT)
    mute = create(make_uow, sam, "Contact", {"full_name": "Mute"})
    create(make_uow, sam, "Contact", {"full_name": "Reachable", "phone": "+7 912 345-67-89"})

    [task] = tasks.list_tasks(make_uow(), sam, "mine")
    assert (task.record_id, task.title, task.assignee, task.instance_id) == (mute, "Add a phone or e-mail", "sam",
                                                                               None)
    assert task.due_at == NOW + timedelta(days=2)
    records.update_record(make_uow(), sam, mute, {"email": "mute@example.com"}, NOW)
    records.update_record(make_uow(), sam, mute, {"email": None, "notes": "lost the address"}, NOW)
    assert [t.id for t in tasks.list_tasks(make_uow(), sam, "mine")] == [task.id]  # no pile of duplicates

    orphan = create(make_uow, ada, "Contact", {"full_name": "Orphan"}, owned=False)
    pooled = [t for t in tasks.list_tasks(make_uow(), sue, "pool") if t.record_id == orphan]
    assert [(t.assignee, t.candidate_groups) for t in pooled] == [(None, ("sales",))]


def test_territory_membership_follows_the_region(make_uow: MakeUow, people: dict[str, Actor]) -> None:
    sam, ada = people["sales"], people["admin"]
    north = create(make_uow, ada, "Territory", {"code": "NORTH", "name": "North", "manager": "hank"}, owned=False)
    deploy(make_uow,
           rule("territory_north", "Contact", ["created", {"changed": ["region"]}], [{"join_territory": "NORTH"}],
                when="region == 'north'", otherwise=[{"leave_territory": "NORTH"}]),
           rule("owner_assigned", "Contact", [{"changed": ["owner"]}], [{"set": {"status": "assigned"}}]))

    contact = create(make_uow, ada, "Contact", {"full_name": "Nora", "region": "north"}, owned=False)
    view = records.get_record(make_uow(), ada, contact)
    assert (view.owner, view.data["status"]) == ("hank", "assigned")
    [link] = links.record_links(make_uow(), ada, contact).outgoing
    assert (link.record_id, link.kind, link.field) == (north, "territory", None)
    [joined] = changes(make_uow, ada, contact, "link:territory")
    assert (joined.old_value, joined.new_value, joined.source) == (None, north, "rule territory_north")
    assert [(c.new_value, c.source) for c in changes(make_uow, ada, contact, "owner")] == [
        ("hank", "rule territory_north")]

    records.update_record(make_uow(), ada, contact, {"region": "south"}, NOW)
    assert links.record_links(make_uow(), ada, contact).outgoing == []
    left = changes(make_uow, ada, contact, "link:territory")[-1]
    assert (left.old_value, left.new_value) == (north, None)
    assert records.get_record(make_uow(), ada, contact).owner == "hank"  # leaving keeps the owner

    mine = create(make_uow, sam, "Contact", {"full_name": "Sam's", "region": "north"})
    assert records.get_record(make_uow(), ada, mine).owner == "sam"
    incoming = links.record_links(make_uow(), ada, north).incoming
    assert [(i.record_id, i.kind) for i in incoming] == [(mine, "territory")]


def step_rules(count: int) -> list[tuple[str, str]]:
    return [rule(f"step{i}", "Step", [{"changed": [f"f{i - 1}"]}], [{"compute": {f"f{i}": f"f{i - 1} + 1"}}])
            for i in range(1, count + 1)]


def test_a_cascade_of_more_than_eight_rules_stops_and_writes_nothing(make_uow: MakeUow,
                                                                     people: dict[str, Actor]) -> None:
    ada = people["admin"]
    deploy(make_uow, *step_rules(9))
    step = create(make_uow, ada, "Step", {"title": "s"}, owned=False)

    records.update_record(make_uow(), ada, step, {"f1": 1}, NOW)  # step2..step9: eight rules
    assert data_of(make_uow, ada, step)["f9"] == 9

    before = count_rows(make_uow)
    with pytest.raises(RuleError) as error:
        records.update_record(make_uow(), ada, step, {"f0": 10}, NOW)  # step1..step9: nine rules
    assert " → ".join(f"rule step{i}" for i in range(1, 10)) in str(error.value)
    assert error.value.rule == "step9"
    assert count_rows(make_uow) == before
    assert "f0" not in data_of(make_uow, ada, step)


def test_a_failing_action_rolls_back_the_whole_create(make_uow: MakeUow, people: dict[str, Actor]) -> None:
    sam = people["sales"]
    deploy(make_uow, rule("welcome_broken", "Contact", ["created"], [
        {"set": {"status": "new"}}, {"start_process": "follow_up"},
        {"create_task": {"title": "Say hello", "assignee": "ghost"}}]))
    before = count_rows(make_uow)
    with pytest.raises(RuleError) as error:
        create(make_uow, sam, "Contact", {"full_name": "Never"})
    assert "welcome_broken" in str(error.value)
    assert "ghost" in str(error.value)
    assert count_rows(make_uow) == before


def test_actions_queue_mail_start_a_process_and_create_an_origin_linked_record(make_uow: MakeUow,
                                                                               people: dict[str, Actor]) -> None:
    sam, ada = people["sales"], people["admin"]
    deploy(make_uow,
           rule("welcome", "Contact", ["created"], [
               {"send_email": {"template": "welcome", "to": "email"}}, {"start_process": "follow_up"},
               {"create_record": {"entity": "Deal", "set": {"stage": "new"},
                                  "compute": {"title": "'First deal of ' + full_name"}, "link": "origin"}}],
                when="email"),
           rule("notes_seen", "Contact", [{"changed": ["notes"]}], [{"set": {"status": "following_up"}}]))
    contact = create(make_uow, sam, "Contact", {"full_name": "Wendy", "email": "wendy@example.com"})

    [message] = mail.record_emails(make_uow(), ada, contact)
    assert (message.to_address, message.subject, message.status) == ("wendy@example.com", "Welcome, Wendy",
                                                                      "pending")
    [instance] = instances.instances_for_record(make_uow(), ada, contact)
    assert instance.process_id == "follow_up"
    contact_data = data_of(make_uow, ada, contact)  # set.notes of the process triggered the next rule
    assert (contact_data["notes"], contact_data["status"]) == ("follow-up started", "following_up")
    [origin] = links.record_links(make_uow(), ada, contact).incoming
    assert (origin.entity, origin.title, origin.kind) == ("Deal", "First deal of Wendy", "origin")
    deal = records.get_record(make_uow(), ada, origin.record_id)
    assert (deal.owner, deal.data["stage"]) == ("sam", "new")
    assert [c.new_value for c in changes(make_uow, ada, contact, "link:origin")] == [deal.id]


def test_process_steps_and_task_forms_that_change_fields_run_the_rules(make_uow: MakeUow,
                                                                      people: dict[str, Actor]) -> None:
    sam, ada = people["sales"], people["admin"]
    deploy(make_uow, rule("follow", "Contact", ["created"], [{"start_process": "follow_up"}]),
           rule("notes_seen", "Contact", [{"changed": ["notes"]}], [{"compute": {"score": "len(notes)"}}]))
    contact = create(make_uow, sam, "Contact", {"full_name": "Tess"})
    assert data_of(make_uow, ada, contact)["score"] == len("follow-up started")  # set.notes of the start event

    [task] = [t for t in tasks.list_tasks(make_uow(), sam, "pool") if t.record_id == contact]
    tasks.complete_task(make_uow(), sam, task.id, {"notes": "called, all fine"}, NOW)
    assert data_of(make_uow, ada, contact)["score"] == len("called, all fine")
    assert changes(make_uow, ada, contact, "score")[-1].source == "rule notes_seen"


SCORE = rule("nightly_score", "Contact", [{"schedule": "P1D"}], [{"compute": {"score": "(score or 0) + 1"}}])


def scores(make_uow: MakeUow, actor: Actor, ids: list[int]) -> list[Any]:
    return [data_of(make_uow, actor, i).get("score") for i in ids]


def test_scheduled_rule_runs_once_per_period(make_uow: MakeUow, people: dict[str, Actor],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    ada = people["admin"]
    monkeypatch.setattr(rules, "BATCH", 2)
    deploy(make_uow, SCORE)
    ids = [create(make_uow, ada, "Contact", {"full_name": f"c{i}"}, owned=False) for i in range(5)]

    assert rules.run_scheduled_rules(make_uow, NOW) == 1
    assert rules.run_scheduled_rules(make_uow(), NOW + timedelta(hours=23)) == 0
    assert scores(make_uow, ada, ids) == [1] * 5
    assert rules.run_scheduled_rules(make_uow, NOW + timedelta(days=1)) == 1
    assert scores(make_uow, ada, ids) == [2] * 5
    assert [c.source for c in changes(make_uow, ada, ids[0], "score")] == ["rule nightly_score"] * 2


def test_two_workers_run_a_due_scheduled_rule_once(make_uow: MakeUow, people: dict[str, Actor]) -> None:
    ada = people["admin"]
    deploy(make_uow, SCORE)
    ids = [create(make_uow, ada, "Contact", {"full_name": f"c{i}"}, owned=False) for i in range(3)]
    ran: list[int] = []
    start = threading.Barrier(2)

    def worker() -> None:
        start.wait()
        ran.append(rules.run_scheduled_rules(make_uow, NOW))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(ran) == [0, 1]
    assert scores(make_uow, ada, ids) == [1, 1, 1]


def test_a_record_failing_a_scheduled_rule_does_not_stop_the_others(make_uow: MakeUow, people: dict[str, Actor],
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    ada = people["admin"]
    deploy(make_uow, rule("ratio", "Contact", [{"schedule": "PT1H"}], [{"compute": {"score": "100 // score"}}]))
    ids = [create(make_uow, ada, "Contact", {"full_name": f"c{i}", "score": score}, owned=False)
           for i, score in enumerate([5, 0, 20])]
    assert rules.run_scheduled_rules(make_uow, NOW) == 1
    assert scores(make_uow, ada, ids) == [20, 0, 5]
    assert "ratio" in caplog.text


def test_standalone_rule_tasks_have_no_instance(make_uow: MakeUow, people: dict[str, Actor]) -> None:
    deploy(make_uow, ROBOT)
    contact = create(make_uow, people["sales"], "Contact", {"full_name": "Mute"})
    with make_uow() as uow:
        rows: list[TaskRow] = uow.tasks.for_record(contact)
        assert [(r.instance_id, r.spec_name, r.state) for r in rows] == [(None, "rule unreachable_contact", "open")]


def test_pipeline_actions_run_with_their_own_source(make_uow: MakeUow, people: dict[str, Actor]) -> None:
    sam, ada = people["sales"], people["admin"]
    contact = create(make_uow, sam, "Contact", {"full_name": "Pia", "score": 2})
    good = (Action("set", {"status": "offer"}), Action("compute", {"score": "score * 10"}))
    with make_uow() as uow:
        row = uow.records.get(contact)
        assert row is not None
        run_actions(uow, row, good, names=None, source="pipeline web / stage offer", actor=sam, now=NOW, depth=0)
        uow.commit()
    assert [(c.new_value, c.source, c.actor) for c in changes(make_uow, ada, contact, "score")][-1] == (
        20, "pipeline web / stage offer", "sam")

    with make_uow() as uow:
        row = uow.records.get(contact)
        assert row is not None
        with pytest.raises(RuleError) as error:
            run_actions(uow, row, (Action("compute", {"score": "score / 0"}),), names=None,
                        source="pipeline web / stage offer", actor=sam, now=NOW, depth=0)
    assert str(error.value).startswith("pipeline web / stage offer in 'score / 0': ZeroDivisionError")
