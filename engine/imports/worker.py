"""The import worker: a process of its own per run, under an address-space and a CPU-time limit, so a file
that slipped past the read limits can exhaust only its worker, never the web server that enqueued it.

    python -m engine.imports.worker JOB_ID [--resume]      (database: FLOWCRM_IMPORT_DATABASE_URL or DATABASE_URL)
"""

from __future__ import annotations

import logging
import os
import resource
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from types import FrameType

from engine.errors import FlowError
from engine.imports.limits import MB, WorkerLimits
from engine.imports.liveness import death_of
from engine.imports.run import fail_job, run_import
from engine.messages import Message
from engine.services.units import UowFactory, uow_factory
from engine.settings import ROOT
from engine.store.uow import UnitOfWork

DATABASE_ENV = "FLOWCRM_IMPORT_DATABASE_URL"
LOG = logging.getLogger(__name__)


class CpuLimitExceeded(Exception):
    """The worker used its CPU time (RLIMIT_CPU soft limit, signalled by SIGXCPU)."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


def limit_resources(limits: WorkerLimits) -> None:
    """Cap this process: RLIMIT_AS (allocation beyond it raises MemoryError) and RLIMIT_CPU (SIGXCPU at the soft
    limit, turned into CpuLimitExceeded; the kernel kills at the hard limit, 10 s later)."""
    memory = limits.memory_mb * MB
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 10))

    def over_cpu(signum: int, frame: FrameType | None) -> None:
        # the kernel repeats SIGXCPU each CPU second past the soft limit, and one arriving while the interpreter
        # exits (its handlers reset) kills the process before it has said why: past the first, only the hard
        # limit's kill remains, 10 s away, time enough to record the failure
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds + 10, limits.cpu_seconds + 10))
        raise CpuLimitExceeded(Message("runtime.import_cpu_limit", seconds=limits.cpu_seconds))

    signal.signal(signal.SIGXCPU, over_cpu)


def job_factory(url: str) -> UowFactory:
    """The worker's units of work: on PostgreSQL each transaction begins at its first write, as the CLI's and the
    web's do, so the job's reads (the look for dead jobs, the configuration, the rows a batch checks) send no BEGIN
    and COMMIT of their own."""
    return uow_factory(url, begin_late=True)


def fail_dead_jobs(uow: UnitOfWork, now: datetime, stale_seconds: int) -> list[int]:
    """Mark failed every job marked running whose process has died; their ids."""
    failed = []
    with uow:
        for job in uow.imports.running_jobs():
            reason = death_of(job, now, stale_seconds)
            if reason is not None:
                job.status, job.message, job.finished_at = "failed", reason, job.heartbeat_at or now
                failed.append(job.id)
        uow.commit()
    return failed


def work(
    factory: Callable[[], UnitOfWork],
    job_id: int,
    limits: WorkerLimits,
    *,
    resume: bool = False,
    clock: Callable[[], datetime] = _utcnow,
) -> int:
    """Run one job in this (limited) process; the exit status: 0 when the job ran to an outcome, 1 otherwise."""
    fail_dead_jobs(factory(), clock(), limits.stale_seconds)
    try:
        run_import(factory, job_id, clock, resume=resume)
    except FlowError as exc:  # not started: another run has it, or it is gone
        LOG.warning("import %s not started: %s", job_id, exc)
        return 1
    except MemoryError:
        fail_job(
            factory,
            job_id,
            Message("runtime.import_out_of_memory", megabytes=limits.memory_mb),
            clock(),
        )
        return 1
    except CpuLimitExceeded as exc:
        fail_job(factory, job_id, Message("runtime.import_stopped", detail=exc.args[0] if exc.args else exc), clock())
        return 1
    return 0


def spawn(database_url: str, job_id: int, *, resume: bool = False) -> subprocess.Popen[bytes]:
    """Start a worker process for the job and return at once (the caller reaps it: wait() in a thread)."""
    env = {**os.environ, DATABASE_ENV: database_url}
    command = [sys.executable, "-m", "engine.imports.worker", str(job_id), *(["--resume"] if resume else [])]
    return subprocess.Popen(command, env=env, cwd=ROOT, stdin=subprocess.DEVNULL, start_new_session=True)  # noqa: S603 - our own module, a number


def main(argv: Sequence[str]) -> int:
    """Entry point of `python -m engine.imports.worker JOB_ID [--resume]`."""
    args = [a for a in argv if a != "--resume"]
    if len(args) != 1 or not args[0].isdigit():
        print("usage: python -m engine.imports.worker JOB_ID [--resume]", file=sys.stderr)
        return 2
    url = os.environ.get(DATABASE_ENV) or os.environ.get("DATABASE_URL")
    if not url:
        print(f"{DATABASE_ENV} (or DATABASE_URL) names the database", file=sys.stderr)
        return 2
    limits = WorkerLimits.from_env()
    limit_resources(limits)
    factory = job_factory(url)
    try:
        return work(factory, int(args[0]), limits, resume="--resume" in argv)
    finally:
        factory.dispose()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    sys.exit(main(sys.argv[1:]))
