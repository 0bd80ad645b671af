"""Wiring: a database URL to a ready unit-of-work factory."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from engine.store.db import make_engine, make_session_factory, upgrade
from engine.store.uow import UnitOfWork


def prepare_database(url: str) -> None:
    """Create the SQLite folder if needed and run migrations."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    upgrade(url)


def uow_factory(url: str) -> Callable[[], UnitOfWork]:
    """A callable that makes a fresh UnitOfWork on a shared engine."""
    factory = make_session_factory(make_engine(url))
    return lambda: UnitOfWork(factory)
