"""Due BPMN timers: found through the timer table, fired one instance per transaction."""

from __future__ import annotations

import logging
from datetime import datetime

from engine.errors import ConflictError, FlowError
from engine.services.instances import advance, load_runtime
from engine.store.models import InstanceEventRow
from engine.store.uow import UnitOfWork

log = logging.getLogger(__name__)


def _record_failure(uow: UnitOfWork, timer_id: int, now: datetime, error: FlowError) -> None:
    with uow:
        for row in uow.timers.due(now, 100):
            if row.id == timer_id:
                row.fired_at = now  # parked: an operator looks at the instance's history
                uow.history.add(InstanceEventRow(instance_id=row.instance_id, at=now, actor="timer",
                                                 kind="timer_failed", task_id=row.task_id,
                                                 element_id=row.element_id, data={"error": str(error)}))
                uow.commit()
                return


def fire_due(uow: UnitOfWork, now: datetime, *, limit: int = 100) -> int:
    """Fire timers due by `now`, oldest first; returns how many fired. Rows another worker holds are skipped."""
    fired = 0
    while fired < limit:
        failure: FlowError | None = None
        with uow:
            due = uow.timers.due(now, 1)
            if not due:
                return fired
            timer = due[0]
            timer_id, task_id = timer.id, timer.task_id
            try:
                instance, version, runtime = load_runtime(uow, timer.instance_id)
                steps = runtime.fire_timers()
                if not steps and any(t.task_id == task_id and t.due_at <= now for t in runtime.pending_timers()):
                    return fired  # the workflow's clock is behind `now`; try on the next tick
                advance(uow, instance, version, runtime, steps, "timer", now)
                try:
                    uow.commit()
                except ConflictError as exc:  # lost a race with another writer of the instance: not a broken timer
                    log.info("timer %s of instance %s: %s; retried on the next tick", timer_id, timer.instance_id, exc)
                    return fired  # rolled back: the row is still due and fires on the fresh state next tick
            except FlowError as exc:
                log.warning("timer %s of instance %s failed: %s", timer_id, timer.instance_id, exc)
                failure = exc
        if failure is not None:
            _record_failure(uow, timer_id, now, failure)
        fired += 1
    return fired
