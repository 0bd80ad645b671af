"""JUEL compiled to Python text and run in the sandbox gives what Camunda's JUEL gives."""

from __future__ import annotations

from typing import Any

import pytest

from engine.errors import SandboxError
from engine.processes import sandbox
from engine.processes.juel import JuelError, compile_condition, compile_juel, is_juel
from engine.processes.juel_values import HELPERS

DATA: dict[str, Any] = {
    "approved": True,
    "rejected": False,
    "amount": 1500,
    "vip": True,
    "x": "yes",
    "count": "3",
    "name": "Ann",
    "nothing": None,
    "blank": "",
    "items": [],
    "tags": ["a", "b"],
    "record": {"amount": "12", "owner": {"id": 7}},
    "price": 2.5,
    "flag": "TRUE",
}


def run(text: str, data: dict[str, Any] | None = None) -> Any:
    return sandbox.evaluate(compile_juel(text), {**(DATA if data is None else data), **HELPERS})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${approved}", True),
        ("${!approved}", False),
        ("${not rejected}", True),
        ("${amount > 1000 && vip}", True),
        ("${amount gt 1000 and !vip}", False),
        ("${rejected || amount >= 1500}", True),
        ("${rejected or amount lt 1500}", False),
        ("${x eq 'yes'}", True),
        ('${x == "yes"}', True),
        ("${x ne 'no'}", True),
        ("${count == 3}", True),  # == coerces text to a number when the other side is a number
        ("${count > 2}", True),
        ("${flag == true}", True),  # and text to a boolean when the other side is a boolean
        ("${nothing == null}", True),
        ("${nothing != null}", False),
        ("${nothing < 1}", False),  # a null operand makes < false, not an error
        ("${nothing <= nothing}", True),
        ("${empty nothing}", True),
        ("${empty blank}", True),
        ("${empty items}", True),
        ("${empty tags}", False),
        ("${not empty x}", True),
        ("${approved ? 'go' : 'stop'}", "go"),
        ("${rejected ? 1 : amount > 10 ? 2 : 3}", 2),  # the ternary nests to the right
        ("${1 + 2 * 3}", 7),  # * before +
        ("${(1 + 2) * 3}", 9),
        ("${count + 1}", 4),  # + is numeric: text that is a number is added, never concatenated
        ("${price + 1}", 3.5),
        ("${7 / 2}", 3.5),  # / always divides as floats
        ("${8 div 2}", 4.0),
        ("${7 % 3}", 1),
        ("${-7 mod 3}", -1),  # the remainder takes the dividend's sign, as in Java
        ("${-amount}", -1500),
        ("${10 - 2 - 3}", 5),  # left-associative
        ("${1 < 2 == true}", True),  # relational binds tighter than equality
        ("${record.amount}", "12"),
        ("${record.owner.id}", 7),
        ("${record['amount'] >= 10}", True),
        ("${record.missing}", None),  # a missing map entry is null
        ("${tags[1]}", "b"),
        ("#{amount}", 1500),  # deferred syntax reads the same
        ('${execution.getVariable("name")}', "Ann"),
        ("Hello ${name}!", "Hello Ann!"),  # composite text
        ("${name}: ${amount} (${vip})", "Ann: 1500 (true)"),
        ("${nothing}", None),
        ("${true}", True),
        ("${null}", None),
        ("${'it\\'s'}", "it's"),
        ("${1e3}", 1000.0),
        ("${x == 'a}b'}", False),  # a brace inside a string does not end the expression
    ],
)
def test_juel_gives_what_camunda_gives(text: str, expected: Any) -> None:
    result = run(text)

    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        ("${myBean.call(x)}", "method call call(...) is not supported", 10),
        ("${S(json).prop('a')}", "Spin S(...) is not supported", 3),
        ("${execution.getVariableLocal('x')}", 'only execution.getVariable("name") is supported', 3),
        ("${fn:upper(x)}", "function fn:upper is not supported", 3),
        ("${a = 1}", "unexpected character '='", 5),
        ("${a +}", "unexpected 'end of expression'", 6),
        ("${a b}", "unexpected 'b'", 5),
        ("${'abc}", "'${' without its closing '}'", 1),
        ("${}", "empty expression", 3),
        ("${(a}", "expected ')'", 5),
        ("${a ? b}", "expected ':'", 8),
        ("${class}", "variable name 'class' cannot be used here", 3),
        ("${x instanceof y}", "instanceof is not supported", 5),
    ],
)
def test_what_cannot_be_translated_is_refused_with_its_position(text: str, message: str, position: int) -> None:
    with pytest.raises(JuelError) as caught:
        compile_juel(text)

    assert message in str(caught.value)
    assert f"at position {position}" in str(caught.value)


def test_a_missing_variable_is_an_error_as_in_camunda() -> None:
    with pytest.raises(SandboxError, match="'missing' is not defined"):
        run("${missing > 1}")


def test_plus_on_text_that_is_no_number_is_an_error_not_a_concatenation() -> None:
    with pytest.raises(SandboxError, match="cannot coerce 'Ann' to a number"):
        run("${name + 1}")


def test_a_condition_must_give_a_boolean() -> None:
    names = {**DATA, **HELPERS}
    assert sandbox.evaluate(compile_condition("${amount > 1000}"), names) is True
    with pytest.raises(SandboxError, match="condition expression returns non-Boolean: str 'yes'"):
        sandbox.evaluate(compile_condition("${x}"), names)
    with pytest.raises(SandboxError, match="non-Boolean: null"):
        sandbox.evaluate(compile_condition("${nothing}"), names)


def test_a_condition_is_one_expression() -> None:
    with pytest.raises(JuelError, match="a condition must be one"):
        compile_condition("amount ${amount}")


def test_only_text_with_a_dollar_or_hash_brace_is_juel() -> None:
    assert is_juel("${a}")
    assert is_juel("#{a}")
    assert is_juel("x ${a}")
    assert not is_juel('amount > 1000 and record["x"] == "$"')


def test_the_compiled_text_never_contains_the_raw_expression() -> None:
    assert compile_juel("${a && b}") == "(juel_bool(a) and juel_bool(b))"
    assert compile_juel("${'__import__(\"os\")'}") == "'__import__(\"os\")'"  # a string stays a string
