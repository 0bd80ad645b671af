"""Wiring: a database URL to a migrated database and a ready unit-of-work factory."""

from __future__ import annotations

from pathlib import Path

from engine.services.units import UowFactory, uow_factory
from engine.store.db import upgrade

__all__ = ["UowFactory", "prepare_database", "uow_factory"]


def prepare_database(url: str) -> None:
    """Create the SQLite folder if needed and run migrations."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    upgrade(url)
