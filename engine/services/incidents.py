"""Incidents: job items parked after their retries; listed, shown on their instance, retried by hand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.errors import ConflictError, NotFound, ValidationError
from engine.services.access import require_permission
from engine.services.external_tasks import EXTERNAL
from engine.services.jobs import Job
from engine.services.mail import MailJob
from engine.services.reminders import REMINDERS
from engine.services.rules import ScheduleJob
from engine.services.timers import TIMERS
from engine.services.views import Actor
from engine.store.incident_models import IncidentRow
from engine.store.models import InstanceEventRow
from engine.store.uow import UnitOfWork

KINDS = ("timer", "reminder", "outbox", "rule", "scan", "external")
STATES = ("open", "resolved")
_JOBS: dict[str, Job[Any]] = {
    "timer": TIMERS,
    "reminder": REMINDERS,
    "outbox": MailJob(),
    "rule": ScheduleJob({}),
    "scan": ScheduleJob({}),
    "external": EXTERNAL,
}


@dataclass(frozen=True)
class IncidentView:
    id: int
    kind: str
    job_key: str
    instance_id: int | None
    task_id: str | None
    record_id: int | None
    error: str
    attempts: int
    created_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None


@dataclass(frozen=True)
class IncidentPage:
    items: list[IncidentView]
    total: int
    limit: int
    offset: int


def _view(row: IncidentRow) -> IncidentView:
    return IncidentView(
        row.id,
        row.kind,
        row.job_key,
        row.instance_id,
        row.task_id,
        row.record_id,
        row.error,
        row.attempts,
        row.created_at,
        row.resolved_at,
        row.resolved_by,
    )


def list_incidents(
    uow: UnitOfWork,
    actor: Actor,
    *,
    kind: str | None = None,
    state: str | None = None,
    instance_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> IncidentPage:
    """Incidents, newest first, filtered by kind, state (open | resolved) and instance (admins, designers,
    auditors)."""
    require_permission(actor, "incident.read", action="read incidents")
    errors = {}
    if kind and kind not in KINDS:
        errors["kind"] = [f"must be one of {', '.join(KINDS)}, not {kind!r}"]
    if state and state not in STATES:
        errors["state"] = [f"must be one of {', '.join(STATES)}, not {state!r}"]
    if errors:
        raise ValidationError(errors)
    with uow:
        rows, total = uow.incidents.search(kind or None, state or None, instance_id, limit, offset)
        return IncidentPage([_view(r) for r in rows], total, limit, offset)


def instance_incidents(uow: UnitOfWork, instance_id: int) -> list[IncidentView]:
    """The incidents of one instance, newest first (for its page: the caller checked it may see it)."""
    with uow:
        rows, _ = uow.incidents.search(None, None, instance_id, 100, 0)
        return [_view(r) for r in rows]


def retry_incident(uow: UnitOfWork, actor: Actor, incident_id: int, now: datetime) -> IncidentView:
    """Resolve an open incident by making its job item due now with its attempts counted afresh (admins,
    designers); the instance's history notes who did it and when."""
    require_permission(actor, "incident.retry", action="retry incidents")
    with uow:
        incident = uow.incidents.get(incident_id, lock=True)
        if incident is None:
            raise NotFound(f"incident {incident_id} not found")
        if incident.resolved_at is not None:
            raise ConflictError(
                f"the incident was already resolved by {incident.resolved_by} at "
                f"{incident.resolved_at.isoformat(timespec='seconds')}"
            )
        job = _JOBS[incident.kind]
        row = job.find(uow, incident.job_key)
        if row is not None:  # gone: the instance moved on or the item was deleted; nothing left to retry
            job.unpark(uow, row, now)
        incident.resolved_at, incident.resolved_by = now, actor.username
        if incident.instance_id is not None:
            uow.history.add(
                InstanceEventRow(
                    instance_id=incident.instance_id,
                    at=now,
                    actor=actor.username,
                    kind="incident_retried",
                    task_id=incident.task_id,
                    data={
                        "incident": incident.id,
                        "error": incident.error,
                        "job": f"{incident.kind} {incident.job_key}",
                    },
                )
            )
        view = _view(incident)
        uow.commit()
        return view
