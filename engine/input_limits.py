"""What a value may be to be stored alike on SQLite and PostgreSQL: text without NUL or lone surrogates,
integers in 64 bits, ids in 32 bits, decimals of bounded precision, JSON of bounded depth."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

MAX_ID = 2**31 - 1  # id columns are INTEGER: 32 bits on PostgreSQL
MIN_INT, MAX_INT = -(2**63), 2**63 - 1  # SQLite INTEGER and PostgreSQL bigint
MAX_DECIMAL_DIGITS = 38  # significant digits of a decimal field, as NUMERIC(38) would hold
MAX_JSON_DEPTH = 64  # nesting of objects and arrays in a request body, a form file or a task's data
MAX_YAML_CHARS = 1_000_000  # one configuration YAML file (the largest shipped one is under 3 KB)
MAX_YAML_DEPTH = 64  # nesting of mappings and sequences in one YAML file
MAX_YAML_NODES = 200_000  # nodes of one YAML file once every alias is expanded (a "billion laughs" stops here)
_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")


def text_problem(text: str) -> str | None:
    """Why `text` cannot be stored (PostgreSQL refuses NUL; UTF-8 cannot encode a lone surrogate), or None."""
    found = _BAD_TEXT.search(text)
    if found is None:
        return None
    what = "a NUL character" if found.group() == "\x00" else f"a lone surrogate U+{ord(found.group()):04X}"
    return f"contains {what} at position {found.start() + 1}"


def integer_problem(value: int, minimum: int = MIN_INT, maximum: int = MAX_INT) -> str | None:
    """Why an integer is out of the range both databases store, or None."""
    if minimum <= value <= maximum:
        return None
    return f"must be between {minimum} and {maximum}"


def decimal_problem(value: Decimal) -> str | None:
    """Why a decimal has more significant digits than the stores keep exactly, or None."""
    if not value.is_finite():
        return "must be a finite number"
    digits = len(value.as_tuple().digits)
    exponent = int(value.as_tuple().exponent)
    if max(digits, digits + exponent) > MAX_DECIMAL_DIGITS:
        return f"must have at most {MAX_DECIMAL_DIGITS} digits"
    return None


def json_depth(text: str, limit: int = MAX_JSON_DEPTH) -> int:
    """Nesting depth of a JSON text, counted without parsing it (json.loads recurses: 100,000 levels crash it);
    stops counting once past `limit`."""
    depth = deepest = 0
    for bracket in _BRACKETS.finditer(_STRINGS.sub('""', text)):
        depth += 1 if bracket.group() in "[{" else -1
        deepest = max(deepest, depth)
        if deepest > limit:
            break
    return deepest


def json_problems(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(path, message) of every key or value that cannot be stored: bad text, huge integers, NaN/infinity.

    Paths read like `changes.title` or `record_ids[3]`; "" is the whole value."""
    stack: list[tuple[str, Any, int]] = [(path, value, 0)]
    while stack:
        where, item, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            yield where, f"is nested deeper than {MAX_JSON_DEPTH} levels"
            continue
        if isinstance(item, str):
            problem = text_problem(item)
        elif isinstance(item, bool):
            problem = None
        elif isinstance(item, int):
            problem = integer_problem(item)
        elif isinstance(item, float):
            problem = None if math.isfinite(item) else "must be a finite number"
        elif isinstance(item, dict):
            problem = None
            for key, child in reversed(item.items()):
                key_problem = text_problem(str(key))
                if key_problem:
                    yield where or "", f"has a key that {key_problem}"
                    continue
                stack.append((f"{where}.{key}" if where else str(key), child, depth + 1))
        elif isinstance(item, list):
            problem = None
            stack.extend((f"{where}[{i}]", child, depth + 1) for i, child in reversed(list(enumerate(item))))
        else:
            problem = None
        if problem:
            yield where, problem
