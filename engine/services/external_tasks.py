"""External tasks (camunda:type="external"): workers fetch and lock them by topic, then complete them, report a
failure (no retries left: an incident) or throw a BPMN error; locks expire, so delivery is at least once."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from engine.errors import FlowError, NotFound, ValidationError
from engine.messages import Message
from engine.services.access import require_permission
from engine.services.instances import advance, load_runtime
from engine.services.jobs import ERROR_LENGTH, Concerns, Job
from engine.services.views import Actor
from engine.store.external_models import ExternalTaskRow
from engine.store.incident_models import IncidentRow
from engine.store.models import InstanceEventRow
from engine.store.uow import UnitOfWork

PERMISSION = "engine_rest.call"
MAX_TASKS = 100
MAX_WAIT_MS = 60_000  # a long poll holds a server thread: at most a minute (Camunda allows 30 min)
POLL_SECONDS = 0.25  # how often a long poll looks for new tasks


class LockError(FlowError):
    """The task's lock is held by another worker (or by none): Camunda's 400 BadUserRequestException."""


@dataclass(frozen=True)
class TopicRequest:
    """One topic of a fetchAndLock request."""

    name: str
    lock_ms: int
    variables: tuple[str, ...] | None = None  # None: every variable
    business_key: str | None = None
    process_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class FetchRequest:
    """A fetchAndLock request."""

    worker_id: str
    max_tasks: int
    topics: tuple[TopicRequest, ...]
    use_priority: bool = False
    wait_ms: int = 0


@dataclass(frozen=True)
class ExternalTaskView:
    """An external task as Camunda describes it (the web layer renders it in Camunda's field names)."""

    id: str
    topic: str
    instance_id: int
    process_id: str
    activity_id: str
    business_key: str | None
    priority: int
    worker_id: str | None
    lock_expires_at: datetime | None
    retries: int | None
    error_message: str | None
    error_details: str | None
    created_at: datetime
    variables: dict[str, Any] = field(default_factory=dict)


def _view(row: ExternalTaskRow, variables: tuple[str, ...] | None = ()) -> ExternalTaskView:
    wanted = row.variables if variables is None else {k: v for k, v in row.variables.items() if k in variables}
    return ExternalTaskView(
        row.id,
        row.topic,
        row.instance_id,
        row.process_id,
        row.activity_id,
        row.business_key,
        row.priority,
        row.worker_id,
        row.lock_expires_at,
        row.retries,
        row.error_message,
        row.error_details,
        row.created_at,
        dict(wanted),
    )


def fetch_and_lock(uow: UnitOfWork, actor: Actor, request: FetchRequest, now: datetime) -> list[ExternalTaskView]:
    """Lock up to max_tasks free tasks of the requested topics for the worker, with their variables."""
    require_permission(actor, PERMISSION, action="fetch external tasks")
    by_topic = {t.name: t for t in request.topics}
    with uow:
        filters = [(t.name, {"business_key": t.business_key, "process_ids": t.process_ids}) for t in request.topics]
        rows = uow.external_tasks.fetchable(filters, now, request.max_tasks, request.use_priority)
        views = []
        for row in rows:
            topic = by_topic[row.topic]
            if uow.external_tasks.take(row, request.worker_id, now + timedelta(milliseconds=topic.lock_ms), now):
                views.append(_view(row, topic.variables))
        uow.commit()
        return views


def fetch_and_lock_waiting(
    uow: UnitOfWork,
    actor: Actor,
    request: FetchRequest,
    clock: Callable[[], datetime],
    sleep: Callable[[float], None] = time.sleep,
) -> list[ExternalTaskView]:
    """fetchAndLock with long polling: when nothing is free, look again every POLL_SECONDS until a task appears
    or asyncResponseTimeout (at most MAX_WAIT_MS) passes; each look is its own short transaction."""
    start = clock()
    deadline = start + timedelta(milliseconds=min(request.wait_ms, MAX_WAIT_MS))
    names = [t.name for t in request.topics]
    while True:
        found = fetch_and_lock(uow, actor, request, clock())
        if found:
            return found
        while True:
            left = (deadline - clock()).total_seconds()
            if left <= 0:
                return []
            sleep(min(POLL_SECONDS, left))
            with uow:
                if uow.external_tasks.any_fetchable(names, clock()):
                    break


def _held(
    uow: UnitOfWork,
    task_id: str,
    worker_id: str | None,
    now: datetime,
    *,
    must_be_locked: bool = False,
) -> ExternalTaskRow:
    """The task, write-locked, after checking the worker holds its most recent lock."""
    row = uow.external_tasks.get(task_id, lock=True)
    if row is None:
        raise NotFound(f"External task with id {task_id} does not exist")
    if worker_id is not None and row.worker_id != worker_id:
        holder = f"locked by worker '{row.worker_id}'" if row.worker_id else "not locked by any worker"
        raise LockError(f"External task {task_id} cannot be changed by worker '{worker_id}': it is {holder}")
    if must_be_locked and (row.lock_expires_at is None or row.lock_expires_at <= now):
        raise LockError(
            f"External task {task_id} is not locked (its lock expired or was released): fetch and lock it again"
        )
    return row


def complete(
    uow: UnitOfWork,
    actor: Actor,
    task_id: str,
    worker_id: str,
    variables: dict[str, Any],
    local_variables: dict[str, Any],
    now: datetime,
) -> None:
    """Complete a task the worker holds: its variables go into the process, which runs on. Local variables stay
    on the task (kept in the instance history), as in Camunda where they end with the task's scope."""
    require_permission(actor, PERMISSION, action="complete external tasks")
    with uow:
        row = _held(uow, task_id, worker_id, now)
        instance, version, runtime = load_runtime(uow, row.instance_id)
        steps = runtime.complete_external(task_id, variables)
        submitted = {"variables": variables, "local_variables": local_variables, "worker_id": worker_id}
        advance(uow, instance, version, runtime, steps, actor.username, now, submitted)
        uow.commit()


def report_failure(
    uow: UnitOfWork,
    actor: Actor,
    task_id: str,
    worker_id: str,
    message: str | None,
    details: str | None,
    retries: int,
    retry_timeout_ms: int,
    now: datetime,
) -> None:
    """Note a worker's failure: the task is fetchable again after retryTimeout while retries are left; with
    retries 0 it becomes an incident (retried from /admin/incidents or POST /api/v1/incidents/<id>/retry)."""
    require_permission(actor, PERMISSION, action="report external task failures")
    with uow:
        row = _held(uow, task_id, worker_id, now)
        row.error_message = (message or "")[:ERROR_LENGTH] or None
        row.error_details = details
        row.retries = retries
        row.lock_expires_at = None
        row.available_at = now + timedelta(milliseconds=retry_timeout_ms) if retry_timeout_ms else None
        _note(
            uow, row, actor, now, "external_task_failed", {"worker_id": worker_id, "error": message, "retries": retries}
        )
        if retries == 0:
            _open_incident(uow, row, message or Message("runtime.external_no_message", element=row.activity_id), now)
        uow.commit()


def throw_bpmn_error(
    uow: UnitOfWork,
    actor: Actor,
    task_id: str,
    worker_id: str,
    code: str,
    message: str | None,
    variables: dict[str, Any],
    now: datetime,
) -> None:
    """Throw a BPMN error from the task: an error boundary event on it catches it and the process runs on from
    there. When none catches it the task stays, with retries 0, as an incident naming the error code (Camunda
    would end the execution silently; here nothing is lost without a word)."""
    require_permission(actor, PERMISSION, action="throw BPMN errors from external tasks")
    with uow:
        row = _held(uow, task_id, worker_id, now)
        instance, version, runtime = load_runtime(uow, row.instance_id)
        steps = runtime.throw_error(task_id, code, variables)
        data = {"worker_id": worker_id, "error_code": code, "error": message, "variables": variables}
        if steps is None:
            error = (
                f"BPMN error {code!r} ({message or 'no message'}) thrown by worker {worker_id!r} is caught by "
                f"no error boundary event on activity {row.activity_id!r}"
            )
            row.retries, row.lock_expires_at, row.error_message = 0, None, error[:ERROR_LENGTH]
            _note(uow, row, actor, now, "external_task_error_uncaught", data)
            _open_incident(uow, row, error, now)
        else:
            _note(uow, row, actor, now, "external_task_error", data)
            advance(uow, instance, version, runtime, steps, actor.username, now)
        uow.commit()


def extend_lock(uow: UnitOfWork, actor: Actor, task_id: str, worker_id: str, duration_ms: int, now: datetime) -> None:
    """Set the lock of a task the worker holds to end `duration_ms` from now."""
    require_permission(actor, PERMISSION, action="extend external task locks")
    if duration_ms < 0:
        raise ValidationError({"newDuration": [f"must not be negative, got {duration_ms}"]})
    with uow:
        row = _held(uow, task_id, worker_id, now, must_be_locked=True)
        row.lock_expires_at = now + timedelta(milliseconds=duration_ms)
        uow.commit()


def unlock(uow: UnitOfWork, actor: Actor, task_id: str, now: datetime) -> None:
    """Release a task's lock (whoever holds it): another worker may fetch it at once."""
    require_permission(actor, PERMISSION, action="unlock external tasks")
    with uow:
        row = _held(uow, task_id, None, now)
        row.worker_id, row.lock_expires_at = None, None
        uow.commit()


def get_task(uow: UnitOfWork, actor: Actor, task_id: str) -> ExternalTaskView:
    """One task by id."""
    require_permission(actor, PERMISSION, action="read external tasks")
    with uow:
        row = uow.external_tasks.get(task_id)
        if row is None:
            raise NotFound(f"External task with id {task_id} does not exist")
        return _view(row)


def list_tasks(
    uow: UnitOfWork, actor: Actor, filters: dict[str, Any], now: datetime, limit: int | None, offset: int
) -> tuple[list[ExternalTaskView], int]:
    """Tasks matching Camunda's query parameters, oldest first; and how many match in all."""
    require_permission(actor, PERMISSION, action="read external tasks")
    with uow:
        rows, total = uow.external_tasks.search(filters, now, limit, offset)
        return [_view(r) for r in rows], total


def _note(uow: UnitOfWork, row: ExternalTaskRow, actor: Actor, now: datetime, kind: str, data: dict[str, Any]) -> None:
    uow.history.add(
        InstanceEventRow(
            instance_id=row.instance_id,
            at=now,
            actor=actor.username,
            kind=kind,
            task_id=row.id,
            element_id=row.activity_id,
            element_type="ExternalTask",
            data=data,
        )
    )


def _open_incident(uow: UnitOfWork, row: ExternalTaskRow, error: str, now: datetime) -> None:
    """One open incident per task: a second failure before anyone retried updates it."""
    incident = uow.incidents.open_for(EXTERNAL.kind, row.id)
    if incident is not None:
        incident.error, incident.attempts = error[:ERROR_LENGTH], incident.attempts + 1
        return
    instance = uow.instances.get(row.instance_id)
    uow.incidents.add(
        IncidentRow(
            kind=EXTERNAL.kind,
            job_key=row.id,
            instance_id=row.instance_id,
            task_id=row.id,
            record_id=instance.record_id if instance else None,
            error=error[:ERROR_LENGTH],
            attempts=1,
            created_at=now,
        )
    )


class ExternalTaskJob(Job[ExternalTaskRow]):
    """External tasks as the incident page retries them: a retry gives the task one retry and frees it, so the
    next fetchAndLock hands it to a worker again. Workers, not the timer worker, run these tasks."""

    kind = "external"

    def find(self, uow: UnitOfWork, key: str) -> ExternalTaskRow | None:
        return uow.external_tasks.get(key)

    def key(self, row: ExternalTaskRow) -> str:
        return row.id

    def concerns(self, row: ExternalTaskRow) -> Concerns:
        return Concerns(instance_id=row.instance_id, task_id=row.id)

    def unpark(self, uow: UnitOfWork, row: ExternalTaskRow, now: datetime) -> None:
        row.retries, row.available_at, row.worker_id, row.lock_expires_at = 1, None, None, None


EXTERNAL = ExternalTaskJob()
