"""SQLite: an import lets its connection's write-ahead log grow between batch commits (`spread_checkpoints`); the
connection goes back to SQLite's default when it returns to the pool, however its unit of work ended, so a failed
import does not leave a pooled connection delaying checkpoints for its next user."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.services.units import uow_factory
from engine.store.uow import UnitOfWork


def _setting(uow: UnitOfWork) -> tuple[int, int]:
    """The connection's autocheckpoint pages, and the id of its DBAPI connection (to know the pool gave the same)."""
    connection = uow.session.connection()
    pages = connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one()
    return int(pages), id(connection.connection.dbapi_connection)


def _fail_midway(uow: UnitOfWork, seen: list[tuple[int, int]]) -> None:
    with uow:
        uow.imports.spread_checkpoints(25_000)
        seen.append(_setting(uow))
        raise RuntimeError("the import failed")


def test_a_connection_returns_to_the_default_after_a_unit_that_failed_midway(tmp_path: Path) -> None:
    factory = uow_factory(f"sqlite:///{tmp_path / 'checkpoints.sqlite'}")
    try:
        seen: list[tuple[int, int]] = []
        with pytest.raises(RuntimeError, match="the import failed"):
            _fail_midway(factory(), seen)
        ((grown, first),) = seen
        assert grown == 25_000
        with factory() as uow:
            pages, second = _setting(uow)
        assert second == first  # the pool handed back the connection the failed unit used
        assert pages == 1000  # SQLite's default
    finally:
        factory.dispose()
