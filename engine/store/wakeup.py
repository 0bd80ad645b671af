"""Waking the worker: a PostgreSQL NOTIFY in the transaction that writes a job row, and the waits the worker
sleeps in until the next due time or until such a notification arrives (a short poll where there is none)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, event, inspect
from sqlalchemy.orm import Session, sessionmaker

from engine.store.models import OutboxRow, ReminderRow, RuleScheduleRow, TimerRow

CHANNEL = "flowcrm_jobs"
NOTIFIES = "flowcrm.notifies"  # Session.info key: the session's job-row writes NOTIFY the worker
# the columns that say when a job row is next due: a row written with a new one may be due sooner than the
# worker's planned wake-up
DUE_COLUMNS: dict[type, tuple[str, ...]] = {
    TimerRow: ("due_at", "next_attempt_at", "parked_at"),
    ReminderRow: ("due_at", "next_attempt_at", "parked_at"),
    OutboxRow: ("next_attempt_at", "status"),
    RuleScheduleRow: ("next_run_at", "next_attempt_at", "parked_at"),
}


def _due_changed(row: object) -> bool:
    columns = DUE_COLUMNS.get(type(row))
    if columns is None:
        return False
    state: Any = inspect(row)
    return any(state.attrs[name].history.has_changes() for name in columns)


def _notify_on_job_writes(session: Session, _context: object) -> None:
    """After a flush that inserted a job row or moved one's due time: NOTIFY, delivered when (and only if) the
    transaction commits. PostgreSQL folds repeated notifications of one transaction into one."""
    if any(type(row) in DUE_COLUMNS for row in session.new) or any(_due_changed(row) for row in session.dirty):
        session.connection().exec_driver_sql(f"NOTIFY {CHANNEL}")


def notify_inserted_jobs(session: Session) -> None:
    """NOTIFY for job rows a Core statement just inserted (the ORM's flush hook does not see them): on sessions
    made to notify (`notify_job_writes`), delivered when the transaction commits."""
    if session.info.get(NOTIFIES):
        session.connection().exec_driver_sql(f"NOTIFY {CHANNEL}")


def notify_job_writes(engine: Engine, sessions: sessionmaker[Session]) -> None:
    """Make sessions of `sessions` notify the worker of job rows they write (PostgreSQL only)."""
    if engine.dialect.name == "postgresql":
        event.listen(sessions, "after_flush", _notify_on_job_writes)
        sessions.configure(info={**sessions.kw.get("info", {}), NOTIFIES: True})


class Sleeper:
    """Waiting without notifications (SQLite): sleep, at most `poll` seconds at a time."""

    def __init__(self, poll: float, sleep: Callable[[float], None] = time.sleep) -> None:
        self.poll, self._sleep = poll, sleep

    def wait(self, seconds: float) -> bool:
        """Sleep `seconds` (the caller caps them at `poll`); never woken early: False."""
        if seconds > 0:
            self._sleep(seconds)
        return False

    def close(self) -> None:
        """Nothing to release."""


class Listener:
    """Waiting on PostgreSQL: LISTEN on a connection of its own, woken by the first notification."""

    poll: float | None = None

    def __init__(self, engine: Engine, poll: float | None = None) -> None:
        self.poll = poll
        self._raw = engine.raw_connection()
        conn: Any = self._raw.driver_connection
        conn.rollback()
        conn.autocommit = True
        conn.execute(f"LISTEN {CHANNEL}")
        self._conn = conn

    def wait(self, seconds: float) -> bool:
        """Wait up to `seconds` for a notification; True when one came (those queued behind it are dropped:
        one look at the tables answers them all)."""
        got = any(True for _ in self._conn.notifies(timeout=max(seconds, 0.0), stop_after=1))
        if got:
            for _ in self._conn.notifies(timeout=0.0):
                pass
        return got

    def close(self) -> None:
        """Close the listening connection (it is not given back to the pool: it still listens)."""
        self._raw.invalidate()


def waiter_for(engine: Engine, poll: float | None) -> Sleeper | Listener:
    """How the worker waits on this database: notifications on PostgreSQL (plus `poll` when given), else a
    poll every `poll` seconds (default 0.5)."""
    if engine.dialect.name == "postgresql":
        return Listener(engine, poll)
    return Sleeper(0.5 if poll is None else poll)
