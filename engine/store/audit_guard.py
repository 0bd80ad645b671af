"""The audit trail is append only: no flush and no statement run through a session may change or remove rows of
field_change, instance_event or inbound_event, nor merge_log rows beyond their undo bookkeeping columns.

The listeners are registered on every Session when this module is imported (engine.store.uow imports it through
the audit repository), so the application, the CLI, the worker and the tests all run under the same guard."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction
from sqlalchemy.sql.elements import TextClause

from engine.errors import Forbidden

APPEND_ONLY: frozenset[str] = frozenset({"field_change", "instance_event", "inbound_event", "merge_log"})
# columns an append-only table may still change: undoing a merge stamps its log row, nothing else moves
MUTABLE_COLUMNS: Mapping[str, frozenset[str]] = {"merge_log": frozenset({"undone_at", "undone_by"})}
_RAW_WRITE = re.compile(r"^\s*(?:update|delete\s+from)\s+\"?(\w+)\"?", re.IGNORECASE)


class AuditTrailError(Forbidden):
    """Something tried to change or remove a row of the audit trail."""


def _refuse(table: str, what: str, columns: Iterable[str] = ()) -> None:
    named = sorted(columns)
    detail = f" (columns {', '.join(named)})" if named else ""
    raise AuditTrailError(f"the audit trail is append only: refused to {what} a {table} row{detail}")


def _table_of(obj: object) -> str:
    return str(getattr(obj, "__tablename__", ""))


def _changed_columns(obj: object) -> set[str]:
    state = inspect(obj)
    assert state is not None  # noqa: S101 - a mapped row always has a state
    return {attr.key for attr in state.attrs if attr.history.has_changes()}


def _check_flush(session: Session, _context: UOWTransaction, _instances: object) -> None:
    """Refuse a flush that deletes an audit row or changes one beyond its mutable columns."""
    for obj in session.deleted:
        table = _table_of(obj)
        if table in APPEND_ONLY:
            _refuse(table, "delete")
    for obj in session.dirty:
        table = _table_of(obj)
        if table not in APPEND_ONLY or not session.is_modified(obj):
            continue
        changed = _changed_columns(obj) - MUTABLE_COLUMNS.get(table, frozenset())
        if changed:
            _refuse(table, "change", changed)


def _statement_columns(state: ORMExecuteState) -> set[str]:
    """The columns an UPDATE statement sets: its VALUES, or the keys of bulk-by-primary-key parameters."""
    values = getattr(state.statement, "_values", None) or {}
    columns = {str(getattr(key, "key", key)) for key in values}
    params: Any = state.parameters
    rows = params if isinstance(params, list) else [params] if isinstance(params, dict) else []
    for row in rows:
        columns |= {str(k) for k in row if k != "id"}
    return columns


def _check_statement(state: ORMExecuteState) -> None:
    """Refuse UPDATE and DELETE statements (ORM, Core or raw text) against the audit tables."""
    statement = state.statement
    if state.is_update or state.is_delete:
        table = str(getattr(getattr(statement, "table", None), "name", ""))
        if table not in APPEND_ONLY:
            return
        if state.is_delete:
            _refuse(table, "delete")
        changed = _statement_columns(state) - MUTABLE_COLUMNS.get(table, frozenset())
        if changed or not _statement_columns(state):
            _refuse(table, "update", changed)
    elif isinstance(statement, TextClause):
        found = _RAW_WRITE.match(statement.text)
        if found and found.group(1).lower() in APPEND_ONLY:
            _refuse(found.group(1).lower(), "update or delete")


def install() -> None:
    """Register the guard on every Session (idempotent)."""
    if not event.contains(Session, "before_flush", _check_flush):
        event.listen(Session, "before_flush", _check_flush)
    if not event.contains(Session, "do_orm_execute", _check_statement):
        event.listen(Session, "do_orm_execute", _check_statement)


install()
