"""Running `let` aggregates (engine.rules.aggregates.Running, RunningLet; engine.rules.linked_batch._Aggregates):
taken value by value they give what Python's sum/min/max give over the same values — exact decimal sums, the first
of equal extremes (dates and instants written differently), the same error — and a batch's records seen by
position give, at every position, the aggregate of the records visible there, also when positions do not rise
with the records' ids (the records are then taken again)."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import pytest

from engine.config.automation import Aggregate
from engine.config.loader import load_bundle, read_bundle_dir
from engine.config.model import Bundle
from engine.rules.aggregates import aggregate, aggregate_of
from engine.rules.expressions import Amount, RuleError
from engine.rules.linked_batch import _Aggregates
from engine.store.models import LinkedRecord
from engine.store.uow import UnitOfWork

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def bundle() -> Bundle:
    return load_bundle(read_bundle_dir(ROOT))


def builtin(function: str, values: list[Any], field_type: str) -> Any:
    """What aggregate() computed with Python's own sum/min/max before it was a running fold."""
    if function == "count":
        return len(values)
    if function == "sum":
        return Amount(sum(values, Decimal(0))) if field_type in ("decimal", "money") else sum(values, 0)
    if not values:
        return None
    pick = max if function == "max" else min
    if field_type == "date":
        return pick(values, key=lambda text: date.fromisoformat(str(text)[:10]))
    if field_type == "datetime":
        return pick(values, key=lambda text: datetime.fromisoformat(str(text)))
    return pick(values)


def test_the_running_fold_gives_what_sum_min_and_max_give() -> None:
    pick = random.Random(12)  # noqa: S311 - test data
    for _ in range(200):
        n = pick.randint(0, 12)
        samples = {
            "integer": [pick.randint(-50, 50) for _ in range(n)],
            "money": [Amount(Decimal(pick.randint(0, 999)) / 4) for _ in range(n)],
            "date": [f"2026-0{pick.randint(1, 3)}-0{pick.randint(1, 3)}" for _ in range(n)],
            # the same instant in two offsets: the first of them is kept, as max()/min() keep it
            "datetime": [
                pick.choice(["2026-01-01T12:00:00+00:00", "2026-01-01T15:00:00+03:00", "2026-01-02T09:00:00+00:00"])
                for _ in range(n)
            ],
        }
        for field_type, values in samples.items():
            for function in ("count", "sum", "min", "max"):
                if function == "sum" and field_type in ("date", "datetime"):
                    continue
                assert aggregate(function, values, field_type) == builtin(function, values, field_type)
                found = aggregate(function, values, field_type)
                assert str(found) == str(builtin(function, values, field_type))  # the same text, not only equal


def test_a_value_that_cannot_be_compared_fails_as_max_fails() -> None:
    with pytest.raises(TypeError) as expected:
        max([3, "x"])
    with pytest.raises(TypeError) as found:
        aggregate("max", [3, "x"], "integer")
    assert str(found.value) == str(expected.value)


def deals(rows: int) -> list[LinkedRecord]:
    stages = ("won", "new", "won", "lost")
    return [
        LinkedRecord(
            100 + n,
            {"stage": stages[n % 4], "amount": str(10 * (n % 7)), "close_date": f"2026-01-{1 + n % 9:02d}"},
            None,
        )
        for n in range(rows)
    ]


@pytest.mark.parametrize("shuffled", [False, True])
def test_each_position_sees_the_aggregate_of_the_records_visible_there(bundle: Bundle, shuffled: bool) -> None:
    rule = bundle.rules["contact_status_by_deals"]
    rule = dataclasses.replace(
        rule,
        let=(
            *rule.let,
            Aggregate("top", "max", "Deal", "client", field="amount"),
            Aggregate("won_sum", "sum", "Deal", "client", field="amount", where="stage == 'won'"),
            Aggregate("latest", "max", "Deal", "client", field="close_date"),
        ),
    )
    rows = deals(24)
    before, batch = rows[:6], rows[6:]  # six records from before the batch, then eighteen of the batch
    order = list(range(len(batch)))
    if shuffled:  # positions that do not rise with the ids (another transaction's ids in between)
        random.Random(3).shuffle(order)  # noqa: S311 - test data
    position = {row.id: order[n] for n, row in enumerate(batch)}
    linking = {(item.of, item.via): {7: rows} for item in rule.let}
    running = _Aggregates(linking, position)
    uow = cast(UnitOfWork, None)  # nothing here reads the database: no owner, no filter
    for at in range(len(batch)):
        visible = before + [row for row in batch if position[row.id] <= at]
        found = running.values(uow, bundle, rule, 7, at, NOW)
        for item in rule.let:
            passing = [row for row in visible if item.where is None or row.data["stage"] == "won"]
            assert found[item.name] == aggregate_of(bundle, item, passing, rule=rule.name), (at, item.name)
    assert all(state.in_order != shuffled for state in running.taken.values())


def test_an_unknown_field_fails_at_the_first_record_as_before(bundle: Bundle) -> None:
    rule = bundle.rules["contact_status_by_deals"]
    rule = dataclasses.replace(rule, let=(Aggregate("top", "max", "Deal", "client", field="no_such_field"),))
    running = _Aggregates({("Deal", "client"): {7: deals(3)}}, {})
    with pytest.raises(RuleError, match="max needs a field of Deal"):
        running.values(cast(UnitOfWork, None), bundle, rule, 7, 0, NOW)
