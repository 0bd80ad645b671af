"""What the diagram pages draw: a process version's BPMN XML, and for an instance which elements it passed
through (from its history) and which it waits at now."""

from __future__ import annotations

from dataclasses import dataclass

from engine.processes.deployed import business_time
from engine.processes.spiff import Runtime
from engine.services.instances import get_instance
from engine.services.views import Actor
from engine.store.uow import UnitOfWork

PASSED = ("step", "task_completed", "timer_fired")  # history kinds naming an element the instance went through


@dataclass(frozen=True)
class InstanceDiagram:
    instance_id: int
    process_id: str
    version: int
    xml: str
    completed: list[str]  # element ids passed through, first passage order (called processes' ones included)
    current: list[str]  # element ids of the top process the instance waits at (a running call activity too)


def instance_diagram(uow: UnitOfWork, actor: Actor, instance_id: int) -> InstanceDiagram:
    """The instance's version diagram with its passed and current elements; whoever may read the instance may
    read this (NotFound otherwise, as for get_instance)."""
    detail = get_instance(uow, actor, instance_id)
    completed: list[str] = []
    for step in detail.steps:
        if step.kind in PASSED and step.element_id and step.element_id not in completed:
            completed.append(step.element_id)
    with uow:
        row = uow.instances.get(instance_id)
        assert row is not None  # noqa: S101 - get_instance found it
        version = uow.config.process_version(row.process_version_id)
        assert version is not None  # noqa: S101 - foreign key
        current: list[str] = []
        if row.status == "running":
            runtime = Runtime.load(version.id, version.spec_json, row.state_json, time=business_time(uow))
            current = runtime.active_elements()
        return InstanceDiagram(instance_id, version.process_id, version.version, version.bpmn_xml, completed,
                               current)
