"""Camunda's POST /message over /engine-rest: correlate a message by name, business key (the record id) and
correlation keys (variables of the waiting instance) to the instances waiting for it, or start the processes
whose start event catches it when none waits."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.errors import ValidationError
from engine.processes.spiff.runtime import refuse_unsavable
from engine.services.access import require_permission
from engine.services.events import deliver_message
from engine.services.instances import load_runtime, start_version
from engine.services.views import Actor
from engine.store.models import MessageWaitRow, ProcessVersionRow
from engine.store.uow import UnitOfWork


class MismatchingCorrelation(ValidationError):
    """No instance or process matches the message, or several do without `all`: Camunda's 400
    MismatchingMessageCorrelationException."""


@dataclass(frozen=True)
class Correlation:
    """A POST /message request."""

    name: str
    business_key: str | None = None
    instance_id: int | None = None
    keys: dict[str, Any] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)
    all: bool = False


@dataclass(frozen=True)
class Delivery:
    """One instance the message reached: an existing one (execution) or one it started (process definition)."""

    kind: str  # Execution | ProcessDefinition
    instance_id: int
    process_id: str
    version: int
    ended: bool


def _matching(uow: UnitOfWork, request: Correlation) -> list[MessageWaitRow]:
    """One waiting catch per instance, filtered by business key, instance and correlation keys."""
    first: dict[int, MessageWaitRow] = {}
    for wait in uow.events.waiting_for(request.name):
        if request.business_key is not None and wait.business_key != request.business_key:
            continue
        if request.instance_id is not None and wait.instance_id != request.instance_id:
            continue
        first.setdefault(wait.instance_id, wait)
    if not request.keys:
        return list(first.values())
    matching = []
    for wait in first.values():
        data = load_runtime(uow, wait.instance_id)[2].task_data(wait.task_id)
        if all(name in data and data[name] == value for name, value in request.keys.items()):
            matching.append(wait)
    return matching


def starters(uow: UnitOfWork, name: str, event: str = "message") -> list[ProcessVersionRow]:
    """The newest versions whose start event catches the message (or, with event="signal", the signal)."""
    found = []
    for version in uow.config.latest_processes():
        elements = json.loads(version.spec_json)["elements"]
        if any(e["kind"] == "startEvent" and e.get(event) == name for e in elements.values()):
            found.append(version)
    return found


def _deliver(uow: UnitOfWork, actor: Actor, wait: MessageWaitRow, request: Correlation, now: datetime) -> Delivery:
    noted = {"message": request.name, "data": request.variables}
    instance = deliver_message(uow, actor, wait, request.variables, noted, now)
    version = uow.config.process_version(instance.process_version_id)
    assert version is not None  # noqa: S101 - foreign key
    return Delivery("Execution", instance.id, version.process_id, version.version, instance.status != "running")


def correlate_message(uow: UnitOfWork, actor: Actor, request: Correlation, now: datetime) -> list[Delivery]:
    """Deliver the message to the one instance waiting for it (every one with `all`), or start the processes
    whose message start event catches it; ValidationError (Camunda's 400) when nothing or too much matches."""
    require_permission(actor, "engine_rest.call", action="correlate messages over /engine-rest")
    refuse_unsavable(request.variables, "processVariables")
    with uow:
        waits = _matching(uow, request)
        if len(waits) > 1 and not request.all:
            ids = ", ".join(str(w.instance_id) for w in waits)
            raise MismatchingCorrelation(
                {
                    "messageName": [
                        f"Cannot correlate message '{request.name}': {len(waits)} instances wait for it ({ids}); "
                        "narrow it with businessKey / correlationKeys or send all: true"
                    ]
                }
            )
        deliveries = [_deliver(uow, actor, wait, request, now) for wait in waits]
        if not deliveries and request.instance_id is None and not request.keys:
            for version in starters(uow, request.name):
                record = None
                if version.entity:
                    if request.business_key is None or not request.business_key.isdigit():
                        continue  # a process on a record needs the record's id as business key
                    record = uow.records.get(int(request.business_key))
                    if record is None or record.entity != version.entity:
                        continue
                instance = start_version(uow, actor, version, record, now, variables=request.variables)
                uow.flush()
                wait = next((w for w in uow.events.waits_for_instance(instance.id) if w.message == request.name), None)
                if wait is not None:
                    _deliver(uow, actor, wait, request, now)
                deliveries.append(
                    Delivery(
                        "ProcessDefinition",
                        instance.id,
                        version.process_id,
                        version.version,
                        instance.status != "running",
                    )
                )
        if not deliveries:
            raise MismatchingCorrelation(
                {
                    "messageName": [
                        f"Cannot correlate message '{request.name}': No process definition or execution matches the "
                        "parameters"
                    ]
                }
            )
        uow.commit()
        return deliveries
