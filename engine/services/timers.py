"""Due BPMN timers: found through the timer table, fired one instance per transaction (engine.services.jobs)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from engine.services.instances import advance, load_runtime
from engine.services.jobs import Concerns, Outcome, RowJob, run_due
from engine.store.models import InstanceEventRow, TimerRow
from engine.store.uow import UnitOfWork


class TimerJob(RowJob[TimerRow]):
    """A waiting BPMN timer whose time has come: wake its instance and run it to its next wait state."""

    kind = "timer"

    def repository(self, uow: UnitOfWork) -> Any:
        return uow.timers

    def concerns(self, row: TimerRow) -> Concerns:
        return Concerns(instance_id=row.instance_id, task_id=row.task_id)

    def run(self, uow: UnitOfWork, row: TimerRow, now: datetime) -> bool:
        current = uow.instances.get(row.instance_id)
        if current is None or current.status != "running":
            uow.timers.delete(row)  # the instance ended or failed meanwhile: nothing left to wake
            return True
        instance, version, runtime = load_runtime(uow, row.instance_id)
        steps = runtime.fire_timers()
        if not steps and any(t.task_id == row.task_id and t.due_at <= now for t in runtime.pending_timers()):
            return False  # the workflow's clock is behind `now`; try on the next tick
        advance(uow, instance, version, runtime, steps, "timer", now)
        if not uow.gone(row) and all(t.task_id != row.task_id for t in runtime.pending_timers()):
            uow.timers.delete(row)  # a row its saved workflow did not wait on: nothing will ever wake it
        return True

    def failed(self, uow: UnitOfWork, row: TimerRow, error: str, now: datetime, retry_at: datetime | None) -> None:
        super().failed(uow, row, error, now, retry_at)
        data: dict[str, Any] = {"error": error, "attempt": row.attempts}
        data["retry_at" if retry_at else "parked"] = retry_at.isoformat() if retry_at else True
        uow.history.add(InstanceEventRow(instance_id=row.instance_id, at=now, actor="timer", kind="timer_failed",
                                         task_id=row.task_id, element_id=row.element_id, data=data))


TIMERS = TimerJob()


def fire_timers(uow: UnitOfWork, now: datetime, *, limit: int | None = None) -> Outcome:
    """Fire timers due by `now`, oldest first; a failing one is retried later or parked, the others go on."""
    return run_due(TIMERS, uow, now, limit=limit)


def fire_due(uow: UnitOfWork, now: datetime, *, limit: int = 100) -> int:
    """Fire timers due by `now`, oldest first; returns how many fired. Rows another worker holds are skipped."""
    return fire_timers(uow, now, limit=limit).done
