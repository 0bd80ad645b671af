"""The published Camunda worker client (camunda-external-task-client-python3) against a live `flowcrm run`: it
fetches and completes a task with variables, fails one until it is an incident, and throws a BPMN error that a
boundary event catches. The server is a real process on a free port over a SQLite file (a subprocess cannot see
the rows of a test transaction on PostgreSQL)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from engine.bootstrap import UowFactory, uow_factory
from engine.config.loader import read_bundle_dir
from engine.services.deployments import deploy_bundle
from engine.services.instances import Runtime, start_process
from engine.services.users import create_user, get_actor
from engine.services.views import Actor
from tests.conftest import NOW, PASSWORD, ROOT
from tests.web.external_rest import CHARGE_BPMN, worker_token

DESIGNER = Actor(None, "setup", "setup", frozenset({"designer"}))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def database(tmp_path: Path, sqlite_template: Path) -> Iterator[UowFactory]:
    path = tmp_path / "external.sqlite"
    shutil.copy(sqlite_template, path)
    make_uow = uow_factory(f"sqlite:///{path}")
    try:
        files = {**read_bundle_dir(ROOT), "processes/external_charge.bpmn": CHARGE_BPMN}
        deploy_bundle(make_uow(), DESIGNER, files, NOW)
        yield make_uow
    finally:
        make_uow.dispose()


@pytest.fixture
def server(database: UowFactory) -> Iterator[str]:
    """`flowcrm run` on a free port over the database; its /engine-rest base URL."""
    port = free_port()
    url = database.engine.url.render_as_string(hide_password=False)
    flowcrm = Path(sys.executable).parent / "flowcrm"
    env = {**os.environ, "FLOWCRM_SECRET_KEY": "external-task-test-" + "x" * 40}
    process = subprocess.Popen(
        [str(flowcrm), "--database-url", url, "run", "--port", str(port), "--no-demo"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{base}/api/v1/openapi.json", timeout=2)
                break
            except requests.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    error = process.stderr.read().decode() if process.stderr else ""
                    pytest.fail(f"flowcrm run did not start: {error[-2000:]}")
                time.sleep(0.2)
        yield f"{base}/engine-rest"
    finally:
        process.terminate()
        process.wait(timeout=20)
        if process.stderr:
            process.stderr.close()


def worker_class() -> Any:
    """The client's worker; its bearer-token model uses pydantic's v1-style validators, deprecated in v2."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from camunda.external_task.external_task_worker import ExternalTaskWorker
    return ExternalTaskWorker


def end_state(make_uow: UowFactory, instance_id: int) -> tuple[str, list[str], dict[str, Any]]:
    uow = make_uow()
    with uow:
        row = uow.instances.get(instance_id)
        assert row is not None
        version = uow.config.process_version(row.process_version_id)
        assert version is not None
        steps = [e.element_id for e in uow.history.events(instance_id) if e.element_id]
        return row.status, steps, Runtime.load(version.id, version.spec_json, row.state_json).data()


def test_the_published_python_client_completes_fails_and_throws_bpmn_errors(server: str, database: UowFactory) -> None:
    seller = get_actor(database(), create_user(database(), "sid", PASSWORD, ["sales"], NOW).id)
    paid, failing, declined = (start_process(database(), seller, "external_charge", None, NOW).id for _ in range(3))
    token = worker_token(database)
    config = {
        "auth_bearer": {"access_token": token},
        "maxTasks": 10,
        "lockDuration": 10_000,
        "asyncResponseTimeout": 1000,
        "retries": 2,
        "retryTimeout": 0,
    }
    worker = worker_class()(worker_id="py-worker", base_url=server, config=config)
    seen: list[tuple[int, Any]] = []

    def charge(task: Any) -> Any:
        instance = int(task.get_process_instance_id())
        seen.append((instance, task.get_variable("nothing")))
        if instance == paid:
            return task.complete({"receipt": "R-1", "amount": 12, "approved": True})
        if instance == failing:
            return task.failure("gateway down", "HTTP 503 from the gateway", max_retries=1, retry_timeout=0)
        return task.bpmn_error("CARD_DECLINED", "no funds", {"reason": "no funds"})

    worker.fetch_and_execute("charge", charge)  # all three: complete, first failure (1 retry left), BPMN error
    worker.fetch_and_execute("charge", charge)  # the failing one again: no retries left now

    assert sorted(i for i, _ in seen) == sorted([paid, failing, declined, failing])
    status, steps, data = end_state(database, paid)
    assert (status, steps[-2:]) == ("completed", ["charge_card", "paid"])
    assert (data["receipt"], data["amount"], data["approved"]) == ("R-1", 12, True)
    status, steps, data = end_state(database, declined)
    assert (status, steps[-2:], data["reason"]) == ("completed", ["declined", "not_paid"], "no funds")
    assert end_state(database, failing)[0] == "running"
    uow = database()
    with uow:
        incidents = [(i.kind, i.instance_id, i.error) for i in uow.incidents.search(None, "open", None, 10, 0)[0]]
        (task,) = uow.external_tasks.for_instance(failing)
        assert (task.retries, task.error_details) == (0, "HTTP 503 from the gateway")
    assert incidents == [("external", failing, "gateway down")]
    empty = requests.post(
        f"{server}/external-task/fetchAndLock",
        timeout=10,
        headers={"Authorization": f"Bearer {token}"},
        json={"workerId": "py-worker", "maxTasks": 5, "topics": [{"topicName": "charge", "lockDuration": 1000}]},
    )
    assert empty.json() == []
