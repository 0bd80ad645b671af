"""Cost of bounded execution per evaluation: the in-process policy alone (the path before worker processes),
the in-process fast path, and a round trip to a sandbox worker; plus a worker's cold start and the time to stop
a C-level hog at the CPU limit and replace its worker."""

from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Callable
from datetime import date
from typing import Any

from engine import limits
from engine.errors import SandboxError
from engine.processes import sandbox, sandbox_policy
from engine.rules import expressions

DATA: dict[str, Any] = {"amount": 1500, "region": "EU", "approved": True, "items": list(range(20)), "name": "Acme"}
CONDITION = "amount > 1000 and region in ('EU', 'US')"
ARITHMETIC = "amount * 2 > 1000 and len(items) > 3"
SCRIPT = "total = sum(items)\nbig = amount > 1000\nlabel = f'{name}: {total}'"
RULE = "status == 'new' and budget > 1000"
RULE_ARITHMETIC = "budget * 1.2 > 1000 and len(name) > 2"
RECORD: dict[str, Any] = {"status": "new", "budget": expressions.amount(1500), "name": "Acme"}
TODAY = date(2026, 3, 2)
HOG = "x = max([[0]*999999]*999999)"


def _per_call_us(call: Callable[[], Any], count: int) -> float:
    """Median over five batches of `count` calls, in microseconds per call."""
    batches = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(count):
            call()
        batches.append((time.perf_counter() - started) / count * 1e6)
    return round(statistics.median(batches), 1)


def _cases() -> dict[str, tuple[Callable[[], Any], Callable[[], Any]]]:
    """Case -> (the in-process call of before, the call of now)."""
    limit = limits.current_limits().cpu_seconds
    return {
        "condition (fast path)": (
            lambda: sandbox_policy.evaluate_here(CONDITION, DATA, limit),
            lambda: sandbox.evaluate(CONDITION, DATA),
        ),
        "expression with arithmetic (worker)": (
            lambda: sandbox_policy.evaluate_here(ARITHMETIC, DATA, limit),
            lambda: sandbox.evaluate(ARITHMETIC, DATA),
        ),
        "3-line script (worker)": (
            lambda: sandbox_policy.execute_here(SCRIPT, dict(DATA), limit),
            lambda: sandbox.execute(SCRIPT, dict(DATA)),
        ),
        "rule condition (fast path)": (
            lambda: expressions.evaluate_here(RULE, RECORD, TODAY),
            lambda: expressions.evaluate(RULE, RECORD, rule="bench", today=TODAY),
        ),
        "rule with arithmetic (worker)": (
            lambda: expressions.evaluate_here(RULE_ARITHMETIC, RECORD, TODAY),
            lambda: expressions.evaluate(RULE_ARITHMETIC, RECORD, rule="bench", today=TODAY),
        ),
    }


def _seconds(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    with contextlib.suppress(SandboxError):  # the hog's breach is the expected outcome
        call()
    return round(time.perf_counter() - started, 3)


def run(count: int) -> dict[str, Any]:
    """Per-evaluation cost before (in-process) and now, `count` calls per batch; cold start and hog stop times."""
    limits.stop_workers()
    cold_start_s = _seconds(lambda: sandbox.evaluate(ARITHMETIC, DATA))
    cases = []
    for name, (before, now) in _cases().items():
        before_us, now_us = _per_call_us(before, count), _per_call_us(now, count)
        cases.append(
            {"case": name, "in_process_us": before_us, "now_us": now_us, "overhead_us": round(now_us - before_us, 1)}
        )
    hog_s = _seconds(lambda: sandbox.execute(HOG, {}))
    return {
        "limits": limits.current_limits().__dict__,
        "calls_per_batch": count,
        "cases": cases,
        "worker_cold_start_s": cold_start_s,
        "hog_stopped_and_replaced_s": hog_s + _seconds(lambda: sandbox.evaluate(ARITHMETIC, DATA)),
    }


def render(part: dict[str, Any]) -> list[str]:
    """The part as a text table."""
    from bench.report import _table

    rows = [[c["case"], c["in_process_us"], c["now_us"], c["overhead_us"]] for c in part["cases"]]
    out = [
        f"Sandbox: cost per evaluation ({part['calls_per_batch']} calls per batch, median of 5), limits "
        f"{part['limits']}"
    ]
    out += _table(["case", "in-process µs (before)", "now µs", "overhead µs"], rows)
    out.append(
        f"  worker cold start {part['worker_cold_start_s']} s; a C-level hog stopped at the CPU limit and "
        f"its worker replaced in {part['hog_stopped_and_replaced_s']} s"
    )
    return out
