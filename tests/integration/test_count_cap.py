"""Counts of found records are exact up to a cap; beyond it PostgreSQL gives the planner's estimate (said so),
while SQLite always counts exactly."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from engine.services.finding import estimate_count, find_records
from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.conftest import NOW
from tests.integration.find_data import PHONE_BUYERS, build

Uows = Callable[[], UnitOfWork]
DEALS = {"entity": "Deal", "where": {"field": "amount", "op": "gt", "value": 1}}
CLOSED_LATE = {"entity": "Deal", "where": {"field": "close_date", "op": "gt", "value": "2016-05-31"}}


@pytest.fixture
def data(deployed: Uows, actors: dict[str, Actor]) -> dict[str, int]:
    return build(deployed, actors)


@pytest.mark.parametrize("flt", [DEALS, CLOSED_LATE, PHONE_BUYERS])
def test_count_within_the_cap_is_exact_on_every_database(
    deployed: Uows, actors: dict[str, Actor], data: dict[str, int], flt: dict[str, Any]
) -> None:
    exact = len(find_records(deployed(), actors["admin"], flt, NOW, limit=500).items)
    assert estimate_count(deployed(), actors["admin"], flt, NOW, cap=exact) == (exact, True)


@pytest.mark.parametrize("flt", [DEALS, CLOSED_LATE])
def test_count_beyond_the_cap_is_an_estimate_on_postgresql_and_exact_on_sqlite(
    deployed: Uows, actors: dict[str, Actor], data: dict[str, int], db_url: str, flt: dict[str, Any]
) -> None:
    exact = len(find_records(deployed(), actors["admin"], flt, NOW, limit=500).items)
    assert exact >= 2
    count, is_exact = estimate_count(deployed(), actors["admin"], flt, NOW, cap=1)
    if db_url.startswith("sqlite"):
        assert (count, is_exact) == (exact, True)
    else:
        assert is_exact is False
        assert count >= 2  # never below what was counted: the cap plus one
