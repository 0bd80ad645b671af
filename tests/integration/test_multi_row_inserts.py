"""On PostgreSQL an INSERT of many rows (a step's events, a record's keys and field history) is one multi-row
statement and one round trip (engine/store/db.py `make_engine`): psycopg's executemany sent each row in a pipeline
and waited twice, for the rows and for the pipeline's end."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, Table, insert, select
from sqlalchemy.orm import Session

from engine.store.db import make_engine
from engine.store.models import UserRow
from tests.conftest import NOW

pytestmark = pytest.mark.postgres
USERS: Table = UserRow.__table__  # type: ignore[assignment]


PREFIX = "multi-row-insert-"  # this test's users: the worker's database may hold other tests' users and their rows


@pytest.fixture
def engine(postgres_url: str) -> Iterator[Engine]:
    made = make_engine(postgres_url)
    mine = USERS.delete().where(USERS.c.username.startswith(PREFIX))
    with made.begin() as conn:
        conn.execute(mine)
    yield made
    with made.begin() as conn:
        conn.execute(mine)
    made.dispose()


def _rows(count: int) -> list[dict[str, Any]]:
    return [
        {
            "username": f"{PREFIX}{n}",
            "display_name": f"U {n}",
            "password_hash": "x",
            "roles": "sales",
            "created_at": NOW,
            "active": True,
            "locale": "en",
        }
        for n in range(count)
    ]


def test_an_insert_of_many_rows_waits_for_the_server_once(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    waits: list[int] = []
    real_wait = psycopg.Connection.wait

    def counted(self: psycopg.Connection[Any], gen: Any, *args: Any, **kwargs: Any) -> Any:
        waits.append(1)
        return real_wait(self, gen, *args, **kwargs)

    with Session(engine) as session:
        session.execute(select(1))  # the transaction's BEGIN is not the insert's
        monkeypatch.setattr(psycopg.Connection, "wait", counted)
        session.execute(insert(USERS), _rows(5))
        monkeypatch.undo()
        session.commit()
    assert len(waits) == 1
    with engine.connect() as conn:
        names = conn.scalars(select(USERS.c.username).where(USERS.c.username.startswith(PREFIX)))
        assert sorted(names) == [f"{PREFIX}{n}" for n in range(5)]
