"""PostgreSQL: prebuilt writes nobody waits on are held and sent together, in one psycopg pipeline.

A step of a process sends 6-11 prebuilt writes (engine/store/direct.py) and waited for the server after each: on
PostgreSQL every statement was a round trip, and the round trips were most of a process's time (the statements of
the benchmark's process replayed by the raw driver alone took 12.5 times SpiffWorkflow in memory). Most of those
writes give back nothing the caller reads (an INSERT of rows, an UPDATE whose row count only guards a revision), so
here they wait in the connection's queue (`hold`) and go to the server when something must be answered: the next
statement through SQLAlchemy (a read, sent in the same pipeline behind them), a prebuilt write whose answer is read
(a claim, an INSERT … RETURNING), a COPY, or the COMMIT, which goes in the same pipeline: psycopg's pipeline mode
sends them all and waits once. An UPDATE checked by its revision is sent so that the server fails it when it
matched no row (`guard`): the error aborts the transaction and the COMMIT behind it, and comes out as the check
would have raised it (StaleDataError, which the unit of work turns into ConflictError). What stays the same: the
statements, their order and parameters; the engine's `before_cursor_execute` listeners see each when it is held
(statement counts, write tracking, BEGIN at the first write), the `after_cursor_execute` ones when it was sent; a
driver error is SQLAlchemy's (`IntegrityError`…), raised by whatever sent the queue, in the same transaction, which
the unit of work then rolls back. A rollback (of the transaction or to a savepoint) drops what is held: nothing of
it was sent."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, event
from sqlalchemy.exc import DBAPIError

PENDING = "flowcrm.pending_writes"  # Connection.info (the pooled connection's): writes held, in order
COPY_ENDING = "flowcrm.copy_ending"  # Connection.info: a COPY's answer not read yet (engine/store/copy_end.py)
Check = Callable[[int], None]  # called with a held write's row count once the server answered


@dataclass(frozen=True)
class _Held:
    cursor: Any
    sql: str
    params: Any
    check: Check | None
    guarded: bool  # the server fails the statement when it matched no row (`guard`)


def guard(update_sql: str) -> str:
    """An UPDATE of one row that the server itself fails when it matched none (a revision saved elsewhere
    meanwhile): the count of updated rows divides 1, so 0 is the error division_by_zero (22012), which aborts the
    transaction — and a COMMIT sent behind it in the same pipeline with it — and which `send_held` raises as the
    write's check would (StaleDataError). The check of the row count moves to the server so that the COMMIT need
    not wait for it."""
    return f"{_GUARD} ({update_sql} RETURNING 1) SELECT 1 / count(*) FROM guarded"  # noqa: S608 - compiled SQL


_GUARD = "WITH guarded AS"
_DIVISION_BY_ZERO = "22012"


def hold(connection: Connection, cursor: Any, sql: str, params: Any, check: Check | None) -> None:
    """Queue a write on the connection (the `before_cursor_execute` listeners have seen it); sent by `send_held`."""
    held: list[_Held] | None = connection.info.get(PENDING)
    if held is None:
        held = connection.info[PENDING] = []
    held.append(_Held(cursor, sql, params, check, sql.startswith(_GUARD)))


def send_held(connection: Connection, also: Callable[[], Any] | None = None, *, raw_errors: bool = False,
              also_sent: tuple[str, Any] = ("", None)) -> Any:
    """Send the held writes, then `also()` (a statement whose answer the caller reads: `also_sent`, its SQL and
    parameters), in one pipeline; check each write's row count; give back what `also` returned. A driver error
    comes out as SQLAlchemy's (or as the driver's own when `raw_errors`: SQLAlchemy's execution, which called this,
    wraps it). psycopg syncs a BEGIN in a pipeline of its own, so a transaction's first statement is not sent this
    way: it would save no round trip."""
    held: list[_Held] = connection.info.pop(PENDING, None) or []
    if not held:
        return also() if also is not None else None
    driver: Any = connection.connection.driver_connection
    dialect = connection.dialect
    answer = None
    try:
        with driver.pipeline():
            for write in held:
                write.cursor.execute(write.sql, write.params)
            if also is not None:
                answer = also()
    except dialect.loaded_dbapi.Error as exc:
        _close(held)
        if getattr(exc, "sqlstate", None) == _DIVISION_BY_ZERO:
            for write in held:
                if write.guarded and write.check is not None:
                    try:
                        write.check(0)  # its own StaleDataError (which row, which revision)
                    except Exception as stale:
                        raise stale from exc
        if raw_errors:
            raise
        lost = dialect.is_disconnect(exc, connection.connection.dbapi_connection, None)
        if lost:
            connection.invalidate(exc)
            connection.engine.dispose(close=False)
        # the pipeline does not tell which statement failed; the message (its `orig`) does
        sql, params = (held[0].sql, held[0].params) if held else also_sent
        raise DBAPIError.instance(sql, params, exc, dialect.loaded_dbapi.Error,
                                  connection_invalidated=lost, dialect=dialect) from exc
    try:
        for write in held:
            for after in connection.dispatch.after_cursor_execute:
                after(connection, write.cursor, write.sql, write.params, None, False)
            if write.check is not None:
                write.check(write.cursor.rowcount)
    finally:
        _close(held)
    return answer


def _commit_with_held(connection: Connection) -> None:
    """The held writes and the COMMIT in one pipeline, when the server checks every row count they need (`guard`):
    a failed write aborts the transaction and the COMMIT with it, and the driver's transaction is rolled back
    before the error is raised (SQLAlchemy's COMMIT that follows is a no-op of psycopg's, either way). Otherwise the
    writes are sent and checked first, and the COMMIT follows."""
    if connection.invalidated or not connection.info.get(PENDING):
        return
    held: list[_Held] = connection.info[PENDING]
    if any(write.check is not None and not write.guarded for write in held):
        send_held(connection)
        return
    driver: Any = connection.connection.driver_connection
    try:
        # the COMMIT as a statement: psycopg's `commit()` in a pipeline syncs, and leaving the pipeline syncs again
        # (a second round trip); psycopg reads the transaction's end from the server's answer
        send_held(connection, lambda: driver.execute(b"COMMIT"))
    except BaseException:
        if not connection.invalidated:
            with suppress(connection.dialect.loaded_dbapi.Error):
                driver.rollback()
        raise


def drop_held(connection: Connection) -> None:
    """Forget the held writes (a rollback undoes them anyway: nothing of them was sent)."""
    if connection.invalidated:  # lost: its `info` went with it, and asking for it would reconnect
        return
    _close(connection.info.pop(PENDING, None) or [])


def _close(held: list[_Held]) -> None:
    for write in held:
        write.cursor.close()


def _holds(connection: Connection) -> bool | None:
    """Whether writes are held on the connection; None for the engine's first connection (asked for the server's
    version before it is pooled), which has no `info` and never holds any."""
    try:
        return bool(connection.info.get(PENDING))
    except NotImplementedError:
        return None


def send_held_first(engine: Engine, planned_per_run: str) -> None:
    """Make every other use of the engine's connections send the held writes first: a statement through SQLAlchemy
    goes in the same pipeline behind them (a read's answer then comes with theirs), a commit after them; a rollback
    drops them. Registered ahead of the engine's other `do_execute` listeners, which would send the statement
    without them (`planned_per_run`: the execution option of a statement psycopg must not prepare)."""

    def execute(cursor: Any, statement: str, parameters: Any, context: Any) -> bool | None:
        connection = context.root_connection
        if not _holds(connection):
            return None
        options = {"prepare": False} if context.execution_options.get(planned_per_run) else {}
        send_held(connection, lambda: cursor.execute(statement, parameters, **options), raw_errors=True)
        return True

    def execute_many(cursor: Any, statement: str, parameters: Any, context: Any) -> bool | None:
        connection = context.root_connection
        if not _holds(connection):
            return None
        send_held(connection, raw_errors=True)
        return None  # the executemany itself goes as usual (psycopg runs it in a pipeline of its own)

    def execute_no_params(cursor: Any, statement: str, context: Any) -> bool | None:
        connection = context.root_connection
        if not _holds(connection):
            return None
        send_held(connection, lambda: cursor.execute(statement), raw_errors=True)
        return True

    event.listen(engine, "do_execute", execute, insert=True)
    event.listen(engine, "do_executemany", execute_many, insert=True)
    event.listen(engine, "do_execute_no_params", execute_no_params, insert=True)
    event.listen(engine, "commit", _commit_with_held)
    event.listen(engine, "rollback", drop_held)
    event.listen(engine, "rollback_savepoint", lambda connection, _name, _context: drop_held(connection))
    event.listen(engine, "checkin", lambda _dbapi, record: _close(record.info.pop(PENDING, None) or []))
