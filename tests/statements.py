"""Counting the SQL statements a call sends, for the tests that promise "one statement"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import event

from engine.store.uow import UnitOfWork


def selects_of(work: UnitOfWork, call: Callable[[UnitOfWork], Any]) -> tuple[Any, list[str]]:
    """What `call(work)` returns, inside the unit of work, and the SELECT statements it sent."""
    sent: list[str] = []

    def log(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        sent.append(statement)

    with work:
        bind = work.session.get_bind()
        event.listen(bind, "before_cursor_execute", log)
        try:
            result = call(work)
        finally:
            event.remove(bind, "before_cursor_execute", log)
    # a read may open with its common table expressions (WITH …)
    return result, [s for s in sent if s.lstrip().upper().startswith(("SELECT", "WITH"))]


def as_insert(statement: str) -> str:
    """A statement as the tests that count writes name it: a COPY of rows into a table (engine/store/bulk_insert.py,
    on PostgreSQL) is the multi-row INSERT it stands for."""
    text = statement.lstrip()
    if text.upper().startswith("COPY "):
        table, _, rest = text[5:].partition(" ")
        return f"INSERT INTO {table} {rest.removesuffix(' FROM STDIN')}"
    return statement


def as_sent(statement: str) -> str:
    """A statement as the tests that count writes name it: an UPDATE the server checks by its row count
    (engine/store/pipeline.guard, PostgreSQL: `WITH guarded AS (UPDATE …) SELECT …`) is the UPDATE it wraps."""
    text = statement.lstrip()
    prefix = "WITH guarded AS ("
    return text[len(prefix):] if text.startswith(prefix) else statement


def count_calls(monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> list[tuple[Any, ...]]:
    """Count the calls of `owner.name` (a module's function or a class's method) for the rest of the test: the
    list gets the arguments of each call."""
    real = getattr(owner, name)
    calls: list[tuple[Any, ...]] = []

    def counted(*args: Any) -> Any:
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(owner, name, counted)
    return calls
