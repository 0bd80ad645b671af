"""The cases of a module that sets DATABASES_IN_TURN run on SQLite and then on PostgreSQL one after the other
(tests/conftest.py `pytest_collection_modifyitems`); other modules keep pytest's order and every case stays."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from tests.conftest import pytest_collection_modifyitems

IN_TURN = SimpleNamespace(DATABASES_IN_TURN=True)
AS_COLLECTED = SimpleNamespace()


def _case(module: Any, path: str, test: str, db: str, **params: Any) -> Any:
    ids = "-".join([db, *map(str, params.values())])
    return SimpleNamespace(module=module, nodeid=f"{path}::{test}[{ids}]", originalname=test, name=f"{test}[{ids}]",
                           callspec=SimpleNamespace(params={"db_url": db, **params}))


def test_each_case_runs_on_both_databases_in_turn_and_other_modules_keep_their_order() -> None:
    sweeps = [_case(IN_TURN, "a.py", "test_sweep", db, tab=tab, desc=d)
              for db in ("sqlite", "postgres") for tab in ("mine", "pool") for d in (False, True)]
    others = [_case(AS_COLLECTED, "b.py", "test_other", db, n=n) for db in ("sqlite", "postgres") for n in (1, 2)]
    items = [others[0], *sweeps, *others[1:]]
    pytest_collection_modifyitems(None, None, items)  # type: ignore[arg-type]
    assert [i.name for i in items] == [
        "test_other[sqlite-1]",
        "test_sweep[sqlite-mine-False]", "test_sweep[postgres-mine-False]",
        "test_sweep[sqlite-mine-True]", "test_sweep[postgres-mine-True]",
        "test_sweep[sqlite-pool-False]", "test_sweep[postgres-pool-False]",
        "test_sweep[sqlite-pool-True]", "test_sweep[postgres-pool-True]",
        "test_other[sqlite-2]", "test_other[postgres-1]", "test_other[postgres-2]",
    ]
