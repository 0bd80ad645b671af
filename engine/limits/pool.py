"""A pool of warm sandbox worker processes, shared by the threads of one process; a worker that breaks a limit
is killed and replaced, so no evaluation holds a worker, a timer tick or a web request past its limits."""

from __future__ import annotations

import atexit
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Final

from engine.errors import SandboxError
from engine.limits.settings import Limits, current_limits
from engine.limits.worker import CPU_SIGNALS, IN_WORKER, unpicklable_part

STARTUP_SECONDS: Final = 60.0  # a first start imports the preloaded modules on a possibly loaded machine
_ROOT: Final = str(Path(__file__).resolve().parents[2])
_PRELOAD: list[str] = []


def preload(module: str) -> None:
    """Imports `module` in every worker when it starts, so no job pays for the import."""
    if module not in _PRELOAD:
        _PRELOAD.append(module)


class _Worker:
    """One worker process and the parent's end of its socket.

    A fresh interpreter (`python -m engine.limits`), not multiprocessing's fork or spawn: forking a threaded
    web server is unsafe, and spawn would import the caller's main module (a CLI, a test runner) in the worker."""

    def __init__(self, memory_mb: int) -> None:
        ours, theirs = socket.socketpair()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [_ROOT, os.environ.get("PYTHONPATH")]))}
        command = [sys.executable, "-m", "engine.limits", str(theirs.fileno()), str(memory_mb * 2**20)]
        with theirs:
            self.process = subprocess.Popen(  # noqa: S603  # our own interpreter and module, no shell
                [*command, *_PRELOAD], pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, env=env
            )
        self.conn = Connection(ours.detach())
        self.busy = False
        if not self.conn.poll(STARTUP_SECONDS):
            self.stop()
            raise SandboxError(f"the sandbox worker did not start within {STARTUP_SECONDS} s")
        try:
            self.conn.recv()
        except EOFError:
            self.stop()
            raise SandboxError(f"the sandbox worker failed to start (exit code {self.process.returncode})") from None

    def call(self, message: tuple[Any, ...], limits: Limits, cpu_seconds: float) -> Any:
        """The reply value (a SandboxError for a failure inside the job); raises SandboxError for a breach."""
        try:
            self.conn.send(message)  # pickled whole before a byte is written: a refusal leaves the pipe clean
        except OSError:
            pass  # the worker died while idle: reported below, from its exit code
        except Exception:
            raise SandboxError(unpicklable_part(_names(message[1]), "passed to the sandbox")) from None
        self.busy = True  # until its reply is read: a worker interrupted while busy is never reused
        if not self.conn.poll(limits.wall_seconds):
            self.stop()
            raise SandboxError(f"exceeded the {float(limits.wall_seconds)} s time limit")
        try:
            kind, value = self.conn.recv()
        except (EOFError, OSError):
            self.stop()
            code = self.process.wait()
            if code is not None and -code in CPU_SIGNALS:
                raise SandboxError(f"exceeded the {float(cpu_seconds)} s CPU limit") from None
            raise SandboxError(f"the sandbox worker stopped (exit code {code})") from None
        if kind == "memory":
            self.stop()
            raise SandboxError(f"exceeded the {limits.memory_mb} MB memory limit")
        self.busy = False
        return SandboxError(value) if kind == "error" else value

    def stop(self) -> None:
        """Kills the process (it may be stuck in a C call) and releases its pipe; the worker is not reused."""
        self.busy = True
        if self.conn.closed:
            return
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.conn.close()


def _names(args: tuple[Any, ...]) -> Any:
    return next((arg for arg in args if isinstance(arg, dict)), args)


class _Pool:
    """Idle workers and a count of all, guarded by one condition."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.idle: list[_Worker] = []
        self.count = 0
        self.changed = threading.Condition()

    def checkout(self, limits: Limits) -> _Worker:
        with self.changed:
            while not self.idle and self.count >= limits.workers:
                self.changed.wait()
            if self.idle:
                return self.idle.pop()
            self.count += 1
        try:
            return _Worker(limits.memory_mb)
        except BaseException:
            self.checkin(None)
            raise

    def checkin(self, worker: _Worker | None) -> None:
        with self.changed:
            if worker is not None and worker.busy:
                worker.stop()
            if worker is None or worker.busy:
                self.count -= 1
            else:
                self.idle.append(worker)
            self.changed.notify()


_POOL: list[_Pool] = []
_POOL_LOCK = threading.Lock()


def _pool() -> _Pool:
    with _POOL_LOCK:
        if not _POOL or _POOL[0].pid != os.getpid():  # a forked child must not share its parent's workers
            _POOL[:] = [_Pool()]
        return _POOL[0]


def run(function: Callable[..., Any], *args: Any, cpu_seconds: float | None = None) -> Any:
    """`function(*args)` in a sandbox worker under the current limits; its result, or SandboxError.

    `function` must be a module-level function (it is sent by name); a module listed with `preload()` is
    imported once per worker. `cpu_seconds` overrides the CPU limit for this call."""
    if IN_WORKER:
        return function(*args)
    limits = current_limits()
    cpu = cpu_seconds or limits.cpu_seconds
    pool = _pool()
    worker = pool.checkout(limits)
    try:
        value = worker.call((function, args, cpu), limits, cpu)
    finally:
        pool.checkin(worker)
    if isinstance(value, SandboxError):
        raise value
    return value


def stop_workers() -> None:
    """Stops this process's idle workers (tests; a changed limit takes effect with the next workers)."""
    pool = _pool()
    with pool.changed:
        idle, pool.idle = pool.idle, []
        pool.count -= len(idle)
    for worker in idle:
        worker.stop()


atexit.register(stop_workers)
