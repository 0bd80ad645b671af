"""POST /engine-rest/message: correlation by correlation keys, one instance or all, starting a process by its
message start event, and Camunda's MismatchingMessageCorrelationException."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask

from engine.store.uow import UnitOfWork
from tests.web.external_rest import MESSAGE_BPMN, Worker, worker_token


@pytest.fixture
def bundle_files(bundle_files: dict[str, str]) -> dict[str, str]:
    return {**bundle_files, "processes/external_messages.bpmn": MESSAGE_BPMN}


@pytest.fixture
def worker(api_app: Flask, deployed: Callable[[], UnitOfWork]) -> Worker:
    return Worker(api_app, worker_token(deployed))


def started(worker: Worker, order: str) -> str:
    response = worker.post(
        "/process-definition/key/await_payment/start", {"variables": {"order": {"value": order, "type": "String"}}}
    )
    assert response.status_code == 200, response.get_json()
    instance_id: str = response.get_json()["id"]
    return instance_id


def status(make_uow: Callable[[], UnitOfWork], instance_id: str) -> str:
    uow = make_uow()
    with uow:
        row = uow.instances.get(int(instance_id))
        assert row is not None
        return row.status


def test_a_message_reaches_the_one_instance_its_correlation_keys_match_and_all_reaches_every_one(
    worker: Worker, deployed: Callable[[], UnitOfWork]
) -> None:
    first, second = started(worker, "A-1"), started(worker, "B-2")

    ambiguous = worker.post("/message", {"messageName": "payment_received"})
    keyed = worker.post(
        "/message",
        {
            "messageName": "payment_received",
            "correlationKeys": {"order": {"value": "A-1", "type": "String"}},
            "processVariables": {"paid": {"value": True, "type": "Boolean"}},
            "resultEnabled": True,
        },
    )

    assert ambiguous.status_code == 400
    assert ambiguous.get_json()["type"] == "MismatchingMessageCorrelationException"
    assert "2 instances wait for it" in ambiguous.get_json()["message"]
    assert keyed.status_code == 200, keyed.get_json()
    (result,) = keyed.get_json()
    assert result["resultType"] == "Execution"
    assert result["execution"]["processInstanceId"] == first
    assert (status(deployed, first), status(deployed, second)) == ("completed", "running")
    assert worker.post("/message", {"messageName": "payment_received", "all": True}).status_code == 204
    assert status(deployed, second) == "completed"


def test_a_message_nobody_waits_for_starts_the_process_with_that_message_start_event(worker: Worker) -> None:
    response = worker.post(
        "/message",
        {
            "messageName": "order_placed",
            "processVariables": {"item": {"value": "lamp", "type": "String"}},
            "resultEnabled": True,
        },
    )

    assert response.status_code == 200, response.get_json()
    (result,) = response.get_json()
    assert result["resultType"] == "ProcessDefinition"
    assert result["processInstance"]["definitionId"] == "order_by_message:1"
    (task,) = worker.fetch("w1", "ship_order")
    assert task["processInstanceId"] == result["processInstance"]["id"]
    assert task["variables"]["item"]["value"] == "lamp"


def test_a_message_nothing_matches_is_refused_as_camunda_does(worker: Worker) -> None:
    response = worker.post("/message", {"messageName": "nobody_listens", "businessKey": "5"})

    assert response.status_code == 400
    assert response.get_json() == {
        "type": "MismatchingMessageCorrelationException",
        "message": "messageName: Cannot correlate message 'nobody_listens': No process definition or execution "
        "matches the parameters",
    }


def test_a_signal_reaches_every_waiting_instance_with_its_variables(
    worker: Worker, deployed: Callable[[], UnitOfWork]
) -> None:
    ids = [worker.post("/process-definition/key/await_signal/start", {}).get_json()["id"] for _ in range(2)]

    nobody = worker.post("/signal", {"name": "nobody_listens"})
    response = worker.post("/signal", {"name": "close_all", "variables": {"closed_by": {"value": "ops"}}})

    assert nobody.status_code == 204
    assert response.status_code == 204, response.get_json()
    assert [status(deployed, i) for i in ids] == ["completed", "completed"]
    uow = deployed()
    with uow:
        received = [e.data for i in ids for e in uow.history.events(int(i)) if e.kind == "signal_received"]
    assert received == [{"signal": "close_all", "data": {"closed_by": "ops"}}] * 2
