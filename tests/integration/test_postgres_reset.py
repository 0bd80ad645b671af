"""The PostgreSQL reset between tests (tests/postgres_reset.py): emptied or restored from a snapshot, the database
holds exactly the snapshot's rows, ids continue as after TRUNCATE ... RESTART IDENTITY, a table that grew is
truncated rather than left full of dead rows, and restores run on one kept connection."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, text

from engine.store.db import make_engine
from tests.postgres_reset import BIG_TABLE_BYTES, PostgresReset

pytestmark = pytest.mark.postgres


@pytest.fixture
def reset(postgres_url: str) -> Iterator[PostgresReset]:
    """A reset of the test database of its own; its kept connection closed afterwards."""
    reset = PostgresReset(postgres_url)
    yield reset
    reset.close()


@pytest.fixture
def engine(postgres_url: str) -> Iterator[Engine]:
    engine = make_engine(postgres_url)
    yield engine
    engine.dispose()


def add_failures(engine: Engine, *names: str) -> list[int]:
    """Insert login failures; their ids."""
    with engine.begin() as conn:
        return [
            conn.execute(
                text("INSERT INTO login_failure (username, address, at) VALUES (:u, 'x', now()) RETURNING id"),
                {"u": name},
            ).scalar_one()
            for name in names
        ]


def failures(engine: Engine) -> list[tuple[int, str]]:
    with engine.connect() as conn:
        return [(r.id, r.username) for r in conn.execute(text("SELECT id, username FROM login_failure ORDER BY id"))]


def test_a_restored_snapshot_holds_its_rows_and_new_ids_continue_after_them(
    reset: PostgresReset, engine: Engine
) -> None:
    reset.restore()
    assert add_failures(engine, "ann", "bob", "cid") == [1, 2, 3]
    reset.take("reset_test")
    add_failures(engine, "dan")
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM login_failure WHERE username = 'bob'"))

    reset.restore("reset_test")
    assert failures(engine) == [(1, "ann"), (2, "bob"), (3, "cid")]
    assert add_failures(engine, "eve") == [4]

    reset.restore()
    assert failures(engine) == []
    assert add_failures(engine, "fay") == [1]
    with pytest.raises(KeyError, match="no PostgreSQL snapshot 'never_taken'"):
        reset.restore("never_taken")


def test_a_table_that_grew_is_truncated_not_left_full_of_dead_rows(reset: PostgresReset, engine: Engine) -> None:
    reset.restore()
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO login_failure (username, address, at) SELECT repeat('x', 200), 'x', now() "
                "FROM generate_series(1, 10000)"
            )
        )

    def size() -> int:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT pg_total_relation_size('login_failure')")).scalar_one())

    assert size() > BIG_TABLE_BYTES
    reset.restore()
    assert size() < BIG_TABLE_BYTES  # a DELETE keeps the table's pages until a vacuum
    assert failures(engine) == []
    assert add_failures(engine, "gus") == [1]


def test_restores_run_on_one_kept_connection(
    reset: PostgresReset, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # an engine and a connection per restore (two restores per test) cost a server process and ~4 ms of the test
    # process's CPU each
    reset.restore()
    reset.take("kept_connection")
    opened: list[Any] = []
    real = psycopg.connect

    def counted(*args: Any, **kwargs: Any) -> Any:
        opened.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(psycopg, "connect", counted)
    for _ in range(3):
        reset.restore("kept_connection")
        reset.restore()
    monkeypatch.undo()
    assert opened == []
    assert add_failures(engine, "hal") == [1]  # still emptied, ids restarted
    reset.close()
    reset.restore()  # closed: the next restore opens a connection again
    assert failures(engine) == []
