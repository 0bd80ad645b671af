"""The shipped lead process through the SpiffWorkflow adapter, saved and restored after every step (no database)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from SpiffWorkflow.util.task import TaskState

from engine.errors import ConflictError
from engine.processes.spiff import Runtime, Step, parse_definitions

ROOT = Path(__file__).resolve().parents[2]
BPMN = "processes/lead_qualification.bpmn"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
VERSION_ID = 1
START_DATA = {"record": {"title": "ACME wants 40 seats", "status": "new"}, "record_id": 7}


@pytest.fixture(scope="module")
def blob() -> str:
    """The parsed lead process as stored with a process version."""
    definitions = parse_definitions({BPMN: (ROOT / BPMN).read_text(encoding="utf-8")}, {})
    return definitions["lead_qualification"].blob


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    """The wall clock SpiffWorkflow's timers read, frozen at NOW."""
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def round_trip(runtime: Runtime, blob: str) -> Runtime:
    """Save and restore the instance, as the engine does between transactions; the state must survive intact."""
    state = runtime.dump()
    restored = Runtime.load(VERSION_ID, blob, state)
    assert restored.dump() == state
    return restored


def ids(steps: list[Step]) -> list[str]:
    return [step.element_id for step in steps]


def start(blob: str) -> Runtime:
    runtime, steps = Runtime.start(VERSION_ID, blob, dict(START_DATA))
    assert ids(steps) == ["lead_received"]
    runtime = round_trip(runtime, blob)
    assert_waits_on_qualification(runtime)
    return runtime


def assert_waits_on_qualification(runtime: Runtime) -> None:
    [task] = runtime.ready_user_tasks()
    assert (task.element_id, task.title) == ("qualify_lead", "Qualify lead")
    assert task.meta is not None
    assert (task.meta.form_key, task.meta.candidate_groups, task.meta.due_date) == ("qualify_lead", ("sales",), "PT4H")
    assert task.data["record_id"] == 7
    assert [t.element_id for t in runtime.pending_timers()] == ["lead_untouched"]  # the escalation timer
    assert not runtime.is_completed()


def qualify(runtime: Runtime, blob: str, outcome: str) -> tuple[Runtime, list[Step]]:
    [task] = runtime.ready_user_tasks()
    steps = runtime.complete(task.task_id, {"outcome": outcome, "qualify_lead_completed_by": "sam"})
    return round_trip(runtime, blob), steps


@pytest.mark.usefixtures("clock")
def test_convert_goes_through_the_meeting_to_the_end(blob: str) -> None:
    runtime = start(blob)

    runtime, steps = qualify(runtime, blob, "convert")

    assert ids(steps) == ["qualify_lead", "outcome_gateway"]
    assert steps[0].manual
    assert steps[0].data["outcome"] == "convert"
    [meeting] = runtime.ready_user_tasks()
    assert meeting.element_id == "arrange_meeting"
    assert meeting.meta is not None
    assert (meeting.meta.assignee, meeting.meta.due_date) == ("${qualify_lead_completed_by}", "P2D")
    assert meeting.data["qualify_lead_completed_by"] == "sam"
    assert runtime.pending_timers() == []

    steps = runtime.complete(meeting.task_id, {"next_contact_on": "2026-03-05"})
    runtime = round_trip(runtime, blob)

    assert ids(steps) == ["arrange_meeting", "pipeline_check", "lead_converted"]
    assert runtime.ready_user_tasks() == []
    assert runtime.pending_timers() == []
    assert runtime.is_completed()
    assert runtime.data()["next_contact_on"] == "2026-03-05"


@pytest.mark.usefixtures("clock")
def test_disqualify_ends_the_process_at_once(blob: str) -> None:
    runtime = start(blob)

    runtime, steps = qualify(runtime, blob, "disqualify")

    assert ids(steps) == ["qualify_lead", "outcome_gateway", "lead_disqualified"]
    assert runtime.ready_user_tasks() == []
    assert runtime.pending_timers() == []
    assert runtime.is_completed()
    assert runtime.data()["outcome"] == "disqualify"


def test_nurture_waits_thirty_days_then_asks_again(blob: str, clock: time_machine.Traveller) -> None:
    runtime = start(blob)

    runtime, steps = qualify(runtime, blob, "nurture")

    assert ids(steps) == ["qualify_lead", "outcome_gateway"]
    assert runtime.ready_user_tasks() == []
    [timer] = runtime.pending_timers()
    assert timer.element_id == "nurture_wait"
    assert timer.due_at == NOW + timedelta(days=30)
    assert not runtime.is_completed()

    assert runtime.fire_timers() == []  # not due yet
    runtime = round_trip(runtime, blob)
    assert [t.element_id for t in runtime.pending_timers()] == ["nurture_wait"]

    clock.shift(timedelta(days=31))
    steps = runtime.fire_timers()
    runtime = round_trip(runtime, blob)

    assert ids(steps) == ["nurture_wait"]
    assert_waits_on_qualification(runtime)

    runtime, steps = qualify(runtime, blob, "disqualify")

    assert ids(steps) == ["qualify_lead", "outcome_gateway", "lead_disqualified"]
    assert runtime.is_completed()


@pytest.mark.usefixtures("clock")
def test_completed_task_cannot_be_completed_again_after_restore(blob: str) -> None:
    runtime = start(blob)
    [task] = runtime.ready_user_tasks()
    runtime, _ = qualify(runtime, blob, "disqualify")

    with pytest.raises(ConflictError, match="no longer waiting"):
        runtime.complete(task.task_id, {"outcome": "convert"})


PARALLEL = "tests/fixtures/camunda7/processes/parallel_split_join.bpmn"


def test_ready_tasks_of_parallel_branches_come_in_the_task_trees_order(monkeypatch: pytest.MonkeyPatch) -> None:
    parallel = parse_definitions({PARALLEL: (ROOT / PARALLEL).read_text(encoding="utf-8")}, {})
    runtime, _ = Runtime.start(VERSION_ID + 1, parallel["parallel_split_join"].blob, {})
    in_order = runtime.workflow.get_tasks(state=TaskState.READY, manual=True)
    assert [t.element_id for t in runtime.ready_user_tasks()] == ["legal_review", "finance_review"]
    assert [t.task_id for t in runtime.ready_user_tasks()] == [str(t.id) for t in in_order]
    runtime.complete(runtime.ready_user_tasks()[0].task_id, {})
    walks: list[object] = []
    get_tasks = type(runtime.workflow).get_tasks
    monkeypatch.setattr(
        type(runtime.workflow), "get_tasks", lambda self, *a, **k: walks.append(k) or get_tasks(self, *a, **k)
    )
    assert [t.element_id for t in runtime.ready_user_tasks()] == ["finance_review"]  # one left: a scan finds it
    assert walks == []


def test_starting_an_instance_finds_its_start_task_without_walking_the_task_tree(
    blob: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    workflow_class = type(Runtime.start(VERSION_ID, blob, dict(START_DATA))[0].workflow)
    get_tasks = workflow_class.get_tasks
    walks: list[object] = []

    def counted(self: object, *args: object, **kwargs: object) -> object:
        if "/engine/" in sys._getframe(1).f_code.co_filename:  # the adapter's own walks, not SpiffWorkflow's
            walks.append(kwargs)
        return get_tasks(self, *args, **kwargs)

    monkeypatch.setattr(workflow_class, "get_tasks", counted)
    runtime, steps = Runtime.start(VERSION_ID, blob, dict(START_DATA))
    assert ids(steps) == ["lead_received"]
    assert_waits_on_qualification(runtime)
    assert walks == []  # the start task and the ready user task from scans of the task dicts (2 walks before)
