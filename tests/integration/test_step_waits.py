"""A step reads what its workflow waits on (ready user and external tasks, timers, messages) in one walk of it
(`Runtime.waits`), not one walk per kind of row it keeps."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from engine.processes.spiff import runtime as spiff_runtime
from engine.services import records, tasks
from engine.store.uow import UnitOfWork
from tests.conftest import NOW

MakeUow = Callable[[], UnitOfWork]


def test_a_completion_walks_the_ready_tasks_of_its_workflow_once(
    deployed: MakeUow, actors: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    sam, head = actors["sales"], actors["head"]
    lead_id = records.create_record(deployed(), head, "Lead", {"title": "12 phones"}, NOW).id
    task_id = next(t.id for t in tasks.list_tasks(deployed(), sam, "pool") if t.record_id == lead_id)
    tasks.claim_task(deployed(), sam, task_id, NOW)
    walks: list[dict[str, Any]] = []
    workflow_class = spiff_runtime.BpmnWorkflow
    get_tasks = workflow_class.get_tasks

    def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("manual"):
            walks.append(kwargs)
        return get_tasks(self, *args, **kwargs)

    monkeypatch.setattr(workflow_class, "get_tasks", counted)
    view = tasks.complete_task(deployed(), sam, task_id, {"outcome": "convert", "budget": "700"}, NOW)
    assert view.state == "completed"
    assert len(walks) == 1, walks  # the rows of the step (tasks, external tasks) from one walk
    (next_task,) = [t for t in tasks.list_tasks(deployed(), sam, "mine") if t.record_id == lead_id]
    assert next_task.element_id == "arrange_meeting"
