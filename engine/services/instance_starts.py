"""The processes that start on create, started for a batch of new records (an import's run, create_records).

Each workflow runs as start_for_new_record runs it, record after record and version after version, sharing what
one start would look up again (the starting versions, the calendar); what the starts write is kept and written
for the batch: the instance rows in multi-row statements (their ids in the order one by one would give them),
then every event, task, task candidate and timer row in one statement per table, in the order the starts would
have written them one after another.

A start whose first steps write more than these rows is written as start_version writes it (`advance`), in its
turn: the starts kept before it are written first, so every row and id comes in the same order. That is a start
whose steps set or compute record fields (rules may run on them), send an e-mail, or that waits for a message or
an external task, or opens a task its routing gives to the team member with the fewest open tasks (the count must
see the tasks of the starts before it). See `written_alone`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.processes.bindings import EMAIL_TEMPLATE
from engine.processes.deployed import business_time, versions_starting_on
from engine.processes.spiff import Runtime, Step, Waits
from engine.services.assignment import BALANCE, ROUTING
from engine.services.instances import (
    advance,
    event_values,
    give_record,
    keep_hot,
    new_instance,
    new_task_row,
    process_data,
    save_new,
    step_event,
    timer_row,
)
from engine.services.views import Actor
from engine.store.models import InstanceRow, RecordRow
from engine.store.uow import UnitOfWork


def written_alone(runtime: Runtime, steps: Sequence[Step], waits: Waits) -> bool:
    """Whether a new instance that took `steps` and waits on `waits` must be written on its own (advance): its
    rows are more than its instance, events, tasks, candidates and timers, or its routing reads what the starts
    before it wrote."""
    for step in steps:
        meta = runtime.elements.get(step.element_id)
        # record fields written (and the rules they trigger), or an e-mail queued
        if meta is not None and (meta.set_fields or meta.compute_fields
                                 or meta.properties.get(EMAIL_TEMPLATE) is not None):
            return True
    if waits.messages or waits.external:  # message_wait and external_task rows
        return True
    # the team member with the fewest open tasks: the count must see the tasks of the starts before it
    return any(task.meta is not None and bool(task.meta.properties.get(ROUTING))
               and task.meta.properties.get(BALANCE) == "fewest_open" for task in waits.users)


@dataclass
class _Kept:
    """Started instances whose rows are not written yet, in start order."""

    instances: list[InstanceRow] = field(default_factory=list)
    runtimes: list[tuple[Runtime, frozenset[str], dict[str, datetime], str]] = field(default_factory=list)
    events: list[list[dict[str, Any]]] = field(default_factory=list)
    tasks: list[list[tuple[dict[str, Any], list[str], list[str]]]] = field(default_factory=list)
    timers: list[list[dict[str, Any]]] = field(default_factory=list)

    def write(self, uow: UnitOfWork) -> None:
        """Insert the instances (ids in start order), then their events, tasks with candidates and timers."""
        if not self.instances:
            return
        uow.instances.insert_new_many(self.instances)
        for instance, events, tasks, timers in zip(self.instances, self.events, self.tasks, self.timers,
                                                   strict=True):
            for row in events:
                row["instance_id"] = instance.id
            for values, _, _ in tasks:
                values["instance_id"] = instance.id
            for row in timers:
                row["instance_id"] = instance.id
        uow.history.add_batch([row for events in self.events for row in events])
        uow.tasks.insert_open_many([task for tasks in self.tasks for task in tasks])
        uow.timers.insert_awaited([row for timers in self.timers for row in timers])
        for instance, (runtime, ready, awaited, state) in zip(self.instances, self.runtimes, strict=True):
            runtime.saved_as(ready, awaited, False, False)  # what the rows now mirror
            keep_hot(uow, instance, runtime, state)
        self.instances, self.runtimes, self.events, self.tasks, self.timers = [], [], [], [], []


def start_for_new_records(uow: UnitOfWork, actor: Actor, records: Sequence[RecordRow], now: datetime) -> None:
    """start_for_new_record for each of these new records of one entity, in order, with the same outcome: the
    rows of the starts written together (module docstring)."""
    if not records:
        return
    versions = versions_starting_on(uow, records[0].entity, "create")
    if not versions:
        return
    time = business_time(uow)
    kept = _Kept()
    for record in records:
        for version in versions:
            runtime, steps = Runtime.start(version.id, version.spec_json, process_data(uow, record), time=time)
            instance, started = new_instance(version, record, actor, now)
            waits = runtime.waits()
            if written_alone(runtime, steps, waits):
                kept.write(uow)  # the starts before it first, as one by one
                advance(uow, instance, version, runtime, steps, actor.username, now, opening=[started])
                continue
            events = [started, *(step_event(instance, step, actor.username, now) for step in steps)]
            completed = runtime.is_completed()
            if completed:
                events.append(event_values(instance, now, "process", "instance_completed"))
            give_record(uow, runtime, record, waits)
            state = runtime.dump()
            save_new(instance, state, completed, now)
            kept.instances.append(instance)
            kept.tasks.append([new_task_row(uow, instance, record, now, events, task) for task in waits.users])
            kept.events.append(events)
            kept.timers.append([timer_row(instance, timer) for timer in waits.timers])
            kept.runtimes.append((runtime, frozenset(task.task_id for task in waits.users),
                                  {timer.task_id: timer.due_at for timer in waits.timers}, state))
    kept.write(uow)
