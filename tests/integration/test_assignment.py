"""Routing and assignment: a DMN picks the team, the balance picks the member; mass reassignment; a leaver's work."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from engine.errors import ConflictError, Forbidden, ValidationError
from engine.services.assignment import reassign_records, reassign_tasks, redistribute_user
from engine.services.deployments import deploy_bundle
from engine.services.records import create_record
from engine.services.users import create_user, get_actor
from engine.services.views import Actor
from engine.store.models import FieldChangeRow, InstanceEventRow, TaskRow, UserRow
from engine.store.uow import UnitOfWork
from tests.conftest import NOW, PASSWORD

MakeUow = Callable[[], UnitOfWork]
SETUP = Actor(id=None, username="setup", display_name="setup", roles=frozenset({"designer", "admin"}))
TEAM = {"sales": ("nick", "nora", "ned"), "head_of_sales": ("hugo",)}
OTHERS = {"sales": ("sid",), "head_of_sales": ("saul",)}

DMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d_routing" name="Routing"
             namespace="http://camunda.org/schema/1.0/dmn">
  <decision id="lead_routing" name="Lead routing">
    <decisionTable id="t_routing" hitPolicy="UNIQUE">
      <input id="i_region" label="Region"><inputExpression id="e_region"><text>region</text></inputExpression></input>
      <output id="o_team" label="Team" name="team" />
      <output id="o_skill" label="Skill" name="skill" />
      <rule id="r_north"><inputEntry id="r1i"><text>"north"</text></inputEntry>
        <outputEntry id="r1o"><text>"north"</text></outputEntry>
        <outputEntry id="r1s"><text>"b2b"</text></outputEntry></rule>
      <rule id="r_south"><inputEntry id="r2i"><text>"south"</text></inputEntry>
        <outputEntry id="r2o"><text>"south"</text></outputEntry>
        <outputEntry id="r2s"><text></text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>
"""


def _bpmn(balance: str) -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d_{balance}" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="route_{balance}" name="Route {balance}" isExecutable="true">
    <bpmn:extensionElements><camunda:properties>
      <camunda:property name="flowcrm.entity" value="Inquiry" />
      <camunda:property name="flowcrm.startOn" value="create" />
    </camunda:properties></bpmn:extensionElements>
    <bpmn:startEvent id="start_{balance}"><bpmn:outgoing>f1_{balance}</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1_{balance}" sourceRef="start_{balance}" targetRef="call_{balance}" />
    <bpmn:userTask id="call_{balance}" name="Call {balance}" camunda:candidateGroups="sales">
      <bpmn:extensionElements><camunda:properties>
        <camunda:property name="flowcrm.routing" value="lead_routing" />
        <camunda:property name="flowcrm.balance" value="{balance}" />
      </camunda:properties></bpmn:extensionElements>
      <bpmn:incoming>f1_{balance}</bpmn:incoming><bpmn:outgoing>f2_{balance}</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f2_{balance}" sourceRef="call_{balance}" targetRef="end_{balance}" />
    <bpmn:endEvent id="end_{balance}"><bpmn:incoming>f2_{balance}</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""


def _label(text: str) -> dict[str, str]:
    return {"en": text, "ru": text}


def bundle(*balances: str) -> dict[str, str]:
    """A small bundle: an Inquiry entity, the routing decision and one routed process per balance strategy."""
    entity = {"entity": "Inquiry", "label": _label("Inquiry"), "title_field": "title", "fields": {
        "title": {"type": "string", "required": True, "label": _label("Title")},
        "region": {"type": "string", "label": _label("Region")}}}
    files = {
        "crm_model/settings.yaml": json.dumps({"default_locale": "en", "locales": ["en", "ru"],
                                               "teams": ["north", "south"]}),
        "crm_model/entities/inquiry.yaml": json.dumps(entity),
        "processes/lead_routing.dmn": DMN,
    }
    files.update({f"processes/route_{b}.bpmn": _bpmn(b) for b in balances})
    return files


def setup(make_uow: MakeUow, *balances: str) -> dict[str, Actor]:
    """Deploy the bundle and make the north team (3 sellers + head), a south team and an admin."""
    deploy_bundle(make_uow(), SETUP, bundle(*balances), NOW)
    people = {}
    for team, members in (("north", TEAM), ("south", OTHERS)):
        for role, names in members.items():
            for name in names:
                view = create_user(make_uow(), name, PASSWORD, [role], NOW, team=team)
                people[name] = get_actor(make_uow(), view.id)
    view = create_user(make_uow(), "ada", PASSWORD, ["admin"], NOW)
    people["ada"] = get_actor(make_uow(), view.id)
    return people


def new_inquiry(make_uow: MakeUow, actor: Actor, region: str = "north", owner: Actor | None = None) -> int:
    data = {"title": f"From {region}", "region": region}
    return create_record(make_uow(), actor, "Inquiry", data, NOW, owner_id=owner.id if owner else None).id


def open_tasks(make_uow: MakeUow) -> list[tuple[str, str, str | None]]:
    """(id, candidate groups, assignee username) of every open task, oldest first."""
    with make_uow() as uow:
        names = {u.id: u.username for u in uow.session.query(UserRow).all()}
        rows = uow.session.query(TaskRow).filter(TaskRow.state == "open").order_by(TaskRow.created_at, TaskRow.id)
        return [(t.id, t.candidate_groups, names.get(t.assignee_id) if t.assignee_id else None) for t in rows]


def assignees(make_uow: MakeUow) -> Counter[str | None]:
    return Counter(who for _, _, who in open_tasks(make_uow))


def events(make_uow: MakeUow, kind: str) -> list[dict[str, Any]]:
    with make_uow() as uow:
        rows = uow.session.query(InstanceEventRow).filter(InstanceEventRow.kind == kind).order_by(InstanceEventRow.id)
        return [dict(r.data or {}) for r in rows]


def test_round_robin_spreads_six_tasks_two_each_over_three_sellers_and_the_head(make_uow: MakeUow) -> None:
    people = setup(make_uow, "round_robin")
    for _ in range(8):
        new_inquiry(make_uow, people["hugo"])
    assert assignees(make_uow) == {"nick": 2, "nora": 2, "ned": 2, "hugo": 2}
    first = events(make_uow, "assigned")[0]
    assert first == {"team": "north", "strategy": "round_robin", "user": "nick", "skill": "b2b"}


def test_round_robin_over_three_users_gives_two_each(make_uow: MakeUow) -> None:
    people = setup(make_uow, "round_robin")
    with make_uow() as uow:
        hugo = uow.users.by_username("hugo")
        assert hugo is not None
        hugo.active = False
        uow.commit()
    for _ in range(6):
        new_inquiry(make_uow, people["nick"])
    assert assignees(make_uow) == {"nick": 2, "nora": 2, "ned": 2}


def test_fewest_open_picks_the_least_loaded_member(make_uow: MakeUow) -> None:
    people = setup(make_uow, "fewest_open")
    with make_uow() as uow:
        hugo = uow.users.by_username("hugo")
        assert hugo is not None
        hugo.active = False
        uow.commit()
    for _ in range(3):
        new_inquiry(make_uow, people["nick"])  # all equal: the lowest id first, so one each
    assert assignees(make_uow) == {"nick": 1, "nora": 1, "ned": 1}
    (neds,) = [i for i, _, who in open_tasks(make_uow) if who == "ned"]
    reassign_tasks(make_uow(), people["ada"], [neds], "nick", NOW)
    new_inquiry(make_uow, people["nick"])
    assert assignees(make_uow) == {"nick": 2, "nora": 1, "ned": 1}
    new_inquiry(make_uow, people["nick"])
    assert assignees(make_uow) == {"nick": 2, "nora": 2, "ned": 1}
    assert [e["user"] for e in events(make_uow, "assigned")] == ["nick", "nora", "ned", "ned", "nora"]


def test_pool_puts_the_task_in_the_routed_teams_pool(make_uow: MakeUow) -> None:
    people = setup(make_uow, "pool")
    new_inquiry(make_uow, people["sid"], region="south")
    ((_, groups, who),) = open_tasks(make_uow)
    assert (groups, who) == ("south", None)
    assert events(make_uow, "assigned") == [{"team": "south", "strategy": "pool", "user": None}]


def test_a_region_no_rule_matches_stays_in_the_bpmn_pool(make_uow: MakeUow) -> None:
    people = setup(make_uow, "round_robin")
    new_inquiry(make_uow, people["nick"], region="east")
    ((_, groups, who),) = open_tasks(make_uow)
    assert (groups, who) == ("sales", None)


def test_concurrent_round_robin_assignments_never_serve_one_member_twice_in_a_row(make_uow: MakeUow) -> None:
    people = setup(make_uow, "round_robin")
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def work() -> None:
        try:
            barrier.wait()
            for _ in range(4):
                try:
                    new_inquiry(make_uow, people["nick"])
                except ConflictError:  # SQLite may refuse a writer that lost the lock; the caller retries
                    new_inquiry(make_uow, people["nick"])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert assignees(make_uow) == {"nick": 2, "nora": 2, "ned": 2, "hugo": 2}
    order = [e["user"] for e in events(make_uow, "assigned")]
    assert order == ["nick", "nora", "ned", "hugo"] * 2


def test_mass_reassign_is_all_or_nothing_and_lists_the_bad_ids(make_uow: MakeUow) -> None:
    people = setup(make_uow, "round_robin")
    for _ in range(4):
        new_inquiry(make_uow, people["nick"])
    new_inquiry(make_uow, people["sid"], region="south")
    north = [i for i, groups, _ in open_tasks(make_uow) if groups == "north"]
    south = [i for i, groups, _ in open_tasks(make_uow) if groups == "south"]
    with pytest.raises(ValidationError) as caught:
        reassign_tasks(make_uow(), people["hugo"], [*north, *south, "nope"], "nora", NOW)
    assert "nope" in str(caught.value.errors["task_ids"])
    assert south[0] in str(caught.value.errors["task_ids"])
    assert assignees(make_uow) == {"nick": 1, "nora": 1, "ned": 1, "hugo": 1, "sid": 1}  # nothing moved
    with pytest.raises(ValidationError, match="not in your team"):
        reassign_tasks(make_uow(), people["hugo"], north, "sid", NOW)
    with pytest.raises(Forbidden):
        reassign_tasks(make_uow(), people["nick"], north, "nora", NOW)
    result = reassign_tasks(make_uow(), people["hugo"], north, "nora", NOW)
    assert set(result.task_ids) == set(north)
    assert assignees(make_uow) == {"nora": 4, "sid": 1}
    moved = events(make_uow, "reassigned")
    assert sorted(e["from"] for e in moved) == ["hugo", "ned", "nick", "nora"]
    assert {e["to"] for e in moved} == {"nora"}
    reassign_tasks(make_uow(), people["ada"], south, "ned", NOW)  # the admin reaches every team
    with pytest.raises(ValidationError, match="at most 500"):
        reassign_tasks(make_uow(), people["ada"], [str(i) for i in range(501)], "ned", NOW)


def test_mass_reassign_of_records_writes_owner_history(make_uow: MakeUow) -> None:
    people = setup(make_uow, "pool")
    ids = [new_inquiry(make_uow, people["nick"], owner=people["nick"]) for _ in range(3)]
    result = reassign_records(make_uow(), people["hugo"], ids, "nora", NOW)
    assert result.record_ids == tuple(ids)
    with make_uow() as uow:
        owners = {r.owner_id for r in uow.records.by_ids(ids).values()}
        assert owners == {people["nora"].id}
        changes = uow.session.query(FieldChangeRow).filter(FieldChangeRow.field == "owner",
                                                           FieldChangeRow.source == "reassign").all()
        assert sorted((c.record_id, c.old_value, c.new_value) for c in changes) == [
            (i, "nick", "nora") for i in ids]


def test_a_leaver_is_deactivated_and_their_work_spread_over_the_team(make_uow: MakeUow) -> None:
    people = setup(make_uow, "round_robin")
    for _ in range(8):
        new_inquiry(make_uow, people["nick"])
    owned = [new_inquiry(make_uow, people["nick"], region="east", owner=people["ned"]) for _ in range(3)]
    tasks = [i for i, groups, _ in open_tasks(make_uow) if groups == "north"]
    reassign_tasks(make_uow(), people["hugo"], tasks[:5], "ned", NOW)  # ned now has 5 or 6 open tasks
    before = assignees(make_uow)
    result = redistribute_user(make_uow(), people["ada"], "ned", NOW)
    assert result.to == ("hugo", "nick", "nora")
    after = assignees(make_uow)
    assert "ned" not in after
    assert sum(after.values()) == sum(before.values())
    gained = [after[n] - before.get(n, 0) for n in ("nick", "nora", "hugo")]
    assert sum(gained) == before["ned"]
    assert max(gained) - min(gained) <= 1  # round-robin: evenly
    assert {e["reason"] for e in events(make_uow, "reassigned") if "reason" in e} == {"ned left"}
    assert after[None] == 3  # the unrouted east inquiries stay in the BPMN pool
    with make_uow() as uow:
        ned = uow.users.by_username("ned")
        assert ned is not None
        assert not ned.active
        owners = sorted(r.owner_id or 0 for r in uow.records.by_ids(owned).values())
        assert owners == sorted(people[n].id or 0 for n in ("nick", "nora", "hugo"))
        changes = uow.session.query(FieldChangeRow).filter(FieldChangeRow.field == "owner",
                                                           FieldChangeRow.source.like("redistribute%")).all()
        assert sorted(c.record_id for c in changes) == owned
        assert {c.old_value for c in changes} == {"ned"}
    new_inquiry(make_uow, people["nick"])  # routing skips the leaver
    assert events(make_uow, "assigned")[-1]["user"] != "ned"


def test_redistributing_the_last_member_of_a_team_is_refused(make_uow: MakeUow) -> None:
    people = setup(make_uow, "pool")
    redistribute_user(make_uow(), people["ada"], "sid", NOW)
    with pytest.raises(ConflictError, match="no one is left"):
        redistribute_user(make_uow(), people["ada"], "saul", NOW)
    with make_uow() as uow:
        saul = uow.users.by_username("saul")
        assert saul is not None
        assert saul.active
