"""A rule condition that would run for minutes in C stops at its limit: the request gets a 422 naming the rule
and the limit, never a hung request or a 500, and nothing is written."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from flask import Flask

from engine import limits
from engine.limits import Limits, settings
from tests.integration.rules_bundle import MakeUow, deploy, make_people, rule
from tests.web.conftest import as_user, text
from tests.web.conftest import settings as app_settings
from web import create_app

CPU = 0.5
# it reads a field, so `flowcrm check` cannot evaluate it ahead (a constant one is refused at deploy)
HOSTILE = "round(1, -10**9) == 0 or full_name == ''"
MARGIN = 8.0  # seconds above 5 s: the machine is shared and loaded
# The case names the CPU limit. At a 5 s wall-clock limit a loaded machine (the whole suite beside two benchmarks,
# load 8-17 on 2 CPUs) gave the sandbox worker under a tenth of a CPU and the wall-clock limit fired first ("exceeded
# the 5.0 s time limit"); as in tests/integration/test_bounded_check.py the wall-clock limit is wider than the case
# waits, so the CPU limit is what stops the condition, and the request must still answer within 5 s + MARGIN.
WALL = 30.0


@pytest.fixture
def hostile_app(make_uow: MakeUow, db_url: str) -> Iterator[Flask]:
    deploy(
        make_uow,
        rule("hot_contact", "Contact", ["created"], [{"set": {"status": "hot"}}], when=HOSTILE),
    )
    make_people(make_uow)
    saved = list(settings._CURRENT)
    settings._CURRENT[:] = [Limits(cpu_seconds=CPU, memory_mb=256, wall_seconds=WALL, workers=2)]
    limits.stop_workers()
    yield create_app(app_settings(db_url, UOW_FACTORY=make_uow))
    settings._CURRENT[:] = saved
    limits.stop_workers()


def test_a_hostile_rule_condition_answers_422_naming_the_rule_and_the_limit(hostile_app: Flask) -> None:
    sam = as_user(hostile_app, "sam")

    started = time.monotonic()
    response = sam.post("/records/Contact/new", data={"full_name": "Maria"})

    assert time.monotonic() - started < 5.0 + MARGIN
    assert response.status_code == 422
    assert f"rule hot_contact in {HOSTILE!r}: exceeded the {CPU} s CPU limit" in text(response)
    assert "Maria" not in text(sam.get("/records/Contact"))
