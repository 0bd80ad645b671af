"""What a running process reports when a step fails reaches the reader in their language: the sentence around
the technical detail (exception text, element id, line) translated on the incident list, the instance page, the
task form and the API problem; English a library wrote behind a translated lead sentence."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask

from engine.errors import FlowError, SandboxError
from engine.processes.spiff import Runtime
from engine.services.jobs import RetryPolicy, run_due
from engine.services.timers import TimerJob
from engine.services.views import Actor
from engine.store.models import TimerRow
from engine.store.uow import UnitOfWork
from tests.unit.test_savable_data import blob
from tests.web.conftest import as_user, new_lead, pool_task, text

MakeUow = Callable[[], UnitOfWork]
DETAIL = "ZeroDivisionError at line 1: division by zero"
RUSSIAN = "задача-скрипт score_task — ошибка ZeroDivisionError в строке 1: division by zero"


def script_failure() -> SandboxError:
    """What the engine raises when a script task divides by zero (a real run of a process)."""
    with pytest.raises(SandboxError) as failed:
        Runtime.start(1, blob("score = 1 / 0"), {})
    return failed.value


class FailingScriptTimers(TimerJob):
    """Timers whose process fails in a script task after firing, with no retries: parked at once."""

    policy = RetryPolicy(retries=0)
    error: Exception = script_failure()

    def run(self, uow: UnitOfWork, row: TimerRow, now: datetime) -> bool:
        raise self.error


class LibraryTimers(FailingScriptTimers):
    """Timers failing with a text no catalog knows (a library's English)."""

    error = FlowError("connection reset by peer")


def parked(deployed: MakeUow, actors: dict[str, Actor], job: TimerJob) -> int:
    """The instance of a new lead whose timer job failed and was parked."""
    new_lead(deployed, actors)
    assert run_due(job, deployed(), datetime.now(UTC) + timedelta(days=30)).parked == 1
    with deployed() as uow:
        (incident,), _ = uow.incidents.search(None, "open", None, 10, 0)
        assert incident.instance_id is not None
        return incident.instance_id


def test_a_failing_script_shows_on_incidents_and_the_instance_page_in_russian_with_its_detail(
    app: Flask, deployed: MakeUow, actors: dict
) -> None:
    instance_id = parked(deployed, actors, FailingScriptTimers())
    ada = as_user(app, "ada")
    ada.get("/admin/incidents?lang=ru")
    for path in ("/admin/incidents", f"/instances/{instance_id}"):
        assert RUSSIAN in text(ada.get(path))
    english = as_user(app, "ada")
    assert f"script task score_task: {DETAIL}" in text(english.get("/admin/incidents?lang=en"))


def test_english_no_catalog_knows_is_shown_behind_a_translated_lead(
    app: Flask, deployed: MakeUow, actors: dict
) -> None:
    parked(deployed, actors, LibraryTimers())
    ada = as_user(app, "ada")
    assert "Сервер сообщил: connection reset by peer" in text(ada.get("/admin/incidents?lang=ru"))
    assert "The server said" not in text(ada.get("/admin/incidents?lang=en"))
    assert "connection reset by peer" in text(ada.get("/admin/incidents?lang=en"))


def test_a_script_failing_after_a_form_is_submitted_shows_on_the_form_in_russian(
    app: Flask, deployed: MakeUow, actors: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    new_lead(deployed, actors)
    task = pool_task(deployed, actors["sales"])
    sam = as_user(app, "sam")
    sam.post(f"/tasks/{task.id}/claim")
    error = script_failure()

    def fail(*_: Any, **__: Any) -> None:
        raise error

    monkeypatch.setattr("web.blueprints.inbox.complete_task", fail)
    sam.get("/tasks?lang=ru")
    page = sam.post(f"/tasks/{task.id}/complete", data={})
    assert page.status_code == 422
    assert RUSSIAN in text(page)


@pytest.mark.parametrize(
    ("language", "expected"),
    [("ru", RUSSIAN), ("en", f"script task score_task: {DETAIL}")],
)
def test_the_api_problem_of_a_failing_script_is_in_the_asked_language_with_its_code(
    api: dict, monkeypatch: pytest.MonkeyPatch, language: str, expected: str
) -> None:
    error = script_failure()

    def fail(*_: Any, **__: Any) -> None:
        raise error

    monkeypatch.setattr("engine.services.tasks.complete_task", fail)
    sam = api["sales"]
    sam.headers["Accept-Language"] = language
    response = sam.post("/tasks/00000000-0000-0000-0000-000000000000/complete", {})
    body = response.get_json()
    assert (response.status_code, body["message"]) == (422, expected)
    assert (body["code"], body["params"]["element"], body["params"]["kind"]) == (
        "runtime.in_element",
        "score_task",
        "script task",
    )


def test_a_broken_configurations_api_problem_reads_each_problem_in_the_asked_language(
    api: dict, bundle_files: dict[str, str]
) -> None:
    bpmn = "processes/lead_qualification.bpmn"
    broken = bundle_files[bpmn].replace('camunda:formKey="qualify_lead"', 'camunda:formKey="no_such_form"')
    designer = api["designer"]
    designer.headers["Accept-Language"] = "ru"
    body = designer.post("/deployments", {"files": {bpmn: broken}}).get_json()
    (line,) = [line for line in body["message"].splitlines() if "no_such_form" in line]
    assert line.startswith(f"{bpmn}:")
    assert "[qualify_lead]" in line
    assert "Сервер сообщил" not in body["message"]
    assert re.search("[а-я]", line.split("] ", 1)[1])  # the problem in Russian, at its place
