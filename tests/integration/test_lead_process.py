"""The lead qualification process end to end through the services, on every backend."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
import time_machine

from engine.config.loader import read_bundle_dir
from engine.errors import ConflictError, Forbidden, NotFound, ValidationError
from engine.services import deployments, instances, records, tasks
from engine.services.timers import fire_due
from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.conftest import NOW, ROOT

MakeUow = Callable[[], UnitOfWork]


def new_lead(make_uow: MakeUow, actor: Actor, title: str = "20 laptops") -> int:
    return records.create_record(make_uow(), actor, "Lead", {"title": title, "phone": "+7 912 345-67-89"}, NOW).id


def pooled_task(make_uow: MakeUow, actor: Actor, record_id: int) -> str:
    return next(t.id for t in tasks.list_tasks(make_uow(), actor, "pool") if t.record_id == record_id)


def count_rows(make_uow: MakeUow) -> dict[str, int]:
    from sqlalchemy import func, select

    from engine.store.models import Base

    with make_uow() as uow:
        return {t.name: uow.session.scalar(select(func.count()).select_from(t)) or 0
                for t in Base.metadata.sorted_tables}


def test_new_lead_lands_in_sales_pool_and_moves_on_after_qualification(deployed: MakeUow, actors: dict) -> None:
    sam, head = actors["sales"], actors["head"]
    lead_id = new_lead(deployed, head)
    task_id = pooled_task(deployed, sam, lead_id)

    claimed = tasks.claim_task(deployed(), sam, task_id, NOW)
    assert claimed.assignee == "sam"
    assert tasks.list_tasks(deployed(), sam, "pool") == []
    tasks.complete_task(deployed(), sam, task_id, {"outcome": "convert", "budget": "5000"}, NOW)

    mine = tasks.list_tasks(deployed(), sam, "mine")
    assert [t.element_id for t in mine] == ["arrange_meeting"]
    assert mine[0].due_at == NOW + timedelta(days=2)
    lead = records.get_record(deployed(), sam, lead_id)
    assert lead.data["status"] == "qualified"
    assert lead.data["budget"] == "5000"
    assert lead.owner == "sam"
    history = {(c.field, c.new_value): c for c in records.record_history(deployed(), sam, lead_id)}
    assert history[("status", "qualified")].actor == "process"
    assert history[("budget", "5000")].actor == "sam"

    steps = instances.get_instance(deployed(), actors["auditor"], mine[0].instance_id).steps
    completed = [s for s in steps if s.kind == "task_completed"]
    assert [(s.actor, s.element_id, s.data) for s in completed] == [
        ("sam", "qualify_lead", {"outcome": "convert", "budget": "5000"})]
    assert [s.element_id for s in steps if s.kind == "step"] == ["lead_received", "outcome_gateway"]


def test_disqualifying_needs_a_reason_and_ends_the_process(deployed: MakeUow, actors: dict) -> None:
    sam = actors["sales"]
    lead_id = new_lead(deployed, actors["head"])
    task_id = pooled_task(deployed, sam, lead_id)
    before = count_rows(deployed)
    with pytest.raises(ValidationError) as err:
        tasks.complete_task(deployed(), sam, task_id, {"outcome": "disqualify"}, NOW)
    assert "disqualify_reason" in err.value.errors
    assert count_rows(deployed) == before

    tasks.complete_task(deployed(), sam, task_id, {"outcome": "disqualify", "disqualify_reason": "no_budget"}, NOW)
    instance = instances.instances_for_record(deployed(), sam, lead_id)[0]
    assert instance.status == "completed"
    assert records.get_record(deployed(), sam, lead_id).data["status"] == "disqualified"


def test_wrong_type_in_form_is_rejected_per_field(deployed: MakeUow, actors: dict) -> None:
    sam = actors["sales"]
    task_id = pooled_task(deployed, sam, new_lead(deployed, actors["head"]))
    with pytest.raises(ValidationError) as err:
        tasks.complete_task(deployed(), sam, task_id, {"outcome": "maybe", "budget": "lots"}, NOW)
    assert set(err.value.errors) >= {"outcome", "budget"}


def test_second_completion_of_same_task_gets_conflict(deployed: MakeUow, actors: dict) -> None:
    sam = actors["sales"]
    task_id = pooled_task(deployed, sam, new_lead(deployed, actors["head"]))
    tasks.complete_task(deployed(), sam, task_id, {"outcome": "convert"}, NOW)
    with pytest.raises(ConflictError):
        tasks.complete_task(deployed(), sam, task_id, {"outcome": "convert"}, NOW)


def test_unknown_task_is_not_found(deployed: MakeUow, actors: dict) -> None:
    with pytest.raises(NotFound):
        tasks.complete_task(deployed(), actors["sales"], "no-such-task", {}, NOW)


def test_two_simultaneous_completions_exactly_one_wins(deployed: MakeUow, actors: dict) -> None:
    sam, sue = actors["sales"], actors["sales2"]
    lead_id = new_lead(deployed, actors["head"])
    task_id = pooled_task(deployed, sam, lead_id)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def submit(actor: Actor) -> None:
        barrier.wait()
        try:
            tasks.complete_task(deployed(), actor, task_id, {"outcome": "convert"}, NOW)
            outcomes.append("ok")
        except ConflictError:
            outcomes.append("conflict")

    threads = [threading.Thread(target=submit, args=(a,)) for a in (sam, sue)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict", "ok"]
    instance_id = instances.instances_for_record(deployed(), actors["admin"], lead_id)[0].id
    steps = instances.get_instance(deployed(), actors["admin"], instance_id).steps
    assert len([s for s in steps if s.kind == "task_completed"]) == 1
    assert len(tasks.list_tasks(deployed(), actors["admin"], "all")) == 1


def test_claim_race_has_one_winner(deployed: MakeUow, actors: dict) -> None:
    sam, sue = actors["sales"], actors["sales2"]
    task_id = pooled_task(deployed, sam, new_lead(deployed, actors["head"]))
    barrier = threading.Barrier(2)
    winners: list[str] = []

    def claim(actor: Actor) -> None:
        barrier.wait()
        with contextlib.suppress(ConflictError):
            winners.append(tasks.claim_task(deployed(), actor, task_id, NOW).assignee or "")

    threads = [threading.Thread(target=claim, args=(a,)) for a in (sam, sue)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1


def test_auditor_reads_but_cannot_claim_or_complete(deployed: MakeUow, actors: dict) -> None:
    auditor = actors["auditor"]
    lead_id = new_lead(deployed, actors["head"])
    task_id = pooled_task(deployed, actors["sales"], lead_id)
    assert records.get_record(deployed(), auditor, lead_id).id == lead_id
    with pytest.raises(Forbidden):
        tasks.claim_task(deployed(), auditor, task_id, NOW)
    with pytest.raises(Forbidden):
        tasks.complete_task(deployed(), auditor, task_id, {"outcome": "convert"}, NOW)
    with pytest.raises(Forbidden):
        records.create_record(deployed(), auditor, "Lead", {"title": "x"}, NOW)


def test_salesperson_does_not_see_a_colleagues_records(deployed: MakeUow, actors: dict) -> None:
    sam, sue = actors["sales"], actors["sales2"]
    lead_id = new_lead(deployed, actors["head"])
    task_id = pooled_task(deployed, sam, lead_id)
    tasks.claim_task(deployed(), sam, task_id, NOW)
    with pytest.raises(NotFound):
        records.get_record(deployed(), sue, lead_id)
    assert [r.id for r in records.list_records(deployed(), sam, "Lead")] == [lead_id]
    assert records.list_records(deployed(), sue, "Lead") == []
    assert [r.id for r in records.list_records(deployed(), actors["head"], "Lead")] == [lead_id]


def test_nurtured_lead_returns_to_pool_when_its_timer_fires(deployed: MakeUow, actors: dict) -> None:
    sam = actors["sales"]
    lead_id = new_lead(deployed, actors["head"])
    with time_machine.travel(NOW, tick=False):
        tasks.complete_task(deployed(), sam, pooled_task(deployed, sam, lead_id), {"outcome": "nurture"}, NOW)
    assert fire_due(deployed(), NOW + timedelta(days=29)) == 0
    later = NOW + timedelta(days=31)
    with time_machine.travel(later, tick=False):
        assert fire_due(deployed(), later) == 1
        assert fire_due(deployed(), later) == 0  # fired once, never twice
    task_id = pooled_task(deployed, sam, lead_id)
    assert tasks.get_task(deployed(), sam, task_id).task.element_id == "qualify_lead"
    assert records.get_record(deployed(), actors["head"], lead_id).data["status"] == "nurturing"


def test_redeploying_a_changed_process_makes_a_version_and_running_instances_stay(
        deployed: MakeUow, actors: dict, bundle_files: dict[str, str]) -> None:
    sam, designer = actors["sales"], actors["designer"]
    old_lead = new_lead(deployed, actors["head"], "old")
    same = deployments.deploy_bundle(deployed(), designer, bundle_files, NOW)
    assert same.new_versions == []
    assert "lead_qualification" in same.unchanged

    changed = dict(bundle_files)
    changed["processes/lead_qualification.bpmn"] = changed["processes/lead_qualification.bpmn"].replace(
        'name="Arrange first meeting"', 'name="Book the first meeting"')
    report = deployments.deploy_bundle(deployed(), designer, changed, NOW)
    assert [v.version for v in report.new_versions] == [2]
    new_lead_id = new_lead(deployed, actors["head"], "new")

    tasks.complete_task(deployed(), sam, pooled_task(deployed, sam, old_lead), {"outcome": "convert"}, NOW)
    tasks.complete_task(deployed(), sam, pooled_task(deployed, sam, new_lead_id), {"outcome": "convert"}, NOW)
    titles = {t.record_id: t.title for t in tasks.list_tasks(deployed(), sam, "mine")}
    assert titles == {old_lead: "Arrange first meeting", new_lead_id: "Book the first meeting"}
    versions = {(v.version, v.running) for v in deployments.list_process_versions(deployed(), designer)
                if v.process_id == "lead_qualification"}
    assert versions == {(1, 1), (2, 1)}


def test_a_broken_deploy_changes_nothing(deployed: MakeUow, actors: dict, bundle_files: dict[str, str]) -> None:
    broken = dict(bundle_files)
    broken["processes/lead_qualification.bpmn"] = broken["processes/lead_qualification.bpmn"][:-40]
    before = count_rows(deployed)
    from engine.errors import ConfigError

    with pytest.raises(ConfigError) as err:
        deployments.deploy_bundle(deployed(), actors["designer"], broken, NOW)
    assert err.value.problems[0].file == "processes/lead_qualification.bpmn"
    assert err.value.problems[0].line is not None
    assert count_rows(deployed) == before


def test_repository_bundle_has_no_problems() -> None:
    assert deployments.check_bundle(read_bundle_dir(ROOT)) == []


def test_an_assigned_task_cannot_be_given_back_to_a_pool_it_never_had(deployed: MakeUow, actors: dict) -> None:
    sam = actors["sales"]
    task_id = pooled_task(deployed, sam, new_lead(deployed, actors["head"]))
    tasks.complete_task(deployed(), sam, task_id, {"outcome": "convert"}, NOW)
    meeting = tasks.list_tasks(deployed(), sam, "mine")[0]
    assert tasks.get_task(deployed(), sam, meeting.id).can_unclaim is False
    with pytest.raises(ConflictError):
        tasks.unclaim_task(deployed(), sam, meeting.id, NOW)
