"""What a sandbox worker process runs: a memory limit once, a CPU-time limit around every job.

Messages, parent to worker: `(function, args, cpu_seconds)`; worker to parent: `("ready", pid)`, `("ok", value)`,
`("error", text)` or `("memory", None)`. A worker that exceeds its CPU time is killed by the kernel (SIGPROF from
ITIMER_PROF, SIGXCPU from RLIMIT_CPU as a backstop), even inside one long C call such as `max()` over a huge list.
"""

from __future__ import annotations

import math
import os
import pickle
import resource
import signal
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, Final

from engine.errors import FlowError

GRACE_SECONDS: Final = 0.1  # Python-level deadlines end loops cleanly first; the kernel stops what they cannot
CPU_SIGNALS: Final = frozenset({signal.SIGPROF, signal.SIGXCPU})
_MAX_MESSAGE: Final = 2000
IN_WORKER: list[bool] = []  # set in a worker process: code there runs jobs directly, never in a nested worker


def _pages(field: int) -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:  # Linux; fields in pages
        return int(statm.read().split()[field]) * resource.getpagesize()


def limit_memory(extra_bytes: int) -> None:
    """Caps this process's address space and data segment at what it uses now plus `extra_bytes`."""
    for which, used in ((resource.RLIMIT_AS, _pages(0)), (resource.RLIMIT_DATA, _pages(5))):
        hard = resource.getrlimit(which)[1]
        soft = used + extra_bytes if hard == resource.RLIM_INFINITY else min(used + extra_bytes, hard)
        resource.setrlimit(which, (soft, hard))


def _arm(cpu_seconds: float) -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    # RLIMIT_CPU counts whole seconds over the process's life, so it moves with every job; only the soft limit
    # moves (an unprivileged process cannot raise a hard limit it lowered).
    soft = math.ceil(usage.ru_utime + usage.ru_stime + cpu_seconds + GRACE_SECONDS) + 1
    hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
    resource.setrlimit(resource.RLIMIT_CPU, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))
    signal.setitimer(signal.ITIMER_PROF, cpu_seconds + GRACE_SECONDS)  # default action of SIGPROF: terminate


def describe(exc: BaseException) -> str:
    """An exception as one bounded line: the engine's own errors as they are, others with their type."""
    try:
        text = str(exc) if isinstance(exc, FlowError) else f"{type(exc).__name__}: {exc}"
    except Exception:  # a str() that itself fails or is refused
        text = type(exc).__name__
    return text if len(text) <= _MAX_MESSAGE else text[:_MAX_MESSAGE] + "…"


def unpicklable_part(value: Any, what: str) -> str:
    """Names the entry of `value` that cannot cross a process boundary (a variable of a dict, or the value)."""
    parts = value.items() if isinstance(value, dict) else [(None, value)]
    for key, part in parts:
        try:
            pickle.dumps(part, pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            name = f"variable {key!r}" if key is not None else "the value"
            return f"{name} cannot be {what}: {describe(exc)}"
    return f"the value cannot be {what}"


def _reply(function: Callable[..., Any], args: tuple[Any, ...]) -> tuple[str, bytes]:
    try:
        value = function(*args)
    except MemoryError:
        return "memory", pickle.dumps(("memory", None))
    except Exception as exc:
        return "error", pickle.dumps(("error", describe(exc)))
    try:
        return "ok", pickle.dumps(("ok", value), pickle.HIGHEST_PROTOCOL)
    except MemoryError:
        return "memory", pickle.dumps(("memory", None))
    except Exception:
        return "error", pickle.dumps(("error", unpicklable_part(value, "stored")))


def serve(conn: Connection, memory_bytes: int) -> None:
    """The worker's loop: one job at a time until the parent closes the pipe or a job runs out of memory."""
    IN_WORKER.append(True)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # SIGXCPU would otherwise dump core
    limit_memory(memory_bytes)
    conn.send(("ready", os.getpid()))
    while True:
        try:
            function, args, cpu_seconds = conn.recv()
        except EOFError:
            return
        _arm(cpu_seconds)
        try:
            kind, reply = _reply(function, args)
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)
        conn.send_bytes(reply)
        if kind == "memory":
            return  # after a MemoryError the heap may be in pieces: the parent starts a fresh worker
