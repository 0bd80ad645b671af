"""Whether the process running an import is still there: its pid on this host, its heartbeat elsewhere."""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta
from pathlib import Path

from engine.messages import Message
from engine.store.quality_models import ImportJobRow


def this_host() -> str:
    """The name the worker of a job records, to tell whether its pid can be checked from here."""
    return socket.gethostname()[:255]


def pid_alive(pid: int) -> bool:
    """True while a process with this pid exists and is not a zombie (exited, not yet reaped by its parent)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: it exists
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc (not Linux): existence is all we can tell
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def death_of(job: ImportJobRow, now: datetime, stale_seconds: int) -> str | None:
    """Why a job marked running has in fact stopped (its process died), or None while it may still run."""
    if job.status != "running":
        return None
    pid, host = job.worker_pid, job.worker_host
    if pid is None:
        return Message("runtime.import_left_running")
    if host == this_host():
        if pid_alive(pid):
            return None
        return Message("runtime.import_worker_died", pid=pid)
    last = job.heartbeat_at
    if last is not None and now - last > timedelta(seconds=stale_seconds):
        return Message("runtime.import_worker_silent", pid=pid, host=host, last=f"{last:%Y-%m-%d %H:%M:%S}",
                       seconds=stale_seconds)
    return None
