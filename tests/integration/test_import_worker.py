"""The import worker process: a killed worker leaves its job failed (seen when the job is viewed, or by the next
worker), the job then resumes after the rows already committed or runs again, and nothing is written twice."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from engine.imports import run, worker
from engine.imports.limits import WorkerLimits
from engine.imports.worker import CpuLimitExceeded, fail_dead_jobs, spawn, work
from engine.services.imports import ImportJobView, create_job, get_job, list_jobs
from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.conftest import NOW

ROWS = 1200


def contacts(tmp_path: Path, rows: int = ROWS) -> Path:
    path = tmp_path / "many.csv"
    lines = ["ФИО,Email", *(f"Person {i},person{i}@example.com" for i in range(rows))]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def wait_until(check: Callable[[], bool], worker: subprocess.Popen[bytes], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert worker.poll() is None, "the worker ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.02)


def kill(worker: subprocess.Popen[bytes]) -> None:
    os.kill(worker.pid, signal.SIGKILL)
    assert worker.wait(30) == -signal.SIGKILL


def contact_count(deployed: Callable[[], UnitOfWork]) -> int:
    with deployed() as uow:
        return uow.quality.count_records("Contact")


def test_killed_worker_marks_the_import_failed_and_resume_completes_it_without_duplicates(
    db_url: str, deployed: Callable[[], UnitOfWork], actors: dict[str, Actor], tmp_path: Path
) -> None:
    sam = actors["sales"]
    rows = 3 * run.BATCH_SIZE  # three batches of the worker's size: the kill lands after the first
    job = create_job(deployed(), sam, "Contact", "many.csv", contacts(tmp_path, rows), NOW, mode="valid_only")
    worker = spawn(db_url, job.id)

    def first_batch_committed() -> bool:
        with deployed() as uow:
            found = uow.imports.job(job.id)
            return found is not None and found.processed_rows >= run.BATCH_SIZE

    wait_until(first_batch_committed, worker)
    assert get_job(deployed(), sam, job.id).status == "running"  # alive: viewing it changes nothing
    kill(worker)

    failed = get_job(deployed(), sam, job.id)
    assert failed.status == "failed"
    assert failed.message == (
        f"the import's worker process (pid {worker.pid}) died: killed, out of memory or over "
        "its CPU limit; resume it (rows already imported are kept) or run it again"
    )
    committed = failed.processed_rows
    assert run.BATCH_SIZE <= committed < rows
    assert contact_count(deployed) == committed == failed.counts["created"]

    resumed = spawn(db_url, job.id, resume=True)
    assert resumed.wait(300) == 0
    done = get_job(deployed(), sam, job.id)
    assert (done.status, done.processed_rows, done.message) == ("done", rows, None)
    assert done.counts == {"created": rows, "updated": 0, "merged": 0, "skipped": 0, "rejected": 0, "review": 0,
                           "rule_pairs": 0}
    assert contact_count(deployed) == rows


def test_killed_all_or_nothing_import_wrote_nothing_and_runs_again_to_completion(
    db_url: str, deployed: Callable[[], UnitOfWork], actors: dict[str, Actor], tmp_path: Path
) -> None:
    sam = actors["sales"]
    rows = 3 * ROWS  # the batch path writes 1,200 rows in well under half a second: give the kill time to land
    job = create_job(deployed(), sam, "Contact", "many.csv", contacts(tmp_path, rows), NOW)
    worker = spawn(db_url, job.id)

    def running() -> bool:
        with deployed() as uow:
            found = uow.imports.job(job.id)
            return found is not None and found.status == "running"

    wait_until(running, worker)
    time.sleep(0.1)  # inside its single transaction
    kill(worker)
    (listed,) = list_jobs(deployed(), sam)  # the list notices the death too
    assert listed.status == "failed"
    assert contact_count(deployed) == 0

    again = spawn(db_url, job.id)
    assert again.wait(300) == 0
    done: ImportJobView = get_job(deployed(), sam, job.id)
    assert (done.status, done.counts["created"]) == ("done", rows)
    assert contact_count(deployed) == rows


def test_next_worker_fails_jobs_whose_process_died(
    deployed: Callable[[], UnitOfWork], actors: dict[str, Actor], tmp_path: Path
) -> None:
    job = create_job(deployed(), actors["sales"], "Contact", "many.csv", contacts(tmp_path, 3), NOW)
    dead = subprocess.Popen(["true"])  # a process surely gone once waited for
    dead.wait()
    with deployed() as uow:
        row = uow.imports.job(job.id)
        assert row is not None
        row.status, row.worker_pid, row.worker_host = "running", dead.pid, os.uname().nodename
        uow.commit()
    assert fail_dead_jobs(deployed(), NOW, 120) == [job.id]
    assert fail_dead_jobs(deployed(), NOW, 120) == []
    with deployed() as uow:
        row = uow.imports.job(job.id)
        assert row is not None
        assert (row.status, row.finished_at) == ("failed", NOW)
        assert f"pid {dead.pid}" in (row.message or "")


@pytest.mark.parametrize(
    ("failure", "message"),
    [
        (MemoryError(), "the import ran out of memory: its worker may use 512 MB (FLOWCRM_IMPORT_WORKER_MEMORY_MB)"),
        (
            CpuLimitExceeded("over its CPU limit of 60 s (FLOWCRM_IMPORT_WORKER_CPU_SECONDS)"),
            "the import stopped: over its CPU limit of 60 s (FLOWCRM_IMPORT_WORKER_CPU_SECONDS)",
        ),
    ],
)
def test_worker_over_its_memory_or_cpu_limit_fails_the_job_naming_the_limit(
    failure: Exception,
    message: str,
    deployed: Callable[[], UnitOfWork],
    actors: dict[str, Actor],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    job = create_job(deployed(), actors["sales"], "Contact", "many.csv", contacts(tmp_path, 3), NOW)

    def exhausted(*args: object, **kwargs: object) -> None:  # what RLIMIT_AS / SIGXCPU raise mid-run
        raise failure

    monkeypatch.setattr(worker, "run_import", exhausted)
    assert work(deployed, job.id, WorkerLimits(memory_mb=512, cpu_seconds=60), clock=lambda: NOW) == 1
    failed = get_job(deployed(), actors["sales"], job.id)
    assert (failed.status, failed.message) == ("failed", message)


def test_a_running_import_beats_its_heartbeat_where_the_database_allows_it(
    deployed: Callable[[], UnitOfWork], actors: dict[str, Actor], tmp_path: Path
) -> None:
    job = create_job(deployed(), actors["sales"], "Contact", "many.csv", contacts(tmp_path, 300), NOW)
    ticks = iter(range(10**6))

    def clock() -> datetime:
        return NOW + timedelta(seconds=next(ticks))

    run.run_import(deployed, job.id, clock, heartbeat_seconds=0.01)  # all or nothing: one long transaction
    with deployed() as uow:
        found = uow.imports.job(job.id)
        assert found is not None
        assert found.status == "done"
        beats = uow.imports.side_writes_allowed()  # PostgreSQL; on SQLite the worker's pid tells instead
        assert found.heartbeat_at is not None
        assert (found.heartbeat_at > NOW) == beats  # the claim wrote tick 0, the heartbeat thread later ones
