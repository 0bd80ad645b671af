"""`flowcrm check` and deploy evaluate constant timer expressions under the sandbox's limits: a hostile one is
reported with its file, line and element within the limit, instead of hanging the command."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from engine.limits import settings
from tests.integration.test_check_cli import BPMN, copy_bundle, edit, lines_of, run

MARGIN = 10.0  # seconds above the wall-clock limit: the machine is shared and loaded
# The cases name the CPU or memory limit that stops an expression. At the default 5 s wall-clock limit a loaded
# machine (load 9 on 2 CPUs) gave the checker's sandbox under a fifth of a CPU, so the wall-clock limit fired first
# and the message named it instead; a wider one leaves the CPU limit to fire, as it does on a machine at rest.
WALL = 30.0


@pytest.fixture(autouse=True)
def wide_wall_clock_limit() -> Iterator[None]:
    saved = list(settings._CURRENT)
    settings._CURRENT[:] = [replace(settings.current_limits(), wall_seconds=WALL)]
    yield
    settings._CURRENT[:] = saved


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('"P" + str(len(set(range(0, 999999*(2**61-1), 2**61-1)))) + "D"', "exceeded the 1.0 s CPU limit"),
        ('"P" + str(max([[0]*999999]*999999)) + "D"', "exceeded the 1.0 s CPU limit"),
        ("f'" + "{1:&gt;999999}" * 6000 + "'", "exceeded the 256 MB memory limit"),
    ],
    ids=["range-set", "max-of-lists", "wide-fstring"],
)
def test_check_stops_a_hostile_constant_timer_at_its_limit_and_names_it(
    tmp_path: Path, value: str, message: str
) -> None:
    bundle = copy_bundle(tmp_path)
    edit(bundle, BPMN, '>"P30D"</bpmn:timeDuration>', f">{value}</bpmn:timeDuration>")

    started = time.monotonic()
    result = run("check", str(bundle))

    assert time.monotonic() - started < WALL + MARGIN
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    reported = [line for line in result.output.splitlines() if message in line]
    assert len(reported) == 1, result.output  # the output says which limit fired instead, if another did
    [reported] = reported
    marker = value[:20]
    assert any(
        reported.startswith(f"{BPMN}:{n}: [nurture_wait] bpmn:timeDuration: ") for n in lines_of(bundle, BPMN, marker)
    ), result.output


def test_deploy_refuses_a_hostile_constant_timer_within_its_limit(tmp_path: Path, db_url: str) -> None:
    bundle = copy_bundle(tmp_path)
    edit(bundle, BPMN, '>"P30D"</bpmn:timeDuration>', ">str(max([[0]*999999]*999999))</bpmn:timeDuration>")

    started = time.monotonic()
    result = run("--database-url", db_url, "deploy", str(bundle))

    assert time.monotonic() - started < WALL + MARGIN
    assert result.exit_code == 1, result.output
    assert "[nurture_wait] bpmn:timeDuration: exceeded the 1.0 s CPU limit" in result.output


RULE = "crm_model/rules/repeat_sale.yaml"
RULE_WHEN = 'when: "last_purchase is not None and days_since(last_purchase) > 180 and repeat_sale_for != last_purchase"'


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ("round(1, -10**9) == 0", "exceeded the 1.0 s CPU limit"),
        ("len('%999999999d' % 1) > 0", "limit"),
    ],
    ids=["round", "percent-width"],
)
def test_check_stops_a_hostile_constant_rule_condition_at_its_limit_and_names_the_rule(
    tmp_path: Path, condition: str, message: str
) -> None:
    bundle = copy_bundle(tmp_path)
    edit(bundle, RULE, RULE_WHEN, f'when: "{condition}"')

    started = time.monotonic()
    result = run("check", str(bundle))

    assert time.monotonic() - started < WALL + MARGIN
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    [reported] = [line for line in result.output.splitlines() if "[repeat_sale]" in line]
    assert reported.startswith(f"{RULE}:"), reported
    assert message in reported, reported


def test_check_leaves_a_rule_condition_that_reads_fields_to_run_time(tmp_path: Path) -> None:
    bundle = copy_bundle(tmp_path)
    edit(bundle, RULE, RULE_WHEN, 'when: "round(1, -10**9) == repeat_sale_for"')

    result = run("check", str(bundle))

    assert result.exit_code == 0, result.output
