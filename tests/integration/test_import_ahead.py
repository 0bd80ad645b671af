"""The next batch's rows read ahead on a thread while the current batch runs (engine/imports/ahead.py): the same
jobs, counts, rejects (with their row numbers) and tables as reading every batch in line."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine.imports import ahead as ahead_module
from engine.imports.rows import Importer
from engine.imports.run import run_import
from engine.services.imports import create_job, get_job
from engine.services.records import create_record
from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.conftest import NOW, DeployedSnapshots
from tests.integration.test_import_bulk import both_paths, import_twice, write_file

Factory = Callable[[], UnitOfWork]


def _reads(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each row's cells were read on the main thread, in the order they were read."""
    on_main: list[bool] = []
    read_cells = Importer.read_cells

    def spy(self: Importer, cells: Any) -> Any:
        on_main.append(threading.current_thread() is threading.main_thread())
        return read_cells(self, cells)

    monkeypatch.setattr(Importer, "read_cells", spy)
    return on_main


@pytest.mark.parametrize("mode", ["valid_only", "all_or_nothing"])
def test_rows_read_ahead_on_a_thread_leave_what_rows_read_in_line_leave(
    deployed: Factory, actors: dict[str, Actor], db_url: str, bundle_files: dict[str, str],
    deployed_snapshots: DeployedSnapshots, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    path = write_file(tmp_path / "contacts.csv", 200)  # 203 rows: duplicates, a repeat, two rejected rows
    on_main = _reads(monkeypatch)
    seen: dict[bool, list[bool]] = {}

    def imports(ahead: bool) -> list[Any]:
        monkeypatch.setattr(ahead_module, "readable_alone", lambda _importer: ahead)
        on_main.clear()
        outcomes = import_twice(deployed, actors["admin"], path, bulk=True, mode=mode)
        seen[ahead] = list(on_main)
        return outcomes

    outcomes, _ = both_paths(deployed, db_url, deployed_snapshots, bundle_files, imports)
    assert outcomes[0][0] == ("done" if mode == "valid_only" else "rejected")
    assert [row for _, row in outcomes[0][3]] != []  # the rejects, with their row numbers, are the same
    assert seen[False] == [True] * 2 * 203  # in line: every row on the caller's thread
    # ahead: the first batch of each import on the caller's thread, the four after it on the helper thread
    assert seen[True] == ([True] * 50 + [False] * 153) * 2


def test_the_next_batch_is_read_while_the_batch_before_it_is_written(
    deployed: Factory, actors: dict[str, Actor], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_file(tmp_path / "contacts.csv", 100)
    on_main = _reads(monkeypatch)
    overlapped: list[bool] = []
    process_batch = Importer.process_batch

    def first_batch_waits(self: Importer, *args: Any) -> None:
        process_batch(self, *args)
        if not overlapped:  # still inside the first batch: the helper thread reads the second meanwhile
            waited = 0.0
            while False not in on_main and waited < 10:
                threading.Event().wait(0.01)
                waited += 0.01
            overlapped.append(False in on_main)

    monkeypatch.setattr(Importer, "process_batch", first_batch_waits)
    admin = actors["admin"]
    job = create_job(deployed(), admin, "Contact", path.name, path, NOW, mode="valid_only")
    run_import(deployed, job.id, lambda: NOW, batch_size=50)
    assert get_job(deployed(), admin, job.id).status == "done"
    assert overlapped == [True]


def test_rows_with_a_reference_field_are_read_in_line_with_the_batch_lookups(
    deployed: Factory, actors: dict[str, Actor], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sam = actors["sales"]
    vektor = create_record(deployed(), sam, "Organization", {"name": "Vektor"}, NOW, owner_id=sam.id)
    path = tmp_path / "contacts.csv"
    path.write_text("Name,Phone,Organization\n" + "".join(
        f"Person {n},+7 900 111-22-{n:02d},Vektor\n" for n in range(10)), encoding="utf-8")
    on_main = _reads(monkeypatch)
    job = create_job(deployed(), sam, "Contact", path.name, path, NOW, mode="valid_only")
    run_import(deployed, job.id, lambda: NOW, batch_size=3)
    done = get_job(deployed(), sam, job.id)
    assert (done.status, done.counts["created"]) == ("done", 10)
    assert on_main == [True] * 10  # reading a reference asks the database: never off the batch's thread
    with deployed() as uow:
        linked = [r for r in uow.records.batch("Contact", 0, 100) if r.data.get("organization") == vektor.id]
    assert len(linked) == 10


def test_the_gil_is_handed_back_sooner_only_while_rows_are_read_ahead(
    deployed: Factory, actors: dict[str, Actor], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_file(tmp_path / "contacts.csv", 100)
    intervals: list[float] = []
    read_cells = Importer.read_cells

    def spy(self: Importer, cells: Any) -> Any:
        intervals.append(sys.getswitchinterval())
        return read_cells(self, cells)

    monkeypatch.setattr(Importer, "read_cells", spy)
    before = sys.getswitchinterval()
    admin = actors["admin"]
    job = create_job(deployed(), admin, "Contact", path.name, path, NOW, mode="valid_only")
    run_import(deployed, job.id, lambda: NOW, batch_size=50)
    assert get_job(deployed(), admin, job.id).status == "done"
    # the import's thread waited up to the default 5 ms for the GIL after each statement while the helper computed
    assert set(intervals) == {ahead_module.SWITCH_SECONDS}
    assert sys.getswitchinterval() == before
