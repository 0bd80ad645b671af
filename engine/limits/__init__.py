"""Bounded execution of user-written code: worker processes whose CPU time and memory the OS enforces.

`run(function, *args)` runs a module-level function in a warm worker process (RLIMIT_AS/RLIMIT_DATA for memory,
ITIMER_PROF and RLIMIT_CPU for CPU time, a wall-clock timeout in the caller), killed and replaced on breach.
`is_bounded(source)` tells which expressions are cheap enough to evaluate in the caller's process."""

from engine.limits.fastpath import is_bounded
from engine.limits.pool import preload, run, stop_workers
from engine.limits.settings import Limits, current_limits

__all__ = ["Limits", "current_limits", "is_bounded", "preload", "run", "stop_workers"]
