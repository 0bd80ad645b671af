"""An import refreshes PostgreSQL's statistics of the tables it grows as it goes (engine/imports/run.py,
`_Statistics`): autovacuum is too slow for a table growing from empty in one import, and the planner planned each
batch's lookups for the empty table meanwhile."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from engine.imports import run
from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.integration.test_import_bulk import import_twice, write_file

Factory = Callable[[], UnitOfWork]


def test_an_import_analyzes_the_tables_it_grows_at_each_doubling(
    deployed: Factory, actors: dict[str, Actor], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with deployed() as uow:
        if uow.session.get_bind().dialect.name != "postgresql":
            pytest.skip("SQLite's planner keeps no statistics unless asked")
        uow.session.execute(text("ANALYZE import_row_key, match_key"))  # as the tables were before the import
        uow.commit()
    monkeypatch.setattr(run, "ANALYZE_FROM", 40)
    ((status, counts, _, _),) = import_twice(deployed, actors["admin"], write_file(tmp_path / "c.csv", 200),
                                             bulk=True, times=1, mode="valid_only")
    assert status == "done"
    assert counts["created"] >= 160
    with deployed() as uow:
        keys = uow.session.execute(text("SELECT reltuples FROM pg_class WHERE relname = 'import_row_key' "
                                        "AND relnamespace = current_schema()::regnamespace")).scalar_one()
        match_keys = uow.session.execute(text("SELECT reltuples FROM pg_class WHERE relname = 'match_key' "
                                              "AND relnamespace = current_schema()::regnamespace")).scalar_one()
    # analyzed empty before the import: 0 rows; the import analyzed them again once it had created 40 records
    # or more (and at each doubling after)
    assert keys >= 40, keys
    assert match_keys >= 40, match_keys
