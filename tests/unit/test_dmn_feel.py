"""FEEL simple unary tests and values as DMN cells use them, read without eval."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from engine.processes.dmn.feel import FeelSyntaxError, literal_list, simple_value, unary_tests
from engine.processes.dmn.values import DecisionFailure, convert, stored

UNARY_TESTS = [
    ("-", "anything", True),
    ("-", None, True),
    ("< 10", 9.5, True),
    ("< 10", 10, False),
    (">= 250", 250, True),
    ("<= -1", -1, True),
    ("[250..1000]", 250, True),
    ("[250..1000]", 1000, True),
    ("[250..1000]", 1000.01, False),
    ("]1..5[", 1, False),
    ("]1..5[", 4.99, True),
    ("(1..5)", 5, False),
    ("(1..5]", 5, True),
    ('"budget", "exceptional"', "exceptional", True),
    ('"budget", "exceptional"', "budget ", False),
    ("1, 2, 3", 2, True),
    ("1, 2, 3", "2", False),  # text is never equal to a number
    ('not("budget", "exceptional")', "retail", True),
    ('not("budget", "exceptional")', "budget", False),
    ("not(< 5)", 7, True),
    ("true", True, True),
    ("true", 1, False),
    ("false", False, True),
    ("false", None, False),
    ("null", None, True),
    ("null", 0, False),
    ("< 10, null", None, True),
    ("!= 3", 4, True),
    ("= 3", 3.0, True),
    ('"a\\"b"', 'a"b', True),
    ('date("2026-01-01")', date(2026, 1, 1), True),
    ('date("2026-01-01")', "2026-01-01", True),  # ISO text from a record field
    ('[date("2026-01-01")..date("2026-12-31")]', "2026-07-01", True),
    ('< date and time("2026-01-01T10:00:00")', "2026-01-01T09:59:59", True),
    ('> date("2026-01-01")', "2026-01-01T00:00:01", True),  # a date against a date and time: midnight
    ('> duration("P1D")', timedelta(hours=25), True),
    ('[duration("PT1H")..duration("PT2H")]', "PT90M", True),
    ('< time("10:00:00")', "09:30:00", True),
    ("< limit", 5, True),
    ("< customer.limit", 50, False),
]


@pytest.mark.parametrize(("text", "given", "expected"), UNARY_TESTS)
def test_unary_test_matches_as_feel_defines(text: str, given: Any, expected: bool) -> None:
    variables = {"limit": 10, "customer": {"limit": 20}}

    assert unary_tests(text)(given, variables) is expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[1..", "expected a value"),
        ("[1..5", "expected ']' or '[' or ')'"),
        ('contains("x")', "function contains() is not supported"),
        ("x > 5", "expected the end"),
        ("? > 5", "unexpected '? > 5'"),
        ('date("2026-13-01")', 'date("2026-13-01")'),
        ('duration("P1M")', "years and months are refused"),
        ("not(1", "expected ')'"),
    ],
)
def test_what_feel_reading_refuses_says_what_was_expected_where(text: str, message: str) -> None:
    with pytest.raises(
        FeelSyntaxError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[").replace("?", r"\?")
    ):
        unary_tests(text)


def test_comparing_text_with_a_number_fails_naming_both_values() -> None:
    with pytest.raises(DecisionFailure, match=r"cannot compare '1500' \(text\) with 1000 \(number\)"):
        unary_tests("> 1000")("1500", {})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"manager"', "manager"),
        ("42", 42),
        ("-0.5", -0.5),
        ("true", True),
        ("null", None),
        ('date("2026-03-01")', date(2026, 3, 1)),
        ("customer.tier", "gold"),
    ],
)
def test_simple_values_read_literals_and_dotted_variables(text: str, expected: Any) -> None:
    assert simple_value(text)({"customer": {"tier": "gold"}}) == expected


def test_a_missing_variable_is_named_with_the_known_ones() -> None:
    with pytest.raises(DecisionFailure, match=r"no variable 'amount' \(known: customer\)"):
        simple_value("amount")({"customer": {}})


def test_output_values_list_only_literals() -> None:
    assert literal_list('"high","medium", "low"') == ["high", "medium", "low"]
    with pytest.raises(FeelSyntaxError, match="only literals may be listed"):
        literal_list('"high", level')


@pytest.mark.parametrize(
    ("type_ref", "given", "expected"),
    [
        ("integer", "8", 8),
        ("integer", 8.0, 8),
        ("long", " 12 ", 12),
        ("double", "1.5", 1.5),
        ("number", "20000", 20000),
        ("boolean", "TRUE", True),
        ("boolean", False, False),
        ("string", True, "true"),
        ("string", 42, "42"),
        ("date", "2026-01-01", date(2026, 1, 1)),
        ("duration", "PT4H", timedelta(hours=4)),
        ("integer", None, None),
    ],
)
def test_type_ref_converts_as_camunda_does(type_ref: str, given: Any, expected: Any) -> None:
    assert convert(type_ref, given) == expected
    assert type(convert(type_ref, given)) is type(expected)


@pytest.mark.parametrize(
    ("type_ref", "given"),
    [("integer", "8.5"), ("integer", True), ("boolean", "yes"), ("double", "1,5"), ("date", "01.01.2026")],
)
def test_type_ref_refuses_a_value_it_cannot_convert_naming_it(type_ref: str, given: Any) -> None:
    with pytest.raises(DecisionFailure, match=f"is not a valid {type_ref}"):
        convert(type_ref, given)


def test_dates_and_durations_leave_a_decision_as_iso_text() -> None:
    assert stored(date(2026, 3, 31)) == "2026-03-31"
    assert stored(timedelta(days=2, hours=3, minutes=30)) == "P2DT3H30M"
    assert stored(timedelta(0)) == "P0D"
    assert stored(-timedelta(hours=1)) == "-PT1H"
