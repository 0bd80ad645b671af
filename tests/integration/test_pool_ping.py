"""A pooled PostgreSQL connection is pinged at checkout only after it rested (engine/store/db.py
`ping_after_idle`): no round trip per transaction, and a connection that died while resting is still replaced."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text

from engine.store.db import make_engine

pytestmark = pytest.mark.postgres


@pytest.fixture
def engine_and_pings(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Engine, list[int]]]:
    engine = make_engine(postgres_url, pool_size=1, max_overflow=0)
    pings: list[int] = []
    real_ping = engine.dialect.do_ping

    def counted(dbapi_conn: Any) -> bool:
        pings.append(1)
        return real_ping(dbapi_conn)

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    try:
        yield engine, pings
    finally:
        engine.dispose()


def terminate_backend(url: str, pid: int) -> None:
    """End the server process of a connection, from a connection of another engine (the connection dies)."""
    killer = make_engine(url)
    try:
        with killer.begin() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        killer.dispose()


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def test_a_connection_used_moments_ago_is_not_pinged(engine_and_pings: tuple[Engine, list[int]]) -> None:
    engine, pings = engine_and_pings
    first = _backend_pid(engine)
    assert [_backend_pid(engine) for _ in range(5)] == [first] * 5  # the same pooled connection each time
    assert pings == []


def test_a_connection_that_died_while_resting_is_replaced_at_checkout(
    engine_and_pings: tuple[Engine, list[int]], monkeypatch: pytest.MonkeyPatch, postgres_url: str
) -> None:
    engine, pings = engine_and_pings
    first = _backend_pid(engine)
    terminate_backend(postgres_url, first)
    monkeypatch.setattr("engine.store.db.monotonic", lambda: 10.0**9)  # as if it rested for a long time
    assert _backend_pid(engine) != first  # pinged, found dead, replaced: the caller never saw the dead one
    assert pings == [1]
