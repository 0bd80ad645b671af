"""Rule expressions and aggregate arithmetic: no database, no clock."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from engine.config import expressions as checks
from engine.config.model import Entity, Field
from engine.rules.aggregates import aggregate
from engine.rules.expressions import RuleError, amount, evaluate, field_names, functions, is_true, to_json

TODAY = date(2026, 3, 2)
ENTITY = Entity("Thing", {"en": "Thing"}, "name", {
    "name": Field("name", "string"), "budget": Field("budget", "money"), "count": Field("count", "integer"),
    "since": Field("since", "date"),
})


def run(expression: str, **names: Any) -> Any:
    return evaluate(expression, names, rule="r", today=TODAY)


def test_record_fields_are_names_and_missing_ones_are_none() -> None:
    names = field_names(ENTITY, {"name": "Acme", "budget": "1200.50"})
    assert names["count"] is None
    assert names["since"] is None
    assert evaluate("budget > 1000 and count is None and upper(name) == 'ACME'", names, rule="r", today=TODAY)


def test_money_stays_exact_and_mixes_with_floats() -> None:
    total = amount("0.10") + amount("0.20")
    assert total == Decimal("0.30")
    assert run("total * 1.5", total=total) == Decimal("0.45")
    assert run("round(-total / 3, 2)", total=total) == Decimal("-0.10")
    assert to_json(run("total * 2", total=total), "money") == "0.60"
    assert to_json(Decimal("4.0"), "integer") == 4
    assert to_json(0.1 + 0.2, "money") == "0.30000000000000004"  # a float result keeps what it is


def test_today_and_days_since() -> None:
    assert run("today") == "2026-03-02"
    assert run("days_since('2026-02-28')") == 2
    assert run("days_since('2026-02-28T23:00:00+00:00')") == 2
    assert run("days_since(since) is None", since=None)


def test_the_functions_match_what_check_accepts() -> None:
    assert set(functions(TODAY)) == set(checks.FUNCTION_NAMES)
    assert run("[len('abc'), min(3, 1), max(3, 1), abs(-2), round(2.5), lower('A')]") == [3, 1, 3, 2, 2, "a"]


def test_linked_record_is_a_dict() -> None:
    assert is_true("linked['direction'] == 'inbound'", {"linked": {"direction": "inbound"}}, rule="r", today=TODAY)
    assert is_true(None, {}, rule="r", today=TODAY)
    assert is_true("  ", {}, rule="r", today=TODAY)


@pytest.mark.parametrize("expression", [
    "__import__('os').system('true')", "().__class__.__bases__", "open('/etc/passwd')", "eval('1')",
    "name.__class__", "nope + 1", "1 / 0", "'x' * 10**9", "1 +",
])
def test_refused_or_failing_expressions_raise_a_rule_error_naming_rule_and_expression(expression: str) -> None:
    with pytest.raises(RuleError) as error:
        evaluate(expression, {"name": "x"}, rule="status_by_deals", today=TODAY)
    assert error.value.rule == "status_by_deals"
    assert error.value.expression == expression
    assert str(error.value).startswith(f"rule status_by_deals in {expression!r}: ")


def test_a_rule_error_can_say_where_it_happened() -> None:
    error = RuleError("x", "boom", label="pipeline web / stage won")
    assert str(error) == "pipeline web / stage won: boom"


def test_aggregates() -> None:
    amounts = [amount("0.10"), amount("0.20")]
    assert aggregate("count", amounts, "money") == 2
    assert aggregate("sum", amounts, "money") == Decimal("0.30")
    assert aggregate("sum", [], "money") == 0
    assert aggregate("sum", [1, 2], "integer") == 3
    assert aggregate("max", ["2026-01-10", "2025-12-31"], "date") == "2026-01-10"
    assert aggregate("min", ["2026-01-10", "2025-12-31"], "date") == "2025-12-31"
    assert aggregate("max", [], "date") is None
    assert aggregate("max", ["2026-01-10T10:00:00+03:00", "2026-01-10T08:30:00+00:00"], "datetime") == \
        "2026-01-10T08:30:00+00:00"
    assert aggregate("min", amounts, "money") == Decimal("0.10")
