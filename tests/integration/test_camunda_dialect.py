"""A BPMN saved by Camunda Modeler in the Camunda 7 dialect, with a DMN table, runs as is on every backend."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from engine.config.loader import read_bundle_dir
from engine.errors import Forbidden
from engine.processes import sandbox
from engine.services import deployments, instances, records, tasks
from engine.services.views import Actor
from engine.store.models import TaskRow
from engine.store.uow import UnitOfWork
from tests.conftest import NOW, ROOT

MakeUow = Callable[[], UnitOfWork]
BUNDLE = ROOT / "tests" / "fixtures" / "camunda_bundle"
MANAGER_DUE = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)  # camunda:dueDate="2026-03-10T18:00:00+03:00"


@pytest.fixture
def bundle_files() -> dict[str, str]:
    """The Camunda Modeler bundle instead of the shipped CRM, for `deployed` and `actors`."""
    return read_bundle_dir(BUNDLE)


def new_deal(make_uow: MakeUow, actor: Actor, amount: str, *, start: bool = True) -> int:
    data = {"title": f"Deal worth {amount}", "amount": amount}
    return records.create_record(make_uow(), actor, "Deal", data, NOW, start_processes=start).id


def instance_of(make_uow: MakeUow, record_id: int) -> int:
    with make_uow() as uow:
        [row] = uow.instances.for_record(record_id)
        return row.id


def task_rows(make_uow: MakeUow, instance_id: int) -> dict[str, dict[str, Any]]:
    """The task table rows of an instance by element id, with the assignee as a user name."""
    with make_uow() as uow:
        rows: list[TaskRow] = uow.tasks.for_instance(instance_id)
        users = uow.users.by_ids(r.assignee_id for r in rows if r.assignee_id)
        return {r.spec_name: {
            "id": r.id, "form_key": r.form_key, "lane": r.lane, "candidate_groups": r.candidate_groups,
            "candidate_users": r.candidate_users, "assignee": users[r.assignee_id].username if r.assignee_id else None,
            "state": r.state, "due_at": r.due_at, "completed_by": r.completed_by,
        } for r in rows}


def stage_changes(make_uow: MakeUow, auditor: Actor, record_id: int) -> list[tuple[str, Any, Any, str, str]]:
    return [(c.field, c.old_value, c.new_value, c.actor, c.source)
            for c in records.record_history(make_uow(), auditor, record_id) if c.field in ("stage", "approved_by")]


def review(make_uow: MakeUow, actors: dict[str, Actor], amount: str) -> tuple[int, int]:
    """Create a deal, have sam review it with `amount`; returns (record id, instance id)."""
    deal_id = new_deal(make_uow, actors["sales"], "10")
    instance_id = instance_of(make_uow, deal_id)
    task_id = task_rows(make_uow, instance_id)["review_deal"]["id"]
    tasks.complete_task(make_uow(), actors["sales"], task_id, {"amount": amount, "note": "checked"}, NOW)
    return deal_id, instance_id


def test_deploy_reads_the_camunda_bundle(deployed: MakeUow, actors: dict[str, Actor]) -> None:
    [version] = deployments.list_process_versions(deployed(), actors["designer"])
    assert (version.process_id, version.name, version.version) == ("deal_approval", "Deal approval", 1)
    assert (version.file, version.entity, version.start_on) == ("processes/deal_approval.bpmn", "Deal", "create")


def test_candidate_groups_users_and_duration_due_date_fill_the_task_row(
        deployed: MakeUow, actors: dict[str, Actor]) -> None:
    instance_id = instance_of(deployed, new_deal(deployed, actors["sales"], "10"))

    rows = task_rows(deployed, instance_id)

    assert list(rows) == ["review_deal"]
    row = rows["review_deal"]
    assert (row["form_key"], row["lane"], row["state"]) == ("review_deal", "sales", "open")
    assert row["candidate_groups"] == "sales"  # camunda:candidateGroups wins over the lane
    assert row["candidate_users"] == "sue,hank"  # "sue, hank" in the XML
    assert row["assignee"] is None
    assert row["due_at"] == NOW + timedelta(hours=2)  # camunda:dueDate="PT2H" from task creation
    for who in ("sales", "sales2", "head"):  # sam by group, sue by group and name, hank by name
        assert [t.element_id for t in tasks.list_tasks(deployed(), actors[who], "pool")] == ["review_deal"]


def test_start_process_service_runs_the_camunda_process(deployed: MakeUow, actors: dict[str, Actor]) -> None:
    deal_id = new_deal(deployed, actors["head"], "10", start=False)
    with deployed() as uow:
        assert uow.instances.for_record(deal_id) == []

    view = instances.start_process(deployed(), actors["head"], "deal_approval", deal_id, NOW)

    assert (view.process_id, view.status, view.record_id) == ("deal_approval", "running", deal_id)
    assert list(task_rows(deployed, view.id)) == ["review_deal"]


def test_large_deal_goes_to_the_manager_lane_by_the_decision_table(
        deployed: MakeUow, actors: dict[str, Actor], monkeypatch: pytest.MonkeyPatch) -> None:
    scripts: list[str] = []
    real_execute = sandbox.execute

    def spy(script: str, names: dict[str, Any], **kwargs: Any) -> None:
        scripts.append(script)
        real_execute(script, names, **kwargs)

    monkeypatch.setattr(sandbox, "execute", spy)

    deal_id, instance_id = review(deployed, actors, "1500")

    assert len(scripts) == 1
    assert scripts[0].startswith("amount = float(")  # the script task ran through the sandbox
    steps = instances.get_instance(deployed(), actors["auditor"], instance_id).steps
    assert [s.element_id for s in steps if s.kind == "step"] == [
        "StartEvent_deal_created", "score_deal", "decide_approval", "Gateway_approval"]
    rows = task_rows(deployed, instance_id)
    assert rows["review_deal"]["state"] == "completed"
    manager = rows["manager_approval"]
    assert manager["lane"] == "head_of_sales"
    assert manager["candidate_groups"] == "head_of_sales"  # no candidateGroups: the lane name
    assert (manager["candidate_users"], manager["assignee"]) == ("", None)
    assert manager["due_at"] == MANAGER_DUE  # absolute camunda:dueDate with offset
    assert "confirm_terms" not in rows
    with pytest.raises(Forbidden):  # sam is not in the lane's group
        tasks.complete_task(deployed(), actors["sales"], manager["id"], {"decision": "approve"}, NOW)

    tasks.complete_task(deployed(), actors["head"], manager["id"], {"decision": "approve"}, NOW)

    sign = task_rows(deployed, instance_id)["sign_contract"]
    assert sign["assignee"] == "sam"  # camunda:assignee="${review_deal_completed_by}"
    assert (sign["candidate_groups"], sign["candidate_users"], sign["due_at"]) == ("", "", None)
    assert [t.element_id for t in tasks.list_tasks(deployed(), actors["sales"], "mine")] == ["sign_contract"]
    tasks.complete_task(deployed(), actors["sales"], sign["id"], {}, NOW)

    assert instances.get_instance(deployed(), actors["auditor"], instance_id).instance.status == "completed"
    deal = records.get_record(deployed(), actors["auditor"], deal_id)
    assert (deal.data["amount"], deal.data["stage"], deal.data["approved_by"]) == ("1500", "signed", "hank")
    source = "process deal_approval v1 / "
    assert stage_changes(deployed, actors["auditor"], deal_id) == [
        ("stage", None, "new", "sam", "create"),
        ("stage", "new", "approval", "process", source + "review_deal"),
        ("stage", "approval", "approved", "process", source + "manager_approval"),
        ("approved_by", None, "hank", "process", source + "manager_approval"),
        ("stage", "approved", "signed", "process", source + "sign_contract"),
    ]


def test_small_deal_skips_the_manager_by_the_decision_table(deployed: MakeUow, actors: dict[str, Actor]) -> None:
    deal_id, instance_id = review(deployed, actors, "500")

    rows = task_rows(deployed, instance_id)
    assert "manager_approval" not in rows
    confirm = rows["confirm_terms"]
    assert confirm["assignee"] == "hank"  # literal camunda:assignee; no lane fallback for an assigned task
    assert (confirm["candidate_groups"], confirm["candidate_users"]) == ("", "")
    assert confirm["due_at"] == NOW + timedelta(days=1)
    assert [t.element_id for t in tasks.list_tasks(deployed(), actors["head"], "mine")] == ["confirm_terms"]
    assert tasks.list_tasks(deployed(), actors["sales2"], "pool") == []

    tasks.complete_task(deployed(), actors["head"], confirm["id"], {}, NOW)
    sign = task_rows(deployed, instance_id)["sign_contract"]
    assert sign["assignee"] == "sam"
    tasks.complete_task(deployed(), actors["sales"], sign["id"], {}, NOW)

    assert instances.get_instance(deployed(), actors["auditor"], instance_id).instance.status == "completed"
    assert [(f, old, new) for f, old, new, _, _ in stage_changes(deployed, actors["auditor"], deal_id)] == [
        ("stage", None, "new"), ("stage", "new", "approval"), ("stage", "approval", "approved"),
        ("stage", "approved", "signed")]


def test_manager_rejection_ends_the_process_without_a_contract(deployed: MakeUow, actors: dict[str, Actor]) -> None:
    deal_id, instance_id = review(deployed, actors, "250000")
    manager = task_rows(deployed, instance_id)["manager_approval"]

    tasks.complete_task(deployed(), actors["head"], manager["id"], {"decision": "reject"}, NOW)

    rows = task_rows(deployed, instance_id)
    assert set(rows) == {"review_deal", "manager_approval"}
    assert rows["manager_approval"]["completed_by"] == "hank"
    detail = instances.get_instance(deployed(), actors["auditor"], instance_id)
    assert detail.instance.status == "completed"
    assert [s.element_id for s in detail.steps if s.kind == "step"][-2:] == ["Gateway_decision", "EndEvent_rejected"]
    deal = records.get_record(deployed(), actors["auditor"], deal_id)
    assert (deal.data["stage"], deal.data["approved_by"]) == ("rejected", "hank")
