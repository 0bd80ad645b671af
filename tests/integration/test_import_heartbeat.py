"""While a batch of an import runs in its transaction, the job's heartbeat (written by a thread of the importing
process in short transactions of its own, where the database allows another writer: not SQLite) is not kept
waiting: the batch no longer opens with a write of the job's row, which held the row's lock for the whole batch."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from engine.imports.run import _open_writes
from engine.services.imports import create_job
from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.conftest import NOW


def test_heartbeat_is_written_while_a_batch_is_open(
    deployed: Callable[[], UnitOfWork], actors: dict[str, Actor], tmp_path: Path
) -> None:
    path = tmp_path / "people.csv"
    path.write_text("ФИО,Email\nPerson 1,person1@example.com\n", encoding="utf-8")
    job = create_job(deployed(), actors["admin"], "Contact", path.name, path, NOW, mode="valid_only")
    batch = deployed()
    with batch:
        if not batch.imports.side_writes_allowed():
            pytest.skip("SQLite has one writer at a time: there the worker's pid tells it is alive")
        _open_writes(batch, job.id, 0)  # how each batch of a valid_only import begins (engine/imports/run.py)
        with deployed() as beat:
            beat.session.execute(text("SET LOCAL lock_timeout = '2s'"))  # waiting on the batch fails here
            beat.imports.beat(job.id, NOW)
            beat.commit()
