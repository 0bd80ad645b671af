"""PostgreSQL: a COPY's end is sent at once and its answer read only when the connection is next needed.

A COPY streams its rows while the client makes them; at its end psycopg sent the end message and waited for the
server to finish inserting the last rows it had (their foreign keys checked, every index kept) before the client
could go on with its Python. Measured on the bench's 100,000-row import (2026-12-08, docs/imports.md): 1,471
COPYs waited 54 s for their ends, while the client then ran up to 32 s of its own work before its next statement.
So the end is sent (and flushed) here and its answer is left on the connection (`DeferredEnd`); whatever uses the
connection next reads it first (`collect`): a statement through SQLAlchemy or a prebuilt one (every path calls
the engine's `before_cursor_execute` listeners first, this one ahead of them), a COPY, a savepoint's end, the
COMMIT. A COPY the server refused raises its own driver error there (the same exception psycopg raised at the
COPY's end), before the next statement is sent, so that statement never runs in an aborted transaction; a commit
or a savepoint's end raises it in their place and the transaction (or the savepoint) is rolled back as it was
for the COPY's error. A rollback (the transaction's or a savepoint's, or the pool's reset) reads the answer and
drops it: it undoes the COPY anyway. Nothing else changes: the statements, their order and rows."""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from psycopg import Connection as DriverConnection
from psycopg import Cursor
from psycopg import errors as driver_errors
from psycopg.copy import LibpqWriter
from psycopg.generators import fetch_many
from psycopg.pq import ExecStatus
from psycopg.waiting import Wait
from sqlalchemy import Connection, Engine, event

from engine.store import pipeline

ENDING = pipeline.COPY_ENDING  # Connection.info (the pooled connection's): the driver connection with an answer due
ENABLED = True  # off: every COPY waits for its end as psycopg does (tests compare both, bench --plain-copy-end)


class DeferredEnd(LibpqWriter):
    """psycopg's writer of COPY data whose `finish` sends the end and flushes it but does not wait for the answer
    (a COPY ended by an exception is ended and waited for as psycopg does)."""

    def __init__(self, cursor: Cursor[Any], info: dict[str, Any]) -> None:
        super().__init__(cursor)
        self.info = info

    def finish(self, exc: BaseException | None = None) -> None:
        """Send the end of the data; the answer is read by `collect`."""
        if exc is not None or not ENABLED:
            super().finish(exc)
            return
        self.connection.wait(_send_end(self._pgconn))
        self.info[ENDING] = self.connection


def writer(cursor: Cursor[Any], connection: Connection) -> DeferredEnd:
    """The writer of a COPY on `cursor` whose end is read when `connection` is next used."""
    return DeferredEnd(cursor, connection.info)


def collect(info: dict[str, Any]) -> None:
    """Read the answer of the COPY whose end was sent on this connection, if any; raise the COPY's error."""
    driver: DriverConnection[Any] | None = info.pop(ENDING, None)
    if driver is None or driver.closed:
        return
    with driver.lock:
        results = driver.wait(fetch_many(driver.pgconn))
    for result in results:
        if result.status != ExecStatus.COMMAND_OK:
            raise driver_errors.error_from_result(result, encoding=driver.info.encoding)


def _send_end(pgconn: Any) -> Any:
    """psycopg's `copy_end` without its last step (reading the result)."""
    while pgconn.put_copy_end(None) == 0:
        while not (yield Wait.W):
            continue
    while True:
        while not (yield Wait.W):
            continue
        if pgconn.flush() == 0:
            break


def _dropped(info: dict[str, Any]) -> None:
    """A rollback undoes the COPY: its answer is read so the connection can go on, and its error dropped."""
    with suppress(driver_errors.Error):
        collect(info)


def _info(connection: Connection) -> dict[str, Any] | None:
    """The pooled connection's `info`; None when lost (asking would reconnect) and for the engine's first
    connection (asked for the server's version before it is pooled), which has none and never ran a COPY."""
    if connection.invalidated:
        return None
    try:
        return connection.info
    except NotImplementedError:
        return None


def collect_first(engine: Engine) -> None:
    """Read a COPY's answer before anything else uses one of the engine's connections (its listeners first)."""

    def before(connection: Connection, *_: Any) -> None:
        if (info := _info(connection)) is not None:
            collect(info)

    def rolled_back(connection: Connection, *_: Any) -> None:
        if (info := _info(connection)) is not None:
            _dropped(info)

    event.listen(engine, "before_cursor_execute", before, insert=True)
    event.listen(engine, "commit", before, insert=True)
    event.listen(engine, "rollback", rolled_back, insert=True)
    event.listen(engine, "rollback_savepoint", rolled_back, insert=True)

    def reset(_dbapi_connection: Any, record: Any, _reset_state: Any) -> None:
        _dropped(record.info)

    event.listen(engine, "reset", reset, insert=True)
