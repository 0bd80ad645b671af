"""POST /engine-rest/signal starts every deployed process whose own start event catches the signal (Camunda's
signal start event), with the signal's variables; an event subprocess's signal start does not start its process."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import select

from engine.services.instances import load_runtime
from engine.store.models import InstanceRow
from engine.store.uow import UnitOfWork
from tests.web.external_rest import Worker, worker_token

SIGNAL_START_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs_sig" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:signal id="Sig_alarm" name="alarm_raised" />
  <bpmn:process id="handle_alarm" name="Handle alarm" isExecutable="true">
    <bpmn:startEvent id="alarm_start">
      <bpmn:signalEventDefinition signalRef="Sig_alarm" />
    </bpmn:startEvent>
    <bpmn:sequenceFlow id="h1" sourceRef="alarm_start" targetRef="check_site" />
    <bpmn:userTask id="check_site" name="Check site" />
    <bpmn:sequenceFlow id="h2" sourceRef="check_site" targetRef="alarm_end" />
    <bpmn:endEvent id="alarm_end" />
  </bpmn:process>
  <bpmn:process id="log_alarm" name="Log alarm" isExecutable="true">
    <bpmn:startEvent id="log_start">
      <bpmn:signalEventDefinition signalRef="Sig_alarm" />
    </bpmn:startEvent>
    <bpmn:sequenceFlow id="l1" sourceRef="log_start" targetRef="log_end" />
    <bpmn:endEvent id="log_end" />
  </bpmn:process>
  <bpmn:process id="watch_site" name="Watch site" isExecutable="true">
    <bpmn:startEvent id="watch_start" />
    <bpmn:sequenceFlow id="w1" sourceRef="watch_start" targetRef="patrol" />
    <bpmn:userTask id="patrol" name="Patrol" />
    <bpmn:sequenceFlow id="w2" sourceRef="patrol" targetRef="watch_end" />
    <bpmn:endEvent id="watch_end" />
    <bpmn:subProcess id="on_alarm" triggeredByEvent="true">
      <bpmn:startEvent id="alarm_inside" isInterrupting="false">
        <bpmn:signalEventDefinition signalRef="Sig_alarm" />
      </bpmn:startEvent>
      <bpmn:sequenceFlow id="s1" sourceRef="alarm_inside" targetRef="inside_end" />
      <bpmn:endEvent id="inside_end" />
    </bpmn:subProcess>
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.fixture
def bundle_files(bundle_files: dict[str, str]) -> dict[str, str]:
    return {**bundle_files, "processes/signal_start.bpmn": SIGNAL_START_BPMN}


@pytest.fixture
def worker(api_app: Flask, deployed: Callable[[], UnitOfWork]) -> Worker:
    return Worker(api_app, worker_token(deployed))


def instances_of(make_uow: Callable[[], UnitOfWork], process_id: str) -> list[tuple[str, list[dict[str, object]]]]:
    """(status, data of each ready user task) of every instance of the process's newest version."""
    uow = make_uow()
    found = []
    with uow:
        [version] = [v for v in uow.config.latest_processes() if v.process_id == process_id]
        rows = uow.session.scalars(select(InstanceRow).where(InstanceRow.process_version_id == version.id))
        for row in rows:
            if row.status != "running":
                found.append((row.status, []))
                continue
            runtime = load_runtime(uow, row.id)[2]
            found.append((row.status, [runtime.task_data(t.task_id) for t in runtime.ready_user_tasks()]))
    return found


def test_a_signal_starts_each_process_whose_start_event_catches_it_with_its_variables(
    worker: Worker, deployed: Callable[[], UnitOfWork]
) -> None:
    response = worker.post("/signal", {"name": "alarm_raised", "variables": {"site": {"value": "north gate"}}})

    assert response.status_code == 204, response.get_json()
    [(status, [task_data])] = instances_of(deployed, "handle_alarm")
    assert status == "running"
    assert task_data["site"] == "north gate"
    assert [status for status, _ in instances_of(deployed, "log_alarm")] == ["completed"]
    assert instances_of(deployed, "watch_site") == []  # an event subprocess's signal start starts nothing


def test_each_signal_starts_a_new_instance_and_a_running_one_is_not_signalled_twice(
    worker: Worker, deployed: Callable[[], UnitOfWork]
) -> None:
    for _ in range(2):
        assert worker.post("/signal", {"name": "alarm_raised"}).status_code == 204

    assert [status for status, _ in instances_of(deployed, "handle_alarm")] == ["running", "running"]
    uow = deployed()
    with uow:
        [version] = [v for v in uow.config.latest_processes() if v.process_id == "handle_alarm"]
        ids = [row.id for row in uow.instances.running_of_versions([version.id])]
        received = [len([e for e in uow.history.events(i) if e.kind == "signal_received"]) for i in ids]
    assert received == [1, 1]
