"""The import worker's operating-system limits (memory, CPU time) and how a dead worker is recognised."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta

import pytest

from engine.imports.liveness import death_of, pid_alive, this_host
from engine.store.quality_models import ImportJobRow
from tests.conftest import NOW, ROOT


def limited(code: str, **limits: int) -> subprocess.CompletedProcess[str]:
    """Run `code` in a fresh interpreter after limit_resources(WorkerLimits(**limits))."""
    prelude = (
        "from engine.imports.limits import WorkerLimits\nfrom engine.imports.worker import limit_resources\n"
        f"limit_resources(WorkerLimits(**{limits!r}))\n"
    )
    return subprocess.run(
        [sys.executable, "-c", prelude + code], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )


def test_memory_beyond_the_worker_limit_raises_memory_error() -> None:
    small = limited("b = bytearray(50 * 1024 * 1024)\nprint('ok')", memory_mb=400)
    assert small.stdout.strip() == "ok", small.stderr
    big = limited("b = bytearray(600 * 1024 * 1024)", memory_mb=400)
    assert big.returncode == 1
    assert "MemoryError" in big.stderr


def test_cpu_time_beyond_the_worker_limit_raises_cpu_limit_exceeded() -> None:
    spun = limited("while True:\n    pass", cpu_seconds=1)
    assert spun.returncode == 1
    assert "CpuLimitExceeded: over its CPU limit of 1 s (FLOWCRM_IMPORT_WORKER_CPU_SECONDS)" in spun.stderr


def job(**values: object) -> ImportJobRow:
    return ImportJobRow(status="running", **values)


def test_a_job_runs_while_its_process_lives_on_this_host() -> None:
    assert death_of(job(worker_pid=os.getpid(), worker_host=this_host()), NOW, 60) is None
    assert death_of(ImportJobRow(status="done", worker_pid=None), NOW, 60) is None
    gone = subprocess.Popen(["true"])
    gone.wait()
    assert not pid_alive(gone.pid)
    reason = death_of(job(worker_pid=gone.pid, worker_host=this_host()), NOW, 60)
    assert reason is not None
    assert reason.startswith(f"the import's worker process (pid {gone.pid}) died")


def test_an_unreaped_worker_counts_as_dead() -> None:
    zombie = subprocess.Popen(["true"])
    try:
        for _ in range(200):
            if not pid_alive(zombie.pid):
                break
            time.sleep(0.01)  # it exits soon, and stays a zombie until waited for
        assert not pid_alive(zombie.pid)
    finally:
        zombie.wait()


@pytest.mark.parametrize(("age", "dead"), [(30, False), (121, True)])
def test_a_job_on_another_host_is_dead_once_its_heartbeat_is_stale(age: int, dead: bool) -> None:
    found = death_of(job(worker_pid=42, worker_host="elsewhere", heartbeat_at=NOW - timedelta(seconds=age)), NOW, 120)
    assert (found is not None) == dead
    if found:
        assert found.startswith(
            "the import's worker process (pid 42 on elsewhere) gave no sign of life since "
            "2026-03-02 08:57:59 UTC (more than 120 s)"
        )


def test_a_job_left_running_without_a_worker_is_dead() -> None:
    assert death_of(job(worker_pid=None), NOW, 120) == (
        "the import was left running by a process that is gone; resume it (rows already imported are kept) or run "
        "it again"
    )
