"""Sandboxed evaluation of BPMN scripts, gateway conditions, timer expressions and DMN cells.

Two layers. The policy (sandbox_policy: RestrictedPython) refuses at compile time what it refuses, guards operations
that build huge values and stops loops at a deadline. The operating system bounds the rest: code runs in a
worker process with CPU-time and memory limits, killed and replaced on breach (engine.limits). An expression that
engine.limits.is_bounded proves cheap (comparisons of names and constants: most conditions, DMN cells, constant
timer values) skips the round trip and runs here, under the policy alone.
"""

from __future__ import annotations

from typing import Any

from engine import limits
from engine.errors import SandboxError
from engine.messages import Message
from engine.processes import sandbox_policy

limits.preload(sandbox_policy.__name__)
BUILTIN_NAMES = frozenset(sandbox_policy.BUILTINS)  # names an expression may use without reading any data


def _time_limit(source: str, mode: str, time_limit: float | None) -> float:
    code, errors = sandbox_policy.compile_source(source, mode)
    if code is None:  # refused without a round trip to a worker
        raise SandboxError(Message("runtime.refused", detail="; ".join(errors)))
    return time_limit or limits.current_limits().cpu_seconds


def evaluate(
    expression: str, names: dict[str, Any], *, time_limit: float | None = None, helpers: frozenset[str] = frozenset()
) -> Any:
    """Evaluates an expression over `names`; SandboxError if it is refused, fails or exceeds a limit.

    `helpers` names functions among `names` that are bounded by their own contract (engine code, not user code):
    an expression that only compares and calls them runs in this process."""
    limit = _time_limit(expression, "eval", time_limit)
    if limits.is_bounded(expression, helpers):
        return sandbox_policy.evaluate_here(expression, names, limit)
    return limits.run(sandbox_policy.evaluate_here, expression, dict(names), limit, cpu_seconds=limit)


def execute(script: str, names: dict[str, Any], *, time_limit: float | None = None) -> None:
    """Runs a script over `names` in a worker (data in, data out: one round trip), then writes its assignments
    and deletions back into `names`; SandboxError if it is refused, fails or exceeds a limit."""
    limit = _time_limit(script, "exec", time_limit)
    result = limits.run(sandbox_policy.execute_here, script, dict(names), limit, cpu_seconds=limit)
    names.clear()
    names.update(result)


def check(source: str, mode: str = "exec") -> list[str]:
    """Compiles `source` without running it; returns why the sandbox would refuse it, [] if it would not."""
    return sandbox_policy.refusals(source, mode)
