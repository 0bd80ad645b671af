"""The bounded-execution proof: every hostile payload of tests/unit/payloads.py is refused or stopped within its
limit, by the policy layers or by the worker's OS limits; what runs in-process is proven cheap."""

from __future__ import annotations

import resource
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest

from engine import limits
from engine.config.model import WorkingHours
from engine.errors import SandboxError
from engine.limits import Limits, settings
from engine.processes import sandbox
from engine.processes.calendar import BusinessTime
from engine.processes.spiff import SandboxEnvironment
from engine.rules.expressions import RuleError, amount, is_true
from tests.unit.payloads import RULES, SCRIPTS

CPU = 0.5
WALL = 6.0
MARGIN = 4.0  # generous: the machine is shared and loaded
RECORD = {"name": "a", "budget": amount(5), "status": "new"}


def use(value: Limits) -> None:
    settings._CURRENT[:] = [value]
    limits.stop_workers()  # idle workers started under other limits


@pytest.fixture(autouse=True, scope="module")
def tight_limits() -> Iterator[None]:
    saved = list(settings._CURRENT)
    use(Limits(cpu_seconds=CPU, memory_mb=256, wall_seconds=WALL, workers=2))
    sandbox.evaluate("warm + 1", {"warm": 1})  # the first worker's start is not an evaluation's time
    yield
    settings._CURRENT[:] = saved
    limits.stop_workers()


def short(payload: str) -> str:
    return payload if len(payload) <= 60 else payload[:57] + "..."


def elapsed(function: Any, *args: Any, **kwargs: Any) -> tuple[float, BaseException | None]:
    started = time.monotonic()
    try:
        function(*args, **kwargs)
    except (SandboxError, RuleError) as exc:
        return time.monotonic() - started, exc
    return time.monotonic() - started, None


def test_the_corpus_has_at_least_fifty_payloads_of_each_kind() -> None:
    assert len(SCRIPTS) >= 50
    assert len(RULES) >= 50


@pytest.mark.parametrize("payload", SCRIPTS, ids=short)
def test_hostile_script_is_refused_or_stopped_within_its_limit(payload: str) -> None:
    seconds, error = elapsed(sandbox.execute, payload, {})
    assert isinstance(error, SandboxError), f"{payload!r} ran to its end"
    assert seconds < WALL + MARGIN, f"{payload!r} took {seconds:.1f} s: {error}"


@pytest.mark.parametrize("payload", RULES, ids=short)
def test_hostile_rule_condition_is_refused_or_stopped_within_its_limit(payload: str) -> None:
    seconds, error = elapsed(is_true, payload, RECORD, rule="hostile", today=date(2026, 1, 1))
    assert isinstance(error, RuleError), f"{payload!r} ran to its end"
    assert str(error).startswith("rule hostile in "), error
    assert seconds < WALL + MARGIN, f"{payload!r} took {seconds:.1f} s: {error}"


def test_no_hostile_payload_takes_the_in_process_path() -> None:
    assert [p for p in SCRIPTS + RULES if limits.is_bounded(p)] == []


@pytest.mark.parametrize(
    "expression",
    [
        "amount > 1000 and region in ('EU', 'US')",
        '"PT4H"',
        "approved == True",
        "not rejected",
        "record['due']",
        "status != 'lost' and -score < 0",
        "v >= 50",
        "'qualified' if outcome == 'convert' else ('nurturing' if outcome == 'nurture' else 'lost')",
        "record.get('request_type') is not None",  # the lead process's gateway and routing table
        "record.get('request_stage') or 'new'",
        "record.get('region', 'moscow') == 'moscow'",
    ],
)
def test_conditions_and_constant_timer_values_take_the_in_process_path(expression: str) -> None:
    assert limits.is_bounded(expression)


@pytest.mark.parametrize(
    "expression",
    [
        "record.get(key)",  # a computed key
        "record.get('a').get('b')",  # a method of what a call returned
        "record.get('a', default=1)",
        "record.get()",
        "record.get('a', 'b', 'c')",
        "record.pop('a')",
        "record.items()",
        "record.get('a', [0] * 10)",
    ],
)
def test_other_method_calls_go_to_a_worker(expression: str) -> None:
    assert not limits.is_bounded(expression)


def test_a_get_over_the_largest_storable_data_stays_within_the_limit_and_refuses_what_has_no_get() -> None:
    data = {"record": {f"field{n}": n for n in range(999_999)}, "items": [0] * 999_999}
    seconds, error = elapsed(sandbox.evaluate, "record.get('field999998') == 999998", data)
    assert (error, seconds < CPU) == (None, True)
    with pytest.raises(SandboxError):
        sandbox.evaluate("items.get('x')", data)


@pytest.mark.parametrize(
    "expression",
    [
        "big == twin",
        "big < twin",
        "big in [twin, big]",
        "needle in haystack",
        "(big, twin) == (twin, big)",
        "(needle in haystack) if big == twin else (big < twin)",
    ],
)
def test_in_process_expressions_over_the_largest_storable_data_stay_within_the_limit(expression: str) -> None:
    data = {
        "big": [0] * 999_999,
        "twin": [0] * 999_999,
        "needle": "a" * 999 + "b",  # the worst case of a naive text search: CPython's adaptive search is linear
        "haystack": "a" * 999_999,
    }
    assert limits.is_bounded(expression)
    seconds, error = elapsed(sandbox.evaluate, expression, data)
    assert error is None
    assert seconds < CPU


def test_a_single_c_level_operation_is_stopped_at_the_cpu_limit_and_the_worker_replaced() -> None:
    seconds, error = elapsed(sandbox.execute, "x = max([[0]*999999]*999999)", {})
    assert str(error) == f"exceeded the {CPU} s CPU limit"
    assert seconds < WALL + MARGIN
    assert sandbox.evaluate("x * 2", {"x": 21}) == 42  # a fresh worker serves the next evaluation


def test_a_memory_bomb_is_stopped_at_the_memory_limit_outside_this_process() -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    seconds, error = elapsed(sandbox.execute, "x = [[i] * 999999 for i in range(999)]", {}, time_limit=WALL - 1)
    assert str(error) == "exceeded the 256 MB memory limit"
    assert seconds < WALL + MARGIN
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100_000  # KiB: this process stayed small


def test_an_evaluation_past_the_wall_clock_limit_is_killed() -> None:
    use(Limits(cpu_seconds=30.0, memory_mb=256, wall_seconds=1.0, workers=2))
    try:
        seconds, error = elapsed(sandbox.execute, "x = max([[0]*999999]*999999)", {}, time_limit=30.0)
    finally:
        use(Limits(cpu_seconds=CPU, memory_mb=256, wall_seconds=WALL, workers=2))
    assert str(error) == "exceeded the 1.0 s time limit"
    assert seconds < 1.0 + MARGIN


def test_a_variable_that_cannot_cross_to_the_worker_is_named() -> None:
    with pytest.raises(SandboxError, match="variable 'handle' cannot be passed to the sandbox"):
        sandbox.execute("y = 1", {"ok": 1, "handle": lambda: 0})


def test_a_variable_that_cannot_come_back_is_named() -> None:
    with pytest.raises(SandboxError, match="variable 'it' cannot be stored"):
        sandbox.execute("it = (i for i in [1, 2])", {})


def test_rule_conditions_run_in_a_worker_with_their_functions() -> None:
    assert is_true("len(name) + 1 == 2 and budget * 2 == 10", RECORD, rule="r", today=date(2026, 1, 1))


def test_working_hours_counts_in_the_deployed_calendar_and_the_callers_clock_inside_a_worker() -> None:
    expression = "working_hours(4) if hours * 1 else ''"  # arithmetic: evaluated in a worker
    assert not limits.is_bounded(expression, frozenset({"working_hours"}))
    assert limits.is_bounded("working_hours(4)", frozenset({"working_hours"}))
    calendar = WorkingHours(timezone="UTC", days=(0, 1, 2, 3, 4), start_minute=9 * 60, end_minute=18 * 60)
    friday_five_pm = datetime(2026, 3, 6, 17, 0, tzinfo=UTC)
    value = SandboxEnvironment(BusinessTime(calendar, lambda: friday_five_pm)).evaluate(expression, {"hours": 1})
    assert value == "2026-03-09T12:00:00+00:00"  # one hour on Friday, three on Monday morning
