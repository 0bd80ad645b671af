"""Process instances: start, advance (tasks, history, record fields, timers), read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from engine.errors import ConflictError, FlowError, NotFound, ValidationError
from engine.processes import sandbox
from engine.processes.bindings import EMAIL_TEMPLATE, EMAIL_TO
from engine.processes.camunda_timers import TimerTextIn
from engine.processes.definitions import ElementMeta, resolve, resolve_names
from engine.processes.deployed import StartingVersion, active_bundle, business_time, versions_starting_on
from engine.processes.spiff import SERIALIZER_VERSION, PendingTimer, ReadyTask, Runtime, Step, Waits, parse_duration
from engine.records.outbox import queue_email
from engine.records.schema import validate_record, value_from_text
from engine.services.access import reads_everything, require_permission
from engine.services.assignment import route_task
from engine.services.records import can_see, entity_of, refuse_merged, write_fields
from engine.services.views import Actor, InstanceDetail, InstanceView, StepView
from engine.store.events import InstanceMoved, ProcessStartRequested, RecordCreated
from engine.store.external_models import ExternalTaskRow
from engine.store.models import (
    InstanceRow,
    MessageWaitRow,
    ProcessVersionRow,
    RecordRow,
)
from engine.store.uow import UnitOfWork

Version = ProcessVersionRow | StartingVersion  # a version row, or what starting an instance needs of one

def process_data(uow: UnitOfWork, record: RecordRow | None) -> dict[str, Any]:
    """What every step of an instance sees of its record (and its owner's username, for assignee expressions)."""
    if record is None:
        return {}
    owner = uow.users.get(record.owner_id) if record.owner_id else None
    return {"record": dict(record.data), "record_id": record.id, "record_owner": owner.username if owner else None}


def _named(instance: InstanceRow) -> str:
    """How an error names an instance (one being started has no id yet)."""
    return f"instance {instance.id}" if instance.id is not None else "the instance being started"


def event_values(instance: InstanceRow, now: datetime, actor: str, kind: str, step: Step | None = None,
                 data: dict[str, Any] | None = None) -> dict[str, Any]:
    """An instance_event row's values (written in one statement with the others of the step)."""
    return {"instance_id": instance.id, "at": now, "actor": actor, "kind": kind,
            "task_id": step.task_id if step else None, "element_id": step.element_id if step else None,
            "element_name": step.element_name if step else None,
            "element_type": step.element_type if step else None, "data": data}


def step_event(instance: InstanceRow, step: Step, actor: str, now: datetime,
               submitted: dict[str, Any] | None = None) -> dict[str, Any]:
    """The instance_event values of a step the workflow took (a person's, with what they submitted, or its own)."""
    return event_values(instance, now, actor if step.manual else "process",
                        "task_completed" if step.manual else "step", step, submitted if step.manual else None)


def _apply_set_fields(uow: UnitOfWork, instance: InstanceRow, version: Version, record: RecordRow | None,
                      step: Step, meta: ElementMeta, now: datetime) -> dict[str, tuple[Any, Any]]:
    """Write the step's set.<field> literal values and compute.<field> expressions to the instance's record."""
    if not meta.set_fields and not meta.compute_fields:
        return {}
    if record is None:
        raise FlowError(f"{meta.id}: set.* and compute.* need a record, and {_named(instance)} has none")
    bundle, _ = active_bundle(uow)
    entity = entity_of(bundle, record.entity)
    values = {name: value_from_text(entity.fields[name], bundle.catalogs, text) if name in entity.fields else text
              for name, text in meta.set_fields.items()}
    names = dict(step.data)
    values.update({name: sandbox.evaluate(expr, names) for name, expr in meta.compute_fields.items()})
    try:
        clean = validate_record(entity, bundle, values, partial=True)
    except ValidationError as exc:
        raise FlowError(f"{version.file} [{meta.id}]: set.* / compute.* produced invalid values: {exc}") from exc
    return write_fields(uow, record, clean, actor="process", now=now, entity=entity,
                        source=f"process {version.process_id} v{version.version} / {meta.id}")


def _send_bound_email(uow: UnitOfWork, instance: InstanceRow, version: Version, record: RecordRow | None,
                      meta: ElementMeta, now: datetime) -> None:
    """A service task bound to send_email (processes/bindings.yaml): queue the e-mail in the step's transaction."""
    template = meta.properties.get(EMAIL_TEMPLATE)
    if template is None:
        return
    where = f"{version.file} [{meta.id}]"
    if record is None:
        raise FlowError(f"{where}: send_email needs a record, and {_named(instance)} has none")
    bundle, _ = active_bundle(uow)
    to_field = meta.properties[EMAIL_TO]
    try:
        queue_email(uow, record, template, record.data.get(to_field), bundle.settings.default_locale,
                    f"process {version.process_id} v{version.version} / {meta.id}", now)
    except ValidationError as exc:
        raise FlowError(f"{where}: send_email to the field {to_field!r}: {exc}") from exc


def _resolve_user_id(uow: UnitOfWork, name: str | None) -> int | None:
    if not name:
        return None
    user = uow.users.by_username(name)
    return user.id if user else None


def _sync_tasks(uow: UnitOfWork, instance: InstanceRow, runtime: Runtime, record: RecordRow | None,
                now: datetime, events: list[dict[str, Any]], waits: Waits) -> frozenset[str]:
    """Task rows mirror the workflow's ready user tasks (`waits.users`); the ids of those tasks."""
    # the rows of the tasks that were ready when the workflow was saved (by id: the one being completed is in
    # this unit of work already, so usually nothing is read)
    known = (uow.tasks.get(task_id) for task_id in runtime.saved_ready)
    open_rows = {t.id: t for t in known if t is not None and t.state == "open"}
    ready = {t.task_id: t for t in waits.users}
    for task_id, row in open_rows.items():
        if task_id not in ready:  # interrupted by a boundary event or the instance ended
            row.state = "cancelled"
            row.completed_at = now
            uow.tasks.set_pooled(task_id, False)
    for task_id, task in ready.items():
        if task_id not in open_rows:
            uow.tasks.insert_open(*new_task_row(uow, instance, record, now, events, task))
    return frozenset(ready)


def new_task_row(uow: UnitOfWork, instance: InstanceRow, record: RecordRow | None, now: datetime,
                 events: list[dict[str, Any]], task: ReadyTask) -> tuple[dict[str, Any], list[str], list[str]]:
    """The row of a user task the step opens (its candidate groups and users beside it), routed and assigned;
    the routing's event appended to `events`."""
    meta = task.meta or ElementMeta(id=task.element_id, kind="userTask", name=task.title, line=None)
    data = task.data
    where = f"{meta.id}: camunda:"
    groups = resolve_names(meta.candidate_groups, data, where + "candidateGroups ")
    if not groups and not meta.candidate_users and not meta.assignee and task.lane:
        groups = [task.lane]
    users = resolve_names(meta.candidate_users, data, where + "candidateUsers ")
    assignee = resolve(meta.assignee, data, where + "assignee ") if meta.assignee else None
    assignee_id = _resolve_user_id(uow, None if assignee is None else str(assignee))
    groups, assignee_id = route_task(uow, instance.id, task, meta, now, groups, assignee_id, events)
    due_at = None
    if meta.due_date:
        due_value = resolve(meta.due_date, data, where + "dueDate ")
        zone = business_time(uow).zone  # a date without offset is read in the deployed calendar's zone
        due_text = "" if due_value is None else str(TimerTextIn(zone)(due_value))
        if due_text:
            try:
                due_at = parse_duration(due_text, now)
            except ValueError as exc:
                raise FlowError(f"{meta.id}: camunda:dueDate: {exc}") from exc
    return ({"id": task.task_id, "instance_id": instance.id,
             "process_version_id": instance.process_version_id,
             "record_id": record.id if record else None,
             "record_title": record.title if record else None, "spec_name": task.element_id,
             "title": task.title, "form_key": meta.form_key, "lane": task.lane,
             "candidate_groups": ",".join(groups), "candidate_users": ",".join(users),
             "assignee_id": assignee_id, "state": "open",
             "due_at": due_at, "created_at": now, "completed_at": None, "completed_by": None},
            groups, users)


def _sync_timers(uow: UnitOfWork, instance: InstanceRow, runtime: Runtime, waits: Waits) -> dict[str, datetime]:
    """Timer rows mirror the timers the workflow waits on (`waits.timers`). What they held is what the saved workflow
    waited on (`Runtime.saved_timers`), so the step writes the difference without reading them first. The due time
    of each awaited timer by task id."""
    pending = {t.task_id: t for t in waits.timers}
    saved = runtime.saved_timers
    awaited = {task_id: timer.due_at for task_id, timer in pending.items()}
    if not pending and not saved:
        return awaited  # none awaited before or now: no rows to read or write
    gone = sorted(task_id for task_id in saved if task_id not in pending)
    if gone:
        uow.timers.forget(instance.id, gone)
    new = []
    for task_id, timer in pending.items():
        if task_id not in saved:
            new.append(timer_row(instance, timer))
        elif saved[task_id] != timer.due_at:  # a cycle moved on
            uow.timers.move(instance.id, task_id, timer.due_at)
    uow.timers.insert_awaited(new)
    return awaited


def timer_row(instance: InstanceRow, timer: PendingTimer) -> dict[str, Any]:
    """The timer row of a timer the instance starts to wait on."""
    return {"instance_id": instance.id, "task_id": timer.task_id, "element_id": timer.element_id,
            "due_at": timer.due_at}


def _sync_messages(uow: UnitOfWork, instance: InstanceRow, runtime: Runtime, waits: Waits) -> bool:
    """One message_wait row per waiting message catch; its business key is the record id (events.yaml may
    correlate by another record field: that is read from the record when an event arrives). Whether any waits."""
    # keyed by task and message: an event-based gateway is one task waiting for several messages
    pending = {(t.task_id, t.message): t for t in waits.messages}
    if not pending and not runtime.saved_waits_messages:
        return False  # none awaited before or now: no rows to read or write
    existing = {(t.task_id, t.message): t for t in uow.events.waits_for_instance(instance.id)}
    for wanted, row in existing.items():
        if wanted not in pending:
            uow.events.delete(row)
    key = str(instance.record_id) if instance.record_id is not None else None
    for (task_id, message), _wait in pending.items():
        if (task_id, message) not in existing:
            uow.events.add(MessageWaitRow(instance_id=instance.id, task_id=task_id, message=message,
                                          business_key=key))
    return bool(pending)


def _sync_external_tasks(uow: UnitOfWork, instance: InstanceRow, version: Version, runtime: Runtime,
                         now: datetime, waits: Waits) -> bool:
    """One external_task row per external service task waiting for a worker (engine.services.external_tasks);
    its business key is the record id, as for message correlation. Whether any waits."""
    ready = {t.task_id: t for t in waits.external}
    if not ready and not runtime.saved_external_tasks:
        return False  # none awaited before or now: no rows to read or write
    existing = {t.id: t for t in uow.external_tasks.for_instance(instance.id)}
    for task_id, row in existing.items():
        if task_id not in ready:  # completed, or interrupted by a boundary event
            uow.external_tasks.delete(row)
    key = str(instance.record_id) if instance.record_id is not None else None
    for task_id, task in ready.items():
        if task_id not in existing:
            uow.external_tasks.add(ExternalTaskRow(
                id=task_id, topic=task.topic, instance_id=instance.id, process_id=version.process_id,
                activity_id=task.element_id, business_key=key, priority=task.priority, variables=task.data,
                created_at=now))
    return bool(ready)


def advance(uow: UnitOfWork, instance: InstanceRow, version: Version, runtime: Runtime,
            steps: list[Step], actor: str, now: datetime, submitted: dict[str, Any] | None = None, *,
            depth: int = 0, chain: tuple[str, ...] = (), opening: list[dict[str, Any]] | None = None) -> None:
    """Record what the instance just did and bring tasks, timers, record and status in line.

    Rules triggered by set.* writes run at once, inside the caller's transaction (`depth`/`chain`: the rule
    cascade this happens in, when a rule started the process; `opening`: instance events written first, in the
    same statement as the step's)."""
    record = uow.records.get(instance.record_id) if instance.record_id else None
    events = list(opening or ())
    for step in steps:
        events.append(step_event(instance, step, actor, now, submitted))
        meta = runtime.elements.get(step.element_id)
        if meta is not None:
            changed = _apply_set_fields(uow, instance, version, record, step, meta, now)
            _send_bound_email(uow, instance, version, record, meta, now)
            if record is not None and changed:
                uow.publish(InstanceMoved(instance, record, changed, now, depth, chain))
    completed = runtime.is_completed() and instance.status == "running"
    if completed:
        events.append(event_values(instance, now, "process", "instance_completed"))
    # what the workflow waits on, read once for the rows below (the workflow does not move after this)
    waits = runtime.waits()
    give_record(uow, runtime, record, waits)
    # the workflow is final from here on (the rows below mirror it): an instance being started is inserted now,
    # with its state, in one INSERT (rather than an INSERT to get an id and an UPDATE with the state)
    state = runtime.dump()
    inserted = instance.id is None
    if inserted:
        save_new(instance, state, completed, now)
        uow.instances.insert_new(instance)
    for row in events:  # an instance being started had no id when its first events were made
        row["instance_id"] = instance.id
    ready = _sync_tasks(uow, instance, runtime, record, now, events, waits)  # appends the routing of tasks it opens
    # every event of the step in one statement, the routing of the tasks it opened last; it flushes nothing
    # else, so the instance row is still written in one UPDATE at the end
    uow.history.add_many(events)
    timers = _sync_timers(uow, instance, runtime, waits)
    waits_messages = _sync_messages(uow, instance, runtime, waits)
    has_external = _sync_external_tasks(uow, instance, version, runtime, now, waits)
    if not inserted:  # one prebuilt UPDATE checked by revision, not an ORM flush of the row
        uow.instances.save_state(instance, _state_values(instance, state, completed, now))
    runtime.saved_as(ready, timers, waits_messages, has_external)  # what the rows now mirror, without walking again
    keep_hot(uow, instance, runtime, state)


def give_record(uow: UnitOfWork, runtime: Runtime, record: RecordRow | None, waits: Waits) -> None:
    """Put what a step sees of its record on each ready user task (and on the task's copy in `waits`)."""
    if record is not None:
        for task in waits.users:
            values = process_data(uow, record)
            runtime.set_task_data(task.task_id, values)
            task.data.update(values)  # the task's copy, as a fresh read of its data would be


def keep_hot(uow: UnitOfWork, instance: InstanceRow, runtime: Runtime, state: str) -> None:
    """Offer the workflow for the instance's next step once the commit stored `state` (Runtime.keep)."""

    def kept() -> None:
        if instance.state_json is state and instance.status == "running":  # not saved again since
            runtime.keep(instance.id, instance.revision, state)

    uow.after_commit(kept)


def _state_values(instance: InstanceRow, state: str, completed: bool, now: datetime) -> dict[str, Any]:
    """The instance row's state columns after a step: the workflow's state, and its end when it just completed."""
    return {"state_json": state, "serializer_version": SERIALIZER_VERSION,
            "status": "completed" if completed else instance.status,
            "ended_at": now if completed else instance.ended_at}


def save_new(instance: InstanceRow, state: str, completed: bool, now: datetime) -> None:
    """Put the workflow's state (and its end, when it just completed) on a new instance row before its INSERT."""
    for name, value in _state_values(instance, state, completed, now).items():
        setattr(instance, name, value)


def start_version(uow: UnitOfWork, actor: Actor, version: Version, record: RecordRow | None,
                  now: datetime, *, depth: int = 0, chain: tuple[str, ...] = (),
                  variables: dict[str, Any] | None = None) -> InstanceRow:
    """Start one instance of a process version inside the caller's transaction (`variables`: its start data,
    beside what it sees of its record)."""
    runtime, steps = Runtime.start(version.id, version.spec_json, {**(variables or {}), **process_data(uow, record)},
                                   time=business_time(uow))
    instance, started = new_instance(version, record, actor, now)
    advance(uow, instance, version, runtime, steps, actor.username, now, depth=depth, chain=chain, opening=[started])
    return instance


def new_instance(version: Version, record: RecordRow | None, actor: Actor,
                 now: datetime) -> tuple[InstanceRow, dict[str, Any]]:
    """A new instance row of `version` (not inserted yet) and its instance_started event's values."""
    # inserted once the workflow reached its first wait (with that state: one INSERT)
    # (not staged in the session meanwhile: nothing flushes it early with an empty state)
    instance = InstanceRow(process_version_id=version.id, record_id=record.id if record else None,
                           status="running", state_json="{}", serializer_version=SERIALIZER_VERSION,
                           started_at=now, started_by=actor.username)
    return instance, event_values(instance, now, actor.username, "instance_started",
                            data={"process_id": version.process_id, "version": version.version})


def start_on_create(uow: UnitOfWork, event: RecordCreated) -> None:
    """Handler: start the processes that start when a record of this entity is created (unless its writer
    starts them itself)."""
    if event.start_processes and event.actor is not None:
        start_for_new_record(uow, event.actor, event.record, event.now, depth=event.depth, chain=event.chain)


def start_requested(uow: UnitOfWork, event: ProcessStartRequested) -> None:
    """Handler: start the process version a rule's `start_process` action asked for, on its record."""
    start_version(uow, event.actor, event.version, event.record, event.now, depth=event.depth, chain=event.chain)


def start_for_new_record(uow: UnitOfWork, actor: Actor, record: RecordRow, now: datetime, *, depth: int = 0,
                         chain: tuple[str, ...] = ()) -> list[int]:
    """Start every process whose newest version says flowcrm.startOn=create for this entity."""
    started = []
    for version in versions_starting_on(uow, record.entity, "create"):
        started.append(start_version(uow, actor, version, record, now, depth=depth, chain=chain).id)
    return started


def start_process(uow: UnitOfWork, actor: Actor, process_id: str, record_id: int | None,
                  now: datetime) -> InstanceView:
    """Start the newest version of a process, optionally on a record."""
    require_permission(actor, "process.start", action="start processes")
    with uow:
        version = uow.config.latest_process(process_id)
        if version is None:
            raise NotFound(f"process {process_id!r} is not deployed")
        record = None
        if record_id is not None:
            record = uow.records.get(record_id)
            if record is None or not can_see(uow, actor, record):
                raise NotFound(f"record {record_id} not found")
            refuse_merged(record)
            if version.entity and record.entity != version.entity:
                raise ValidationError({"record_id": [f"{process_id} runs on {version.entity}, "
                                                     f"not on {record.entity}"]})
        elif version.entity:
            raise ValidationError({"record_id": [f"{process_id} runs on a {version.entity} record: give one"]})
        instance = start_version(uow, actor, version, record, now)
        uow.commit()
        return instance_view(instance, version)


def load_runtime(uow: UnitOfWork, instance_id: int) -> tuple[InstanceRow, ProcessVersionRow, Runtime]:
    """An instance row, its version and its restored workflow."""
    instance = uow.instances.get(instance_id)
    if instance is None:
        raise NotFound(f"process instance {instance_id} not found")
    if instance.status != "running":
        raise ConflictError(f"process instance {instance_id} is {instance.status}")
    version = uow.config.process_version(instance.process_version_id)
    assert version is not None  # noqa: S101 - foreign key
    runtime = Runtime.load_saved(instance.id, instance.revision, version.id, version.spec_json, instance.state_json,
                                 time=business_time(uow))
    return instance, version, runtime


def instance_view(row: InstanceRow, version: ProcessVersionRow) -> InstanceView:
    """An instance row as a view."""
    return InstanceView(row.id, version.process_id, version.name, version.version, row.record_id, row.status,
                        row.started_at, row.started_by, row.ended_at)


def load_readable(uow: UnitOfWork, actor: Actor, instance_id: int) -> InstanceRow:
    """An instance the actor may read, inside the caller's transaction; NotFound otherwise (existence is not
    leaked). An instance on a record is read by the readers of that record; a standalone one by its starter and
    the readers of any of its tasks. Definition readers (designers) see the diagrams, not the instances' data."""
    from engine.services.tasks import task_readable

    row = uow.instances.get(instance_id)
    if row is not None and not reads_everything(actor):
        record = uow.records.get(row.record_id) if row.record_id else None
        if record is not None:
            readable = can_see(uow, actor, record)
        else:
            readable = row.record_id is None and (row.started_by == actor.username or any(
                task_readable(uow, actor, task) for task in uow.tasks.for_instance(row.id)))
        if not readable:
            row = None
    if row is None:
        raise NotFound(f"process instance {instance_id} not found")
    return row


def get_instance(uow: UnitOfWork, actor: Actor, instance_id: int) -> InstanceDetail:
    """An instance with every step it took, who took it, when, and with what data."""
    from engine.services.tasks import task_views

    with uow:
        row = load_readable(uow, actor, instance_id)
        version = uow.config.process_version(row.process_version_id)
        assert version is not None  # noqa: S101 - foreign key
        steps = [StepView(e.at, e.actor, e.kind, e.element_id, e.element_name, e.element_type, e.data)
                 for e in uow.history.events(row.id)]
        return InstanceDetail(instance_view(row, version), steps, task_views(uow, uow.tasks.for_instance(row.id)))


def instances_for_record(uow: UnitOfWork, actor: Actor, record_id: int) -> list[InstanceView]:
    """The processes a record is (or was) in."""
    with uow:
        record = uow.records.get(record_id)
        if record is None or not can_see(uow, actor, record):
            raise NotFound(f"record {record_id} not found")
        views = []
        for row in uow.instances.for_record(record_id):
            version = uow.config.process_version(row.process_version_id)
            assert version is not None  # noqa: S101 - foreign key
            views.append(instance_view(row, version))
        return views
