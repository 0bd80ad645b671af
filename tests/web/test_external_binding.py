"""A Camunda connector and a Java class bound to a topic in processes/bindings.yaml become external tasks that a
worker fetches and completes over /engine-rest, exactly as `camunda:type="external"`."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask

from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.web.external_rest import Worker, start, worker_token

BOUND_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs_topic" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="bound_topics" name="Bound topics" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="charge_card" />
    <bpmn:serviceTask id="charge_card" name="Charge card" camunda:class="com.example.ChargeCard" />
    <bpmn:sequenceFlow id="f2" sourceRef="charge_card" targetRef="notify" />
    <bpmn:serviceTask id="notify" name="Notify">
      <bpmn:extensionElements>
        <camunda:connector>
          <camunda:connectorId>mail-send</camunda:connectorId>
        </camunda:connector>
      </bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="f3" sourceRef="notify" targetRef="done" />
    <bpmn:endEvent id="done" />
  </bpmn:process>
</bpmn:definitions>
"""

BINDINGS = """bindings:
  com.example.ChargeCard: {topic: charge}
  mail-send:
    topic: notify
"""


@pytest.fixture
def bundle_files(bundle_files: dict[str, str]) -> dict[str, str]:
    return {**bundle_files, "processes/bound_topics.bpmn": BOUND_BPMN, "processes/bindings.yaml": BINDINGS}


@pytest.fixture
def worker(api_app: Flask, deployed: Callable[[], UnitOfWork]) -> Worker:
    return Worker(api_app, worker_token(deployed))


def test_tasks_bound_to_topics_are_fetched_and_completed_over_engine_rest(
    worker: Worker, deployed: Callable[[], UnitOfWork], actors: dict[str, Actor]
) -> None:
    instance_id = start(deployed, actors["sales"], "bound_topics")

    (charge,) = worker.fetch("w1", "charge")
    assert (charge["activityId"], charge["processInstanceId"]) == ("charge_card", str(instance_id))
    completed = worker.post(
        f"/external-task/{charge['id']}/complete",
        {"workerId": "w1", "variables": {"paid": {"value": True, "type": "Boolean"}}},
    )
    assert completed.status_code == 204, completed.get_json()

    (notify,) = worker.fetch("w1", "notify")
    assert notify["activityId"] == "notify"
    assert notify["variables"]["paid"]["value"] is True
    assert worker.post(f"/external-task/{notify['id']}/complete", {"workerId": "w1"}).status_code == 204
    with deployed() as uow:
        row = uow.instances.get(instance_id)
        assert row is not None
        assert row.status == "completed"
