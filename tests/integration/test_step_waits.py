"""A step reads what its workflow waits on (ready user and external tasks, timers, messages) once (`Runtime.waits`),
not once per kind of row it keeps, and finds a lone ready task without SpiffWorkflow's task-tree iterator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from engine.processes.spiff import runtime as spiff_runtime
from engine.services import records, tasks
from engine.store.uow import UnitOfWork
from tests.conftest import NOW

MakeUow = Callable[[], UnitOfWork]


def test_a_completion_finds_its_ready_task_without_walking_the_task_tree(
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
    # the rows of the step (tasks, external tasks) from one scan of the task dicts: the iterator's depth-first walk
    # of the tree (one before) decides only the order of several ready tasks
    assert walks == []
    (next_task,) = [t for t in tasks.list_tasks(deployed(), sam, "mine") if t.record_id == lead_id]
    assert next_task.element_id == "arrange_meeting"
