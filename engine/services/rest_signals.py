"""Camunda's POST /signal over /engine-rest: a signal reaches every running instance waiting for it and starts
every process whose start event catches it."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from engine.processes.spiff.runtime import refuse_unsavable
from engine.services.access import require_permission
from engine.services.instances import advance, load_runtime, start_version
from engine.services.rest_messages import starters
from engine.services.views import Actor
from engine.store.models import InstanceEventRow
from engine.store.uow import UnitOfWork


def _may_catch(bpmn_xml: str, name: str) -> bool:
    """A cheap pre-filter on a version's BPMN text: it declares a signal of that name and catches signals. The
    runtime decides for each instance."""
    return "signalEventDefinition" in bpmn_xml and re.search(rf'name\s*=\s*"{re.escape(name)}"', bpmn_xml) is not None


def _signal(
    uow: UnitOfWork, actor: Actor, instance_id: int, name: str, variables: dict[str, Any], now: datetime
) -> bool:
    """Throw the signal at one instance; False when nothing in it waits for the signal."""
    instance, version, runtime = load_runtime(uow, instance_id)
    steps = runtime.send_signal(name, variables)
    if steps is None:
        return False
    uow.history.add(
        InstanceEventRow(
            instance_id=instance.id,
            at=now,
            actor=actor.username,
            kind="signal_received",
            data={"signal": name, "data": variables},
        )
    )
    advance(uow, instance, version, runtime, steps, actor.username, now)
    return True


def broadcast_signal(uow: UnitOfWork, actor: Actor, name: str, variables: dict[str, Any], now: datetime) -> list[int]:
    """Deliver signal `name` with `variables` to every running instance waiting for it, then start every process
    (newest version, not bound to an entity: a signal names no record) whose own start event catches it, with the
    variables; the ids of the instances reached and started (none: fine, as in Camunda)."""
    require_permission(actor, "engine_rest.call", action="send signals over /engine-rest")
    refuse_unsavable(variables, "variables")
    with uow:
        versions = [v.id for v, _ in uow.config.all_process_versions() if _may_catch(v.bpmn_xml, name)]
        reached = [
            row.id
            for row in uow.instances.running_of_versions(versions)
            if _signal(uow, actor, row.id, name, variables, now)
        ]
        for version in starters(uow, name, event="signal"):
            if version.entity:
                continue
            instance = start_version(uow, actor, version, None, now, variables=variables)
            uow.flush()
            _signal(uow, actor, instance.id, name, variables, now)
            reached.append(instance.id)
        uow.commit()
        return reached
