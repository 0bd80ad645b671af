"""FEEL as DMN tables use it: simple unary tests (input entries) and simple values (output entries).

A small recursive-descent reader builds Python closures; nothing is ever passed to eval. What it does not read
raises FeelSyntaxError, so `flowcrm check` can refuse the cell (or try it as Python) before anything runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from engine.messages import Message, MessageError
from engine.processes.dmn.values import DecisionFailure, compare, equal, parse_duration, parse_temporal, shown

Variables = Mapping[str, Any]
Value = Callable[[Variables], Any]
Test = Callable[[Any, Variables], bool]

_TOKEN = re.compile(
    r"""
    \s*(?:
      (?P<string>"(?:[^"\\]|\\.)*")
    | (?P<number>\d+(?:\.\d+)?|\.\d+)
    | (?P<op><=|>=|!=|\.\.|[<>=()\[\],.\-])
    | (?P<name>[^\W\d][\w]*)
    )""",
    re.VERBOSE,
)
_TEMPORAL = {"date": date, "time": time, "date and time": datetime, "duration": timedelta}
_COMPARISONS: dict[str, Callable[[int], bool]] = {
    "<": lambda c: c < 0,
    "<=": lambda c: c <= 0,
    ">": lambda c: c > 0,
    ">=": lambda c: c >= 0,
}


class FeelSyntaxError(MessageError):
    """Text that is not a FEEL construct this engine reads; the message says what was expected where."""


@dataclass(frozen=True)
class _Token:
    kind: str  # string, number, op, name, end
    text: str
    at: int


def _tokens(text: str) -> list[_Token]:
    found, at = [], 0
    while at < len(text):
        match = _TOKEN.match(text, at)
        if match is None or match.end() == at:
            if text[at:].strip() == "":
                break
            raise FeelSyntaxError(Message("feel.unexpected", text=text[at:].strip()[:20], position=at + 1))
        kind = match.lastgroup or "op"
        found.append(_Token(kind, match.group(kind), match.start(kind)))
        at = match.end()
    found.append(_Token("end", "", len(text)))
    return found


class Constant:
    """A literal cell: its value is known before anything runs, so check can look at it."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __call__(self, _variables: Variables) -> Any:
        return self.value


def _constant(value: Any) -> Value:
    return Constant(value)


def _path(parts: tuple[str, ...]) -> Value:
    """A variable or a dotted path into dicts; a missing variable is an error, a missing property is null."""

    def read(variables: Variables) -> Any:
        if parts[0] not in variables:
            raise DecisionFailure(f"no variable {parts[0]!r} (known: {', '.join(sorted(variables)) or 'none'})")
        current = variables[parts[0]]
        for part in parts[1:]:
            current = current.get(part) if isinstance(current, Mapping) else getattr(current, part, None)
        return current

    return read


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.index = 0
        self.constants: list[Any] = []  # every literal read, so check can compare them with the input's type

    def constant(self, value: Any) -> Value:
        self.constants.append(value)
        return _constant(value)

    @property
    def token(self) -> _Token:
        return self.tokens[self.index]

    def take(self, *texts: str) -> _Token | None:
        if self.token.kind in ("op", "name") and self.token.text in texts:
            self.index += 1
            return self.tokens[self.index - 1]
        return None

    def expect(self, *texts: str, wanted: str = "") -> _Token:
        token = self.take(*texts)
        if token is None:
            raise self.error(wanted or " or ".join(repr(t) for t in texts))
        return token

    def error(self, wanted: str) -> FeelSyntaxError:
        got = repr(self.token.text) if self.token.kind != "end" else Message("feel.the_end")
        return FeelSyntaxError(Message("feel.expected", wanted=wanted, position=self.token.at + 1, found=got))

    def done(self) -> None:
        if self.token.kind != "end":
            raise self.error(Message("feel.the_end"))

    def value(self) -> Value:
        """A literal, a temporal literal or a (dotted) variable name."""
        token = self.token
        if token.kind == "string":
            self.index += 1
            return self.constant(_unquote(token.text))
        if token.kind == "number" or (token.text == "-" and self.tokens[self.index + 1].kind == "number"):
            sign = -1 if self.take("-") else 1
            number = self.token.text
            self.index += 1
            return self.constant(sign * (float(number) if "." in number else int(number)))
        if token.kind != "name":
            raise self.error(Message("feel.a_value"))
        self.index += 1
        if token.text in ("true", "false"):
            return self.constant(token.text == "true")
        if token.text == "null":
            return self.constant(None)
        function = token.text
        if function == "date" and self.token.text == "and":  # `date and time("...")`
            self.expect("and")
            if self.expect("time"):
                function = "date and time"
        if function in _TEMPORAL and self.token.text == "(":
            return self.constant(self._temporal(function))
        parts = [token.text]
        while self.take("."):
            if self.token.kind != "name":
                raise self.error(Message("feel.a_property"))
            parts.append(self.token.text)
            self.index += 1
        if self.token.text == "(":
            raise FeelSyntaxError(Message("feel.function", name=".".join(parts)))
        return _path(tuple(parts))

    def _temporal(self, function: str) -> Any:
        self.expect("(")
        token = self.token
        if token.kind != "string":
            raise self.error(Message("feel.a_quoted_text", function=function))
        self.index += 1
        self.expect(")")
        try:
            if function == "duration":
                return parse_duration(_unquote(token.text))
            return parse_temporal(_TEMPORAL[function], _unquote(token.text))
        except ValueError as exc:
            raise FeelSyntaxError(Message("feel.temporal", function=function, text=token.text,
                                          reason=str(exc))) from exc

    def positive_test(self) -> Test:
        if op := self.take("<", "<=", ">", ">="):
            return _comparison(op.text, self.value())
        if self.take("="):
            return _equality(self.value())
        if self.take("!="):
            inner = _equality(self.value())
            return lambda given, variables: not inner(given, variables)
        if opening := self.take("[", "]", "("):
            low = self.value()
            self.expect("..")
            high = self.value()
            closing = self.expect("]", "[", ")", wanted=Message("feel.range_end"))
            return _interval(low, opening.text == "[", high, closing.text == "]")
        return _equality(self.value())

    def unary_tests(self) -> Test:
        if self.token.text == "-" and self.tokens[self.index + 1].kind == "end":
            self.index += 1
            return lambda _given, _variables: True
        if self.token.text == "not" and self.tokens[self.index + 1].text == "(":
            self.index += 2
            inner = self._list()
            self.expect(")")
            self.done()
            return lambda given, variables: not inner(given, variables)
        tests = self._list()
        self.done()
        return tests

    def _list(self) -> Test:
        tests = [self.positive_test()]
        while self.take(","):
            tests.append(self.positive_test())
        if len(tests) == 1:
            return tests[0]
        return lambda given, variables: any(test(given, variables) for test in tests)


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), text[1:-1])


def _equality(value: Value) -> Test:
    return lambda given, variables: equal(given, value(variables))


def _comparison(op: str, value: Value) -> Test:
    accept = _COMPARISONS[op]

    def test(given: Any, variables: Variables) -> bool:
        bound = value(variables)
        if given is None or bound is None:
            return False
        return accept(compare(given, bound))

    return test


def _interval(low: Value, low_closed: bool, high: Value, high_closed: bool) -> Test:
    def test(given: Any, variables: Variables) -> bool:
        start, end = low(variables), high(variables)
        if given is None or start is None or end is None:
            return False
        above, below = compare(given, start), compare(given, end)
        return (above >= 0 if low_closed else above > 0) and (below <= 0 if high_closed else below < 0)

    return test


def unary_tests(text: str) -> Test:
    """Compile an input entry: `-`, `"a","b"`, `< 10`, `[1..5]`, `]1..5[`, `not(...)`, `null`, `date("...")`."""
    return _Reader(text).unary_tests()


def literals_in(text: str) -> list[Any]:
    """The literal values an input entry compares the input with (none for `-`), in order."""
    reader = _Reader(text)
    reader.unary_tests()
    return reader.constants


def simple_value(text: str) -> Value:
    """Compile an output entry or input expression: a literal, a temporal literal or a (dotted) variable."""
    reader = _Reader(text)
    value = reader.value()
    reader.done()
    return value


def literal_list(text: str) -> list[Any]:
    """The values of an outputValues / inputValues list: `"low","medium","high"` (literals only)."""
    reader = _Reader(text)
    values = [reader.value()]
    while reader.take(","):
        values.append(reader.value())
    reader.done()
    try:
        return [value({}) for value in values]
    except DecisionFailure as exc:
        raise FeelSyntaxError(Message("feel.only_literals", reason=str(exc))) from exc


__all__ = [
    "Constant",
    "FeelSyntaxError",
    "Test",
    "Value",
    "literal_list",
    "literals_in",
    "shown",
    "simple_value",
    "unary_tests",
]
