"""/engine-rest/external-task: Camunda 7's external-task protocol — locking, lock owners, expiry, failures and
incidents, BPMN errors, long polling, typed variables, errors in Camunda's shape."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from engine.services.incidents import list_incidents
from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.web.api_client import ApiUser, api_users
from tests.web.external_rest import CHARGE_BPMN, Worker, start, worker_token


@pytest.fixture
def bundle_files(bundle_files: dict[str, str]) -> dict[str, str]:
    return {**bundle_files, "processes/external_charge.bpmn": CHARGE_BPMN}


@pytest.fixture
def worker(api_app: Flask, deployed: Callable[[], UnitOfWork]) -> Worker:
    return Worker(api_app, worker_token(deployed))


@pytest.fixture
def api(api_app: Flask, deployed: Callable[[], UnitOfWork], actors: dict[str, Actor]) -> dict[str, ApiUser]:
    return api_users(api_app, deployed, actors)


def instance_state(make_uow: Callable[[], UnitOfWork], instance_id: int) -> tuple[str, list[str], dict[str, Any]]:
    """Status, the elements it went through and its data at the end."""
    from engine.services.instances import load_runtime

    uow = make_uow()
    with uow:
        row = uow.instances.get(instance_id)
        assert row is not None
        steps = [e.element_id for e in uow.history.events(instance_id) if e.element_id]
        data: dict[str, Any] = {}
        if row.status == "running":
            data = load_runtime(uow, instance_id)[2].data()
        else:
            from engine.services.instances import Runtime

            version = uow.config.process_version(row.process_version_id)
            assert version is not None
            data = Runtime.load(version.id, version.spec_json, row.state_json).data()
        return row.status, steps, data


def test_fetch_locks_a_task_with_typed_variables_and_complete_runs_the_process_on(
    worker: Worker, deployed: Callable[[], UnitOfWork], actors: dict[str, Actor]
) -> None:
    instance_id = start(deployed, actors["sales"])

    (task,) = worker.fetch("w1")
    assert task["topicName"] == "charge"
    assert task["workerId"] == "w1"
    assert task["activityId"] == "charge_card"
    assert task["processInstanceId"] == str(instance_id)
    assert task["processDefinitionKey"] == "external_charge"
    assert task["priority"] == 5
    assert task["lockExpirationTime"].endswith("+0000")
    assert worker.fetch("w2") == []  # locked: nobody else gets it

    response = worker.post(
        f"/external-task/{task['id']}/complete",
        {
            "workerId": "w1",
            "variables": {
                "amount": {"value": 12, "type": "Integer"},
                "total": {"value": 12.5, "type": "Double"},
                "paid": {"value": True, "type": "Boolean"},
                "receipt": {"value": '{"no": "A-1"}', "type": "Json"},
                "note": {"value": "ok"},
                "at": {"value": "2026-03-01T10:00:00.000+0100", "type": "Date"},
                "nothing": {"value": None, "type": "Null"},
            },
            "localVariables": {"attempt": {"value": 1, "type": "Integer"}},
        },
    )

    assert response.status_code == 204, response.get_json()
    status, steps, data = instance_state(deployed, instance_id)
    assert status == "completed"
    assert steps[-2:] == ["charge_card", "paid"]
    assert data["amount"] == 12
    assert data["total"] == 12.5
    assert data["paid"] is True
    assert data["receipt"] == {"no": "A-1"}
    assert data["at"] == "2026-03-01T10:00:00+01:00"
    assert data["nothing"] is None
    assert data["note"] == "ok"
    assert "attempt" not in data  # a local variable ends with the task
    assert worker.get(f"/external-task/{task['id']}").status_code == 404


def test_completing_with_another_workers_lock_is_refused_as_camunda_does(
    worker: Worker, deployed: Callable[[], UnitOfWork], actors: dict[str, Actor]
) -> None:
    start(deployed, actors["sales"])
    (task,) = worker.fetch("w1")

    response = worker.post(f"/external-task/{task['id']}/complete", {"workerId": "intruder"})

    assert response.status_code == 400
    assert response.get_json() == {
        "type": "BadUserRequestException",
        "message": f"External task {task['id']} cannot be changed by worker 'intruder': it is locked by worker 'w1'",
    }
    for action in ("failure", "bpmnError", "extendLock"):
        body = {"workerId": "intruder", "retries": 1, "errorCode": "X", "newDuration": 1000}
        assert worker.post(f"/external-task/{task['id']}/{action}", body).status_code == 400


@pytest.mark.parametrize("action", ["complete", "failure", "bpmnError", "extendLock", "unlock"])
def test_an_unknown_task_id_answers_404_with_camundas_body(worker: Worker, action: str) -> None:
    body = {"workerId": "w1", "retries": 1, "errorCode": "X", "newDuration": 1000}

    response = worker.post(f"/external-task/nope/{action}", body)

    assert response.status_code == 404
    assert response.get_json() == {
        "type": "InvalidRequestException",
        "message": "External task with id nope does not exist",
    }


def test_an_expired_lock_lets_another_worker_take_the_task_and_the_first_can_no_longer_complete(
    worker: Worker, deployed: Callable[[], UnitOfWork], actors: dict[str, Actor]
) -> None:
    start(deployed, actors["sales"])
    (first,) = worker.fetch("w1", lock_ms=1)
    time.sleep(0.01)

    (again,) = worker.fetch("w2")  # at least once: the lock ran out

    assert again["id"] == first["id"]
    assert worker.post(f"/external-task/{first['id']}/complete", {"workerId": "w1"}).status_code == 400
    extend = worker.post(f"/external-task/{first['id']}/extendLock", {"workerId": "w1", "newDuration": 1000})
    assert extend.status_code == 400
    assert worker.post(f"/external-task/{first['id']}/complete", {"workerId": "w2"}).status_code == 204


def test_extend_lock_keeps_the_task_and_unlock_frees_it(
    worker: Worker, deployed: Callable[[], UnitOfWork], actors: dict[str, Actor]
) -> None:
    start(deployed, actors["sales"])
    (task,) = worker.fetch("w1", lock_ms=2000)

    extended = worker.post(f"/external-task/{task['id']}/extendLock", {"workerId": "w1", "newDuration": 60_000})
    time.sleep(2.1)  # past the first lock

    assert extended.status_code == 204, extended.get_json()
    assert worker.fetch("w2") == []
    negative = worker.post(f"/external-task/{task['id']}/extendLock", {"workerId": "w1", "newDuration": -5})
    assert negative.status_code == 400
    assert "newDuration" in negative.get_json()["message"]
    assert worker.post(f"/external-task/{task['id']}/unlock").status_code == 204
    assert [t["id"] for t in worker.fetch("w2")] == [task["id"]]


def test_failure_with_retries_left_comes_back_and_without_retries_is_an_incident_an_admin_retries(
    worker: Worker, api: dict[str, ApiUser], deployed: Callable[[], UnitOfWork], actors: dict[str, Actor]
) -> None:
    instance_id = start(deployed, actors["sales"])
    (task,) = worker.fetch("w1")
    failure = {
        "workerId": "w1",
        "errorMessage": "gateway down",
        "errorDetails": "trace...",
        "retries": 1,
        "retryTimeout": 0,
    }

    assert worker.post(f"/external-task/{task['id']}/failure", failure).status_code == 204
    (again,) = worker.fetch("w1")
    assert (again["retries"], again["errorMessage"], again["errorDetails"]) == (1, "gateway down", "trace...")

    last = worker.post(f"/external-task/{task['id']}/failure", {**failure, "errorMessage": "still down", "retries": 0})

    assert last.status_code == 204
    assert worker.fetch("w1") == []
    assert worker.get("/external-task/count", noRetriesLeft="true").get_json() == {"count": 1}
    incidents = list_incidents(deployed(), actors["admin"], kind="external", state="open").items
    assert [(i.instance_id, i.task_id, i.error) for i in incidents] == [(instance_id, task["id"], "still down")]

    retried = api["admin"].post(f"/incidents/{incidents[0].id}/retry")

    assert retried.status_code == 200, retried.get_json()
    (back,) = worker.fetch("w3")
    assert back["id"] == task["id"]
    assert back["retries"] == 1


def test_a_bpmn_error_is_caught_by_the_boundary_event_and_an_uncaught_one_is_an_incident(
    worker: Worker, deployed: Callable[[], UnitOfWork], actors: dict[str, Actor]
) -> None:
    caught_id, uncaught_id = start(deployed, actors["sales"]), start(deployed, actors["sales"])
    first, second = worker.fetch("w1")
    by_instance = {int(first["processInstanceId"]): first, int(second["processInstanceId"]): second}

    caught = worker.post(
        f"/external-task/{by_instance[caught_id]['id']}/bpmnError",
        {
            "workerId": "w1",
            "errorCode": "CARD_DECLINED",
            "errorMessage": "no funds",
            "variables": {"reason": {"value": "no funds", "type": "String"}},
        },
    )
    uncaught = worker.post(
        f"/external-task/{by_instance[uncaught_id]['id']}/bpmnError", {"workerId": "w1", "errorCode": "FRAUD"}
    )

    assert caught.status_code == 204
    assert uncaught.status_code == 204
    status, steps, data = instance_state(deployed, caught_id)
    assert (status, steps[-2:], data["reason"]) == ("completed", ["declined", "not_paid"], "no funds")
    assert instance_state(deployed, uncaught_id)[0] == "running"
    (incident,) = list_incidents(deployed(), actors["admin"], kind="external").items
    assert incident.instance_id == uncaught_id
    assert incident.error == (
        "BPMN error 'FRAUD' (no message) thrown by worker 'w1' is caught by no error boundary "
        "event on activity 'charge_card'"
    )


def test_long_polling_returns_as_soon_as_a_task_appears(
    worker: Worker, deployed: Callable[[], UnitOfWork], actors: dict[str, Actor]
) -> None:
    timer = threading.Timer(0.5, lambda: start(deployed, actors["sales"]))
    began = time.monotonic()
    timer.start()
    try:
        tasks = worker.fetch("w1", asyncResponseTimeout=20_000)
    finally:
        timer.join()
    waited = time.monotonic() - began

    assert len(tasks) == 1
    assert 0.4 < waited < 10, waited


def test_long_polling_without_tasks_answers_an_empty_list_after_the_timeout(worker: Worker) -> None:
    began = time.monotonic()

    tasks = worker.fetch("w1", asyncResponseTimeout=600)

    assert tasks == []
    assert 0.55 < time.monotonic() - began < 5


def test_fetch_filters_topics_variables_business_key_process_and_priority(
    worker: Worker, deployed: Callable[[], UnitOfWork], actors: dict[str, Actor]
) -> None:
    start(deployed, actors["sales"], "external_ship")
    start(deployed, actors["sales"])
    response = worker.post(
        "/external-task/fetchAndLock",
        {
            "workerId": "w1",
            "maxTasks": 1,
            "usePriority": True,
            "topics": [
                {"topicName": "ship", "lockDuration": 1000},
                {"topicName": "charge", "lockDuration": 1000, "variables": ["nothing_here"]},
            ],
        },
    )

    (first,) = response.get_json()
    assert first["topicName"] == "charge"  # priority 5 before 0
    assert first["variables"] == {}
    assert worker.fetch("w1", "ship", topic_filters={"processDefinitionKey": "external_charge"}) == []
    assert worker.fetch("w1", "ship", topic_filters={"businessKey": "42"}) == []
    (ship,) = worker.fetch("w1", "ship", topic_filters={"processDefinitionKeyIn": ["external_ship"]})
    assert ship["activityId"] == "ship"


def test_list_count_and_get_describe_tasks(
    worker: Worker, deployed: Callable[[], UnitOfWork], actors: dict[str, Actor]
) -> None:
    start(deployed, actors["sales"])
    start(deployed, actors["sales"], "external_ship")
    (task,) = worker.fetch("w1")

    assert worker.get("/external-task/count").get_json() == {"count": 2}
    assert [t["id"] for t in worker.get("/external-task", locked="true").get_json()] == [task["id"]]
    assert [t["topicName"] for t in worker.get("/external-task", notLocked="true").get_json()] == ["ship"]
    assert len(worker.get("/external-task", maxResults="1").get_json()) == 1
    one = worker.get(f"/external-task/{task['id']}").get_json()
    assert (one["workerId"], one["topicName"], one["retries"]) == ("w1", "charge", None)
    bad = worker.get("/external-task", locked="yes")
    assert bad.status_code == 400
    assert bad.get_json()["message"] == "query parameter locked must be true or false, got 'yes'"


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"amount": {"value": "12", "type": "Integer"}}, 'variables.amount: "12" is not a Integer'),
        ({"amount": {"value": 2**40, "type": "Integer"}}, "variables.amount: 1099511627776 does not fit an Integer"),
        ({"blob": {"value": "x", "type": "Object"}}, "variables.blob: type 'Object' is not supported here"),
        ({"when": {"value": "tomorrow", "type": "Date"}}, "variables.when: 'tomorrow' is not a date"),
        ({"doc": {"value": "{oops", "type": "Json"}}, "variables.doc: the Json value is not valid JSON"),
        ({"plain": 5}, 'variables.plain must be an object {"value": ..., "type": ...}'),
    ],
)
def test_a_variable_that_does_not_fit_its_type_is_refused_naming_it(
    worker: Worker,
    deployed: Callable[[], UnitOfWork],
    actors: dict[str, Actor],
    variables: dict[str, Any],
    message: str,
) -> None:
    start(deployed, actors["sales"])
    (task,) = worker.fetch("w1")

    response = worker.post(f"/external-task/{task['id']}/complete", {"workerId": "w1", "variables": variables})

    assert response.status_code == 400
    assert response.get_json()["type"] == "InvalidRequestException"
    assert message in response.get_json()["message"]


def test_a_malformed_fetch_names_the_field(worker: Worker) -> None:
    response = worker.post(
        "/external-task/fetchAndLock", {"workerId": "w1", "maxTasks": 1, "topics": [{"topicName": "charge"}]}
    )

    assert response.status_code == 400
    assert response.get_json() == {
        "type": "InvalidRequestException",
        "message": "topics[0].lockDuration must be a positive number of milliseconds, got None",
    }


def test_only_worker_tokens_may_call_and_a_session_cookie_is_not_enough(
    api_app: Flask, api: dict[str, ApiUser]
) -> None:
    anonymous = api_app.test_client().post("/engine-rest/external-task/fetchAndLock", json={})
    sales = api["sales"].client.post(
        "/engine-rest/external-task/fetchAndLock",
        headers=api["sales"].headers,
        json={"workerId": "w", "maxTasks": 1, "topics": [{"topicName": "charge", "lockDuration": 10}]},
    )

    assert anonymous.status_code == 401
    assert anonymous.get_json()["type"] == "AuthenticationException"
    assert sales.status_code == 403
    assert sales.get_json()["type"] == "AuthorizationException"
    assert "needs one of: worker, admin" in sales.get_json()["message"]


def test_start_by_key_with_typed_variables_reaches_the_external_task(worker: Worker) -> None:
    response = worker.post(
        "/process-definition/key/external_charge/start",
        {"variables": {"amount": {"value": 30, "type": "Long"}, "vip": {"value": True}}, "withVariablesInReturn": True},
    )

    assert response.status_code == 200, response.get_json()
    started = response.get_json()
    assert started["definitionId"] == "external_charge:1"
    assert started["ended"] is False
    assert started["businessKey"] is None
    assert started["variables"]["amount"] == {"value": 30, "type": "Integer", "valueInfo": {}}
    (task,) = worker.fetch("w1", topic_filters={"variables": ["amount", "vip"]})
    assert task["processInstanceId"] == started["id"]
    assert task["variables"] == {
        "amount": {"value": 30, "type": "Integer", "valueInfo": {}},
        "vip": {"value": True, "type": "Boolean", "valueInfo": {}},
    }


@pytest.mark.parametrize(
    ("key", "body", "status", "message"),
    [
        ("nope", {}, 404, "No matching process definition with key: nope"),
        ("external_charge", {"businessKey": "7"}, 400, "businessKey: process external_charge runs on no record"),
        ("lead_qualification", {}, 400, "businessKey: process lead_qualification runs on a Lead record"),
        ("lead_qualification", {"businessKey": "999999"}, 400, "businessKey: no Lead record 999999"),
        ("external_charge", {"variables": {"n": {"value": "x", "type": "Double"}}}, 400, 'variables.n: "x" is not'),
    ],
)
def test_start_by_key_refusals_name_the_field(
    worker: Worker, key: str, body: dict[str, Any], status: int, message: str
) -> None:
    response = worker.post(f"/process-definition/key/{key}/start", body)

    assert response.status_code == status
    assert message in response.get_json()["message"]


def test_the_incident_of_a_failed_external_task_shows_on_the_instance_page_and_the_incident_list(
    worker: Worker, app: Flask, deployed: Callable[[], UnitOfWork], actors: dict[str, Actor]
) -> None:
    from tests.web.conftest import as_user, text

    instance_id = start(deployed, actors["sales"])
    (task,) = worker.fetch("w1")
    failure = {"workerId": "w1", "errorMessage": "gateway down", "retries": 0}
    assert worker.post(f"/external-task/{task['id']}/failure", failure).status_code == 204
    admin = as_user(app, "ada")

    instance_page = text(admin.get(f"/instances/{instance_id}"))
    incident_list = text(admin.get("/admin/incidents?kind=external"))

    assert "gateway down" in instance_page
    assert "External task failed" in instance_page  # the history step, in the UI's words
    assert "External task" in incident_list
    assert "gateway down" in incident_list
