"""Helpers for the /engine-rest tests: a bundle with external-task processes, a worker client, starting instances."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from werkzeug.test import TestResponse

from engine.services.instances import start_process
from engine.services.users import create_user, issue_api_token
from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.conftest import NOW, PASSWORD

ENGINE_REST = "/engine-rest"

CHARGE_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs_charge" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:error id="Error_declined" name="Card declined" errorCode="CARD_DECLINED" />
  <bpmn:process id="external_charge" name="Charge a card" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="charge_card" />
    <bpmn:serviceTask id="charge_card" name="Charge card" camunda:type="external" camunda:topic="charge"
      camunda:taskPriority="5" />
    <bpmn:sequenceFlow id="f2" sourceRef="charge_card" targetRef="paid" />
    <bpmn:endEvent id="paid" />
    <bpmn:boundaryEvent id="declined" attachedToRef="charge_card">
      <bpmn:errorEventDefinition errorRef="Error_declined" />
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f3" sourceRef="declined" targetRef="not_paid" />
    <bpmn:endEvent id="not_paid" />
  </bpmn:process>
  <bpmn:process id="external_ship" name="Ship" isExecutable="true">
    <bpmn:startEvent id="ship_start" />
    <bpmn:sequenceFlow id="s1" sourceRef="ship_start" targetRef="ship" />
    <bpmn:serviceTask id="ship" name="Ship" camunda:type="external" camunda:topic="ship" />
    <bpmn:sequenceFlow id="s2" sourceRef="ship" targetRef="shipped" />
    <bpmn:endEvent id="shipped" />
  </bpmn:process>
</bpmn:definitions>
"""


class Worker:
    """A client of /engine-rest with a bearer token (a user of role `worker`)."""

    def __init__(self, app: Flask, token: str) -> None:
        self.client = app.test_client()
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, path: str, **params: Any) -> TestResponse:
        """GET a path under /engine-rest."""
        return self.client.get(ENGINE_REST + path, headers=self.headers, query_string=params)

    def post(self, path: str, body: Any = None) -> TestResponse:
        """POST a JSON body under /engine-rest."""
        return self.client.post(ENGINE_REST + path, headers=self.headers, json=body)

    def fetch(
        self, worker_id: str, topic: str = "charge", *, lock_ms: int = 60_000, max_tasks: int = 10, **extra: Any
    ) -> list[dict[str, Any]]:
        """fetchAndLock one topic; fails the test on anything but 200."""
        topic_body = {"topicName": topic, "lockDuration": lock_ms, **extra.pop("topic_filters", {})}
        response = self.post(
            "/external-task/fetchAndLock",
            {"workerId": worker_id, "maxTasks": max_tasks, "topics": [topic_body], **extra},
        )
        assert response.status_code == 200, response.get_json()
        tasks: list[dict[str, Any]] = response.get_json()
        return tasks


def worker_token(make_uow: Callable[[], UnitOfWork], username: str = "robot") -> str:
    """A user of role worker (a service account) and an API token for it."""
    from engine.services.users import get_actor

    user = create_user(make_uow(), username, PASSWORD, ["worker"], NOW)
    return issue_api_token(make_uow(), get_actor(make_uow(), user.id), NOW)


def start(make_uow: Callable[[], UnitOfWork], who: Actor, process_id: str = "external_charge") -> int:
    """Start a process without a record; its instance id."""
    return start_process(make_uow(), who, process_id, None, NOW).id


MESSAGE_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs_msg" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:message id="Msg_paid" name="payment_received" />
  <bpmn:message id="Msg_order" name="order_placed" />
  <bpmn:signal id="Sig_close" name="close_all" />
  <bpmn:process id="await_signal" name="Await signal" isExecutable="true">
    <bpmn:startEvent id="signal_start" />
    <bpmn:sequenceFlow id="g1" sourceRef="signal_start" targetRef="wait_close" />
    <bpmn:intermediateCatchEvent id="wait_close">
      <bpmn:signalEventDefinition signalRef="Sig_close" />
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="g2" sourceRef="wait_close" targetRef="signal_end" />
    <bpmn:endEvent id="signal_end" />
  </bpmn:process>
  <bpmn:process id="await_payment" name="Await payment" isExecutable="true">
    <bpmn:startEvent id="await_start" />
    <bpmn:sequenceFlow id="a1" sourceRef="await_start" targetRef="wait_paid" />
    <bpmn:intermediateCatchEvent id="wait_paid">
      <bpmn:messageEventDefinition messageRef="Msg_paid" />
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="a2" sourceRef="wait_paid" targetRef="await_end" />
    <bpmn:endEvent id="await_end" />
  </bpmn:process>
  <bpmn:process id="order_by_message" name="Order by message" isExecutable="true">
    <bpmn:startEvent id="order_start">
      <bpmn:messageEventDefinition messageRef="Msg_order" />
    </bpmn:startEvent>
    <bpmn:sequenceFlow id="o1" sourceRef="order_start" targetRef="ship_order" />
    <bpmn:serviceTask id="ship_order" name="Ship order" camunda:type="external" camunda:topic="ship_order" />
    <bpmn:sequenceFlow id="o2" sourceRef="ship_order" targetRef="order_end" />
    <bpmn:endEvent id="order_end" />
  </bpmn:process>
</bpmn:definitions>
"""
