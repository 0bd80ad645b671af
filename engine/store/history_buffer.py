"""Field history of one step, buffered and sent as one INSERT: a task completion writes the form's fields and then
its process step's `set.*` fields, each with history rows; inside `buffering` they wait and go together.

The rows are sent before anything could miss them or trip over them: before a statement through the session that
is not an INSERT or UPDATE of another table (a read, a DELETE, raw SQL), before an ORM flush, when a savepoint
begins or ends (`UnitOfWork.savepoint`), and at the end of the block, even one that fails (as they would have gone
unbuffered). Rows buffered in a savepoint that rolls back are dropped with it."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, cast

from sqlalchemy import Table, event
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from engine.store.bulk_insert import insert_rows
from engine.store.direct import Prebuilt, before_send
from engine.store.models import FieldChangeRow, RecordRow
from engine.store.session_blocks import holding

BUFFER = "flowcrm.history_buffer"  # Session.info key: field_change rows waiting for their INSERT (while buffering)
_TABLE = cast(Table, FieldChangeRow.__table__)


def buffering(session: Session) -> AbstractContextManager[None]:
    """Hold the field history written in the block and send it in one INSERT at its end (nested blocks share
    the outer one's)."""
    return holding(session, BUFFER, list, write)


def hold(session: Session, rows: Sequence[dict[str, Any]]) -> bool:
    """Buffer history rows when a block is buffering and nothing staged must be flushed before them; False when
    the caller must insert them now."""
    held: list[dict[str, Any]] | None = session.info.get(BUFFER)
    if held is None:
        return False
    if any(isinstance(row, RecordRow | FieldChangeRow) for row in session.new):
        write(session)  # what was buffered goes first; these rows follow the flush of the staged ones
        return False
    held.extend(rows)
    return True


def buffering_now(session: Session) -> bool:
    """Whether a block buffers the history written in it."""
    return session.info.get(BUFFER) is not None


def write(session: Session) -> None:
    """Send the buffered rows now (one statement), keeping the buffer open."""
    held: list[dict[str, Any]] | None = session.info.get(BUFFER)
    if held:
        rows = list(held)
        held.clear()
        insert_rows(session, _TABLE, rows)


def mark(session: Session) -> int:
    """How many rows are buffered (a savepoint drops those buffered after it began, when it rolls back)."""
    return len(session.info.get(BUFFER) or ())


def drop_after(session: Session, count: int) -> None:
    """Forget rows buffered after `mark` returned `count`."""
    held: list[dict[str, Any]] | None = session.info.get(BUFFER)
    if held is not None:
        del held[count:]


@event.listens_for(Session, "do_orm_execute")
def _before_statement(state: ORMExecuteState) -> None:
    if not state.session.info.get(BUFFER):
        return
    table = getattr(getattr(state.statement, "table", None), "name", None)
    if (state.is_insert or state.is_update) and table != _TABLE.name:
        return  # a write of another table cannot read the rows nor depend on them
    write(state.session)


@before_send
def _before_prebuilt(session: Session, statement: Prebuilt) -> None:
    if session.info.get(BUFFER) and (statement.kind == "delete" or statement.table.name == _TABLE.name):
        write(session)  # as `_before_statement` for the same statement sent through the session


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, _flush: UOWTransaction, _instances: object) -> None:
    write(session)
