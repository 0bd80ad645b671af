"""Operators per value type and the coercion of filter values into the form the compiler binds."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from engine.config.model import Catalog
from engine.store.filter_spec import NUMERIC_TYPES, TEXT_TYPES

TIME_TYPES = ("date", "datetime", "timestamp")  # timestamp: the created_at / updated_at columns
ORDERED_TYPES = (*NUMERIC_TYPES, *TIME_TYPES)
CHOICE_TYPES = ("enum", "multi_enum")

EQUALITY_OPS = ("eq", "ne", "in", "not_in")
EMPTINESS_OPS = ("is_empty", "is_not_empty")
RANGE_OPS = ("gt", "gte", "lt", "lte", "between")
RELATIVE_OPS = ("within_last_days", "older_than_days")
TEXT_OPS = ("contains", "starts_with")
SET_OPS = ("has_any", "has_all")
LIST_OPS = ("in", "not_in", "has_any", "has_all")
MAX_DAYS = 36600
MAX_TEXT = 1000
_USERNAME = re.compile(r"[a-z0-9_.-]{1,80}")
_DECIMAL = re.compile(r"-?\d{1,30}(\.\d{1,30})?")


class BadValue(ValueError):
    """A filter value that does not fit its field; the message is shown to the user."""


def ops_for(kind: str) -> tuple[str, ...]:
    """The operators a value type accepts (kind: a field type, or timestamp / owner for system fields)."""
    ops = [*EQUALITY_OPS, *EMPTINESS_OPS]
    if kind in ORDERED_TYPES:
        ops.extend(RANGE_OPS)
    if kind in TIME_TYPES:
        ops.extend(RELATIVE_OPS)
    if kind in TEXT_TYPES:
        ops.extend(TEXT_OPS)
    if kind == "multi_enum":
        ops.extend(SET_OPS)
    return tuple(ops)


def _integer(value: Any) -> int:
    if isinstance(value, bool):
        raise BadValue("must be a whole number")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,18}", value.strip()):
        return int(value)
    raise BadValue("must be a whole number")


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise BadValue("must be a number like 1200.50")
    text = str(value).strip()
    if not _DECIMAL.fullmatch(text):
        raise BadValue("must be a number like 1200.50")
    try:
        return Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only valid decimals
        raise BadValue("must be a number like 1200.50") from exc


def _date(value: Any) -> str:
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    raise BadValue("must be a date YYYY-MM-DD")


def _datetime(value: Any) -> datetime:
    """An aware UTC datetime; a bare date means its midnight in UTC, a time without offset is UTC."""
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?"
                                               r"(Z|[+-]\d{2}:\d{2})?)?", value):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    raise BadValue("must be a date and time like 2024-05-01T10:00:00+03:00 (or a date 2024-05-01)")


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise BadValue("must be non-empty text")
    if len(value) > MAX_TEXT:
        raise BadValue(f"must be at most {MAX_TEXT} characters")
    return value


def _code(value: Any, catalog: Catalog | None) -> str:
    if not isinstance(value, str):
        raise BadValue("must be a catalog code (text)")
    if catalog is not None and catalog.value(value) is None:
        shown = ", ".join(catalog.codes()[:30])
        raise BadValue(f"{value!r} is not a code of catalog {catalog.name}: {shown}")
    return value


def _username(value: Any) -> str:
    if not isinstance(value, str) or not _USERNAME.fullmatch(value):
        raise BadValue("must be a username like j.smith")
    return value


def coerce_value(kind: str, value: Any, catalog: Catalog | None = None) -> Any:
    """One filter value as the compiler binds it: Decimal for numbers, ISO text for dates, aware datetimes."""
    if value is None:
        raise BadValue("is required")
    match kind:
        case "integer" | "reference":
            number = _integer(value)
            if kind == "reference" and number < 1:
                raise BadValue("must be a record id (a positive whole number)")
            return number
        case "decimal" | "money":
            return _decimal(value)
        case "date":
            return _date(value)
        case "datetime" | "timestamp":
            return _datetime(value)
        case "boolean":
            if not isinstance(value, bool):
                raise BadValue("must be true or false")
            return value
        case "enum" | "multi_enum":
            return _code(value, catalog)
        case "user" | "owner":
            return _username(value)
        case _:
            return _text(value)


def coerce_operand(kind: str, op: str, value: Any, catalog: Catalog | None, max_values: int) -> Any:
    """The operand of `op` coerced for `kind`: None for emptiness, a tuple for lists and between, an int of days."""
    if op in EMPTINESS_OPS:
        if value is not None:
            raise BadValue(f"{op} takes no value")
        return None
    if op in RELATIVE_OPS:
        days = _integer(value) if value is not None else None
        if days is None or not 0 <= days <= MAX_DAYS:
            raise BadValue(f"must be a number of days from 0 to {MAX_DAYS}")
        return days
    if op == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise BadValue("must be a list of two values [from, to]")
        low, high = coerce_value(kind, value[0], catalog), coerce_value(kind, value[1], catalog)
        if low > high:
            raise BadValue("the first value must not be greater than the second")
        return (low, high)
    if op in LIST_OPS:
        if not isinstance(value, list) or not value:
            raise BadValue("must be a non-empty list of values")
        if len(value) > max_values:
            raise BadValue(f"must have at most {max_values} values")
        return tuple(dict.fromkeys(coerce_value(kind, item, catalog) for item in value))
    if op in TEXT_OPS:
        return _text(value)
    scalar_kind = "enum" if kind == "multi_enum" else kind
    return coerce_value(scalar_kind, value, catalog)


def with_descendants(catalog: Catalog, codes: tuple[str, ...]) -> tuple[str, ...]:
    """The codes plus every code below them in a hierarchical catalog, in catalog order."""
    wanted = set(codes)
    return tuple(v.code for v in catalog.values
                 if v.code in wanted or any(a.code in wanted for a in catalog.ancestors(v.code)))
