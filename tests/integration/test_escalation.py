"""BPMN timers through the services: the untouched-lead escalation in working hours, and ISO 8601 durations,
dates and cycles on boundary events, fired by `fire_due(now=...)` with the wall clock moved by time_machine."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import time_machine

from engine.services import deployments, instances, records, tasks
from engine.services.timers import fire_due
from engine.services.views import Actor
from engine.store.models import TimerRow
from engine.store.uow import UnitOfWork

MakeUow = Callable[[], UnitOfWork]
FRIDAY_EVENING = datetime(2026, 3, 6, 14, 0, tzinfo=UTC)  # 17:00 in Moscow, one working hour left
MONDAY_NOON = datetime(2026, 3, 9, 9, 0, 1, tzinfo=UTC)  # just past 12:00 in Moscow: 1 h Friday + 3 h Monday


def new_lead(make_uow: MakeUow, actor: Actor, at: datetime) -> int:
    with time_machine.travel(at, tick=False):
        data = {"title": "20 laptops", "phone": "+7 912 345-67-89"}
        return records.create_record(make_uow(), actor, "Lead", data, at).id


def open_tasks(make_uow: MakeUow, actor: Actor, record_id: int) -> list[str]:
    return sorted(t.element_id for t in tasks.list_tasks(make_uow(), actor, "all") if t.record_id == record_id)


def fire(make_uow: MakeUow, at: datetime) -> int:
    """Fire due timers with the wall clock at `at` (SpiffWorkflow fires a timer once its time has passed)."""
    with time_machine.travel(at, tick=False):
        return fire_due(make_uow(), at)


def test_a_lead_untouched_for_four_working_hours_escalates_to_the_head_of_sales(deployed: MakeUow,
                                                                                actors: dict) -> None:
    head, admin = actors["head"], actors["admin"]
    lead_id = new_lead(deployed, head, FRIDAY_EVENING)

    assert fire(deployed, MONDAY_NOON - timedelta(seconds=2)) == 0  # the weekend does not count
    assert fire(deployed, MONDAY_NOON) == 1
    assert fire(deployed, MONDAY_NOON) == 0  # fired once, never twice

    assert open_tasks(deployed, admin, lead_id) == ["follow_up_untouched", "qualify_lead"]  # not interrupted
    [escalation] = [t for t in tasks.list_tasks(deployed(), head, "pool") if t.record_id == lead_id
                    and t.element_id == "follow_up_untouched"]
    assert escalation.title == "Untouched lead: follow up"
    assert escalation.candidate_groups == ("head_of_sales",)
    assert not any(t.element_id == "follow_up_untouched" for t in tasks.list_tasks(deployed(), actors["sales"],
                                                                                    "pool"))
    tasks.complete_task(deployed(), head, escalation.id, {}, MONDAY_NOON)
    assert open_tasks(deployed, admin, lead_id) == ["qualify_lead"]


def test_a_lead_qualified_in_time_never_escalates(deployed: MakeUow, actors: dict) -> None:
    sam = actors["sales"]
    lead_id = new_lead(deployed, actors["head"], FRIDAY_EVENING)
    [task] = [t for t in tasks.list_tasks(deployed(), sam, "pool") if t.record_id == lead_id]
    tasks.complete_task(deployed(), sam, task.id, {"outcome": "convert"}, FRIDAY_EVENING)

    assert fire(deployed, MONDAY_NOON + timedelta(days=7)) == 0
    assert open_tasks(deployed, actors["admin"], lead_id) == ["arrange_meeting"]


def test_timers_due_while_no_worker_ran_fire_when_one_starts(deployed: MakeUow, actors: dict) -> None:
    first = new_lead(deployed, actors["head"], FRIDAY_EVENING)
    second = new_lead(deployed, actors["head"], FRIDAY_EVENING + timedelta(minutes=5))
    assert fire(deployed, MONDAY_NOON + timedelta(days=3)) == 2
    for lead_id in (first, second):
        assert open_tasks(deployed, actors["admin"], lead_id) == ["follow_up_untouched", "qualify_lead"]


CALLBACK = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
                  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
                  id="Definitions_callback" targetNamespace="http://flowcrm.example/bpmn">
  <bpmn:process id="callback" name="Call the client" isExecutable="true">
    <bpmn:extensionElements><camunda:properties>
      <camunda:property name="flowcrm.entity" value="Lead" />
    </camunda:properties></bpmn:extensionElements>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="call_client" />
    <bpmn:userTask id="call_client" name="Call the client" camunda:candidateGroups="sales">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="call_client" targetRef="called" />
    <bpmn:endEvent id="called"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:boundaryEvent id="in_two_days" cancelActivity="false" attachedToRef="call_client">
      <bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"P2D"</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f3" sourceRef="in_two_days" targetRef="call_back" />
    <bpmn:userTask id="call_back" name="Call back" camunda:candidateGroups="sales">
      <bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f4" sourceRef="call_back" targetRef="called_back" />
    <bpmn:endEvent id="called_back"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:boundaryEvent id="hourly" cancelActivity="false" attachedToRef="call_client">
      <bpmn:outgoing>f5</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeCycle xsi:type="bpmn:tFormalExpression">"R2/PT1H"</bpmn:timeCycle>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f5" sourceRef="hourly" targetRef="nudge" />
    <bpmn:userTask id="nudge" name="Nudge" camunda:candidateGroups="sales">
      <bpmn:incoming>f5</bpmn:incoming><bpmn:outgoing>f6</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f6" sourceRef="nudge" targetRef="nudged" />
    <bpmn:endEvent id="nudged"><bpmn:incoming>f6</bpmn:incoming></bpmn:endEvent>
    <bpmn:boundaryEvent id="deadline" attachedToRef="call_client">
      <bpmn:outgoing>f7</bpmn:outgoing>
      <bpmn:timerEventDefinition>
        <bpmn:timeDate xsi:type="bpmn:tFormalExpression">"2026-03-10T12:00:00+03:00"</bpmn:timeDate>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f7" sourceRef="deadline" targetRef="expired" />
    <bpmn:endEvent id="expired"><bpmn:incoming>f7</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""
MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_durations_cycles_and_dates_on_boundary_timers(deployed: MakeUow, actors: dict,
                                                       bundle_files: dict[str, str]) -> None:
    deployments.deploy_bundle(deployed(), actors["designer"], {**bundle_files, "processes/callback.bpmn": CALLBACK},
                              MONDAY)
    lead_id = new_lead(deployed, actors["head"], MONDAY)
    admin, sam = actors["admin"], actors["sales"]
    [qualify] = [t for t in tasks.list_tasks(deployed(), sam, "pool") if t.record_id == lead_id]
    tasks.complete_task(deployed(), sam, qualify.id, {"outcome": "convert"}, MONDAY)  # its escalation is gone
    with time_machine.travel(MONDAY, tick=False):
        instance = instances.start_process(deployed(), actors["sales"], "callback", lead_id, MONDAY)

    def mine() -> list[str]:
        return sorted(t.element_id for t in tasks.list_tasks(deployed(), admin, "all")
                      if t.instance_id == instance.id)

    assert fire(deployed, MONDAY + timedelta(minutes=59)) == 0
    assert fire(deployed, MONDAY + timedelta(hours=1, seconds=1)) == 1  # the cycle's first repetition
    assert mine() == ["call_client", "nudge"]
    assert fire(deployed, MONDAY + timedelta(hours=2, seconds=1)) == 1  # and its second, the last of R2
    assert mine() == ["call_client", "nudge", "nudge"]
    fire(deployed, MONDAY + timedelta(hours=30))  # SpiffWorkflow closes the spent cycle on its next wake-up...
    assert mine() == ["call_client", "nudge", "nudge"]  # ...without a third nudge
    assert fire(deployed, MONDAY + timedelta(hours=31)) == 0

    assert fire(deployed, MONDAY + timedelta(days=2, seconds=1)) == 1  # "P2D": call back, the call stays open
    assert mine() == ["call_back", "call_client", "nudge", "nudge"]

    deadline = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)  # 12:00 Moscow time, written with its offset
    assert fire(deployed, deadline - timedelta(seconds=1)) == 0
    assert fire(deployed, deadline + timedelta(seconds=1)) == 1  # interrupting: the call is over, the side tasks stay
    assert mine() == ["call_back", "nudge", "nudge"]
    steps = instances.get_instance(deployed(), admin, instance.id).steps
    assert "expired" in [s.element_id for s in steps]


def test_a_timer_row_its_workflow_does_not_wait_on_is_dropped_when_it_comes_due(deployed: MakeUow,
                                                                                 actors: dict) -> None:
    lead_id = new_lead(deployed, actors["head"], MONDAY)
    with deployed() as uow:  # written by hand (or by an older engine): no waiting task of the workflow matches it
        (instance,) = uow.instances.for_record(lead_id)
        uow.timers.add(TimerRow(instance_id=instance.id, task_id="no-such-task", element_id="ghost",
                                due_at=MONDAY + timedelta(minutes=5)))
        uow.commit()
    assert fire(deployed, MONDAY + timedelta(minutes=6)) == 1
    with deployed() as uow:
        assert [t.element_id for t in uow.timers.pending_for_instance(instance.id)] == ["lead_untouched"]
    assert fire(deployed, MONDAY + timedelta(minutes=7)) == 0  # gone, not woken again on every tick
