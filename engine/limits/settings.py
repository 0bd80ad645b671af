"""The limits of sandboxed code, from the environment (documented in docs/sandbox.md)."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

from engine.errors import ConfigError, Problem

_VARIABLES = {
    "cpu_seconds": "FLOWCRM_SANDBOX_CPU_SECONDS",
    "memory_mb": "FLOWCRM_SANDBOX_MEMORY_MB",
    "wall_seconds": "FLOWCRM_SANDBOX_WALL_SECONDS",
    "workers": "FLOWCRM_SANDBOX_WORKERS",
}


@dataclass(frozen=True)
class Limits:
    """CPU seconds per evaluation, memory a worker may add, wall-clock seconds per evaluation, worker processes."""

    cpu_seconds: float = 1.0
    memory_mb: int = 256
    wall_seconds: float = 5.0  # above the CPU limit: on a loaded machine a second of CPU takes longer
    workers: int = 2

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Limits:
        """The defaults, overridden by FLOWCRM_SANDBOX_* variables; ConfigError naming a malformed one."""
        environ = dict(os.environ) if environ is None else environ
        limits = cls()
        for name, variable in _VARIABLES.items():
            text = environ.get(variable, "").strip()
            if not text:
                continue
            kind = type(getattr(limits, name))
            try:
                value = kind(text)
            except ValueError:
                value = 0
            if value <= 0:
                raise ConfigError([Problem(variable, None, None, f"{text!r} is not a positive {kind.__name__}")])
            limits = replace(limits, **{name: value})
        return limits


_CURRENT: list[Limits] = []


def current_limits() -> Limits:
    """The limits of this process, read from the environment once."""
    if not _CURRENT:
        _CURRENT.append(Limits.from_env())
    return _CURRENT[0]
