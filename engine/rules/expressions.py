"""Rule expressions: simpleeval (an AST whitelist interpreter, never Python eval) over a record's fields.

simpleeval has no time limit of its own, and one operation (`round(1, -10**9)`, `'%999999999d' % 1`) can run for
minutes in C: an expression runs in a sandbox worker with OS limits (engine.limits), unless engine.limits.is_bounded
proves it cheap (comparisons of fields and constants), when it runs here."""

from __future__ import annotations

import ast
import threading
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from simpleeval import EvalWithCompoundTypes  # type: ignore[import-untyped,unused-ignore]

from engine import limits
from engine.config.model import Entity
from engine.errors import FlowError, SandboxError
from engine.messages import Message

_NUMBER_TYPES = ("decimal", "money")
limits.preload(__name__)


class RuleError(FlowError):
    """A rule (or a pipeline action) failed at run time: a bad expression, a refused action, a cascade too deep.

    `rule` is the rule's name; `label` says where it happened when that is not a rule ("pipeline x / stage y")."""

    def __init__(self, rule: str, message: str, expression: str | None = None, *, label: str | None = None) -> None:
        self.rule = rule
        self.expression = expression
        self.message = message
        where = label or Message("runtime.where_rule", rule=rule)
        super().__init__(Message("runtime.rule_failed_in", where=where, expression=repr(expression), detail=message)
                         if expression is not None else Message("runtime.rule_failed", where=where, detail=message))


class Amount(Decimal):
    """A decimal that also mixes with floats (`budget * 1.2`): money sums stay exact, yet read like numbers."""

    __slots__ = ()


def _as_decimal(value: Any) -> Any:
    return Decimal(repr(value)) if isinstance(value, float) else value


def _arithmetic(name: str) -> Callable[..., Any]:
    def operate(self: Amount, *other: Any) -> Any:
        result = getattr(Decimal, name)(self, *(_as_decimal(x) for x in other))
        return Amount(result) if isinstance(result, Decimal) else result

    operate.__name__ = name
    return operate


for _name in ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__",
              "__rtruediv__", "__floordiv__", "__rfloordiv__", "__mod__", "__rmod__", "__pow__", "__neg__",
              "__pos__", "__abs__"):
    setattr(Amount, _name, _arithmetic(_name))


def _round(value: Any, digits: int | None = None) -> Any:
    result = round(value, digits)
    return Amount(result) if isinstance(result, Decimal) else result


def amount(value: Any) -> Amount | None:
    """A stored decimal/money value as an Amount (None when empty or not a number)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))
    except InvalidOperation:
        return None
    return Amount(number) if number.is_finite() else None


def field_names(entity: Entity, data: Mapping[str, Any]) -> dict[str, Any]:
    """The record's fields as expression names: every field present (None when empty), decimals as Amount."""
    names: dict[str, Any] = {}
    for name, field in entity.fields.items():
        value = data.get(name)
        names[name] = amount(value) if field.type in _NUMBER_TYPES else value
    return names


def _days_since(today: date) -> Callable[[Any], int | None]:
    def days_since(value: Any) -> int | None:
        if value in (None, ""):
            return None
        text = str(value)
        moment = datetime.fromisoformat(text).date() if len(text) > 10 else date.fromisoformat(text)
        return (today - moment).days

    return days_since


def _text_function(method: str) -> Callable[[Any], Any]:
    def apply(value: Any) -> Any:
        return getattr(value, method)() if isinstance(value, str) else value

    apply.__name__ = method
    return apply


def functions(today: date) -> dict[str, Callable[..., Any]]:
    """The functions an expression may call."""
    return {"len": len, "min": min, "max": max, "abs": abs, "round": _round, "lower": _text_function("lower"),
            "upper": _text_function("upper"), "days_since": _days_since(today)}


@lru_cache(maxsize=1024)
def _parsed(expression: str) -> Any:
    """simpleeval's tree of an expression: a rule's condition is parsed once, not once per record (a refused
    one raises every time: exceptions are not cached)."""
    return EvalWithCompoundTypes.parse(expression)


_LOCAL = threading.local()  # one interpreter per thread and day: building one costs more than most evaluations


def _interpreter(today: date) -> Any:
    found: tuple[date, Any] | None = getattr(_LOCAL, "interpreter", None)
    if found is None or found[0] != today:
        found = _LOCAL.interpreter = (today, EvalWithCompoundTypes(names={}, functions=functions(today)))
    return found[1]


def evaluate_here(expression: str, names: Mapping[str, Any], today: date) -> Any:
    """The value of `expression` over `names`, in this process; raises what simpleeval or the expression raises."""
    interpreter = _interpreter(today)
    interpreter.names = {**names, "today": today.isoformat()}
    try:
        return interpreter.eval(expression, previously_parsed=_parsed(expression))
    finally:
        interpreter.names = {}  # the record's values are not kept alive by the thread


def evaluate(expression: str, names: Mapping[str, Any], *, rule: str, today: date) -> Any:
    """The value of `expression` over `names`; RuleError naming the rule and the expression on any failure,
    a breached CPU, memory or time limit included."""
    try:
        if limits.is_bounded(expression):
            return evaluate_here(expression, names, today)
        return limits.run(evaluate_here, expression, dict(names), today)
    except RuleError:
        raise
    except SandboxError as exc:  # the worker's report: a breached limit, or the expression's error as text
        raise RuleError(rule, str(exc), expression) from exc
    except Exception as exc:  # simpleeval's refusals, and whatever the expression's own operations raise
        raise RuleError(rule, f"{type(exc).__name__}: {exc}", expression) from exc


def constant_problem(expression: str, *, rule: str, today: date) -> str | None:
    """Why a condition that reads no field cannot be evaluated (it breaches a limit or fails), evaluated now under
    the same limits as at run time; None when it reads fields (only a record can tell) or evaluates fine."""
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None  # reported by the loader's syntax check
    known = {*functions(today), "today"}
    if any(isinstance(node, ast.Name) and node.id not in known for node in ast.walk(tree)):
        return None
    try:
        evaluate(expression, {}, rule=rule, today=today)
    except RuleError as exc:
        return exc.message
    return None


def is_true(expression: str | None, names: Mapping[str, Any], *, rule: str, today: date) -> bool:
    """A condition's truth; no condition counts as true."""
    if expression is None or not expression.strip():
        return True
    return bool(evaluate(expression, names, rule=rule, today=today))


def to_json(value: Any, field_type: str) -> Any:
    """An expression result in the stored JSON form of a field of `field_type` (Decimals never reach JSON)."""
    if isinstance(value, Decimal):
        if field_type == "integer" and value == value.to_integral_value():
            return int(value)
        if field_type in _NUMBER_TYPES:
            return format(value, "f")
        return float(value) if field_type == "integer" else format(value, "f")
    if isinstance(value, float) and field_type in _NUMBER_TYPES:
        return format(Decimal(repr(value)), "f")
    if isinstance(value, float) and field_type == "integer" and value.is_integer():
        return int(value)
    if isinstance(value, tuple):
        return list(value)
    return value
