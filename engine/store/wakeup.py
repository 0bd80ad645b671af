"""Waking the worker: a PostgreSQL NOTIFY in the transaction that writes a job row (a trigger of the job tables,
migration 0026), and the waits the worker sleeps in until the next due time or until such a notification arrives
(a short poll where there is none)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

CHANNEL = "flowcrm_jobs"
# a job row written (a new timer, reminder, e-mail or rule schedule, or one whose due time moved) NOTIFYs CHANNEL
# from a trigger in the writing transaction (migration 0026, PostgreSQL): delivered at commit, one per transaction,
# whichever statement or client wrote it, and no statement of the engine's own


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
