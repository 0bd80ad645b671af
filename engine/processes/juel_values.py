"""The JUEL operators whose meaning differs from Python's, as the EL specification coerces their operands.

Compiled JUEL (engine.processes.juel) calls these by name; they are added to the names every sandboxed
expression sees. `==` coerces (`${count == '3'}` is true), `+` is numeric only, `/` always divides as floats,
`empty` is true for null, "" and empty collections, and a condition must give a boolean.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any


class JuelValueError(ValueError):
    """An operand JUEL cannot coerce (`${'abc' + 1}`), or a condition that gives no boolean."""


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _floaty(value: Any) -> bool:
    return isinstance(value, float) or (isinstance(value, str) and any(c in value for c in ".eE"))


def juel_num(value: Any) -> int | float:
    """Coerce to a number: null and "" are 0, text is parsed, booleans are refused."""
    if value is None or value == "":
        return 0
    if _is_number(value):
        return value  # type: ignore[no-any-return]
    if isinstance(value, str):
        try:
            return float(value) if _floaty(value) else int(value)
        except ValueError:
            pass
    raise JuelValueError(f"cannot coerce {value!r} to a number")


def juel_bool(value: Any) -> bool:
    """Coerce to a boolean: null and "" are false, text is true only when it is "true" in any case."""
    if value is None or value == "":
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.lower() == "true"
    raise JuelValueError(f"cannot coerce {value!r} to a boolean")


def juel_text(value: Any) -> str:
    """Coerce to text: null is "", booleans are true/false."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def juel_eq(a: Any, b: Any) -> bool:
    """JUEL `==`: numbers if either side is a number, booleans if either is a boolean, else text."""
    if a is b or (a is None and b is None):
        return True
    if a is None or b is None:
        return False
    if isinstance(a, bool) or isinstance(b, bool):
        return juel_bool(a) == juel_bool(b)
    if _is_number(a) or _is_number(b):
        return juel_num(a) == juel_num(b)
    if isinstance(a, str) or isinstance(b, str):
        return juel_text(a) == juel_text(b)
    return bool(a == b)


def _compare(a: Any, b: Any, test: Callable[[Any, Any], bool], equal: bool) -> bool:
    if a is None or b is None:
        return equal and a is b
    if _is_number(a) or _is_number(b):
        return test(juel_num(a), juel_num(b))
    if isinstance(a, str) or isinstance(b, str):
        return test(juel_text(a), juel_text(b))
    try:
        return test(a, b)
    except TypeError:
        raise JuelValueError(f"cannot compare {a!r} with {b!r}") from None


def juel_lt(a: Any, b: Any) -> bool:
    """JUEL `<`: false when either side is null."""
    return _compare(a, b, lambda x, y: x < y, False)


def juel_gt(a: Any, b: Any) -> bool:
    """JUEL `>`: false when either side is null."""
    return _compare(a, b, lambda x, y: x > y, False)


def juel_le(a: Any, b: Any) -> bool:
    """JUEL `<=`: true when both sides are null."""
    return _compare(a, b, lambda x, y: x <= y, True)


def juel_ge(a: Any, b: Any) -> bool:
    """JUEL `>=`: true when both sides are null."""
    return _compare(a, b, lambda x, y: x >= y, True)


def _numbers(a: Any, b: Any) -> tuple[int | float, int | float, bool]:
    """Both operands as numbers, and whether the operation is on floats (Java Double) rather than Long."""
    return juel_num(a), juel_num(b), _floaty(a) or _floaty(b)


def juel_add(a: Any, b: Any) -> int | float:
    """JUEL `+`: arithmetic only (text that is not a number is an error, not concatenation)."""
    x, y, floats = _numbers(a, b)
    return float(x) + float(y) if floats else x + y


def juel_sub(a: Any, b: Any) -> int | float:
    """JUEL binary `-`."""
    x, y, floats = _numbers(a, b)
    return float(x) - float(y) if floats else x - y


def juel_mul(a: Any, b: Any) -> int | float:
    """JUEL `*`."""
    x, y, floats = _numbers(a, b)
    return float(x) * float(y) if floats else x * y


def juel_div(a: Any, b: Any) -> float:
    """JUEL `/` and `div`: always a floating-point division (1/0 is Infinity, as for a Java double)."""
    x, y = float(juel_num(a)), float(juel_num(b))
    if y == 0:
        return math.nan if x == 0 else math.copysign(math.inf, x)
    return x / y


def juel_mod(a: Any, b: Any) -> int | float:
    """JUEL `%` and `mod`: the remainder takes the sign of the dividend, as in Java."""
    x, y, floats = _numbers(a, b)
    if floats:
        return math.fmod(float(x), float(y)) if y else math.nan
    if y == 0:
        raise JuelValueError("division by zero in %")
    return int(math.copysign(abs(int(x)) % abs(int(y)), x))


def juel_neg(a: Any) -> int | float:
    """JUEL unary `-`."""
    value = juel_num(a)
    return -float(value) if _floaty(a) else -value


def juel_empty(value: Any) -> bool:
    """JUEL `empty`: true for null, "" and empty lists or maps."""
    if value is None:
        return True
    if isinstance(value, str | list | tuple | dict | set):
        return len(value) == 0
    return False


def juel_prop(value: Any, name: Any) -> Any:
    """JUEL `a.b` and `a[b]`: a map entry (null when missing), a list item (null out of range); null stays null."""
    if value is None or name is None:
        return None
    if isinstance(value, dict):
        return value.get(name)
    if isinstance(value, list | tuple):
        index = juel_num(name)
        return value[int(index)] if 0 <= index < len(value) else None
    raise JuelValueError(f"cannot read property {name!r} of {type(value).__name__} {value!r}")


def juel_condition(value: Any) -> bool:
    """A sequence-flow condition's result: Camunda refuses null and anything that is not a boolean."""
    if isinstance(value, bool):
        return value
    kind = "null" if value is None else type(value).__name__
    raise JuelValueError(f"condition expression returns non-Boolean: {kind} {value!r}")


HELPERS: dict[str, Any] = {
    f.__name__: f
    for f in (
        juel_num,
        juel_bool,
        juel_text,
        juel_eq,
        juel_lt,
        juel_gt,
        juel_le,
        juel_ge,
        juel_add,
        juel_sub,
        juel_mul,
        juel_div,
        juel_mod,
        juel_neg,
        juel_empty,
        juel_prop,
        juel_condition,
    )
}
