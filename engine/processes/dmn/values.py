"""FEEL values in Python: comparison across the types task data holds, typeRef conversions, temporal literals."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from engine.errors import FlowError
from engine.messages import Message

TYPE_REFS = (
    "string",
    "integer",
    "long",
    "double",
    "number",
    "boolean",
    "date",
    "dateTime",
    "date and time",
    "time",
    "duration",
)
_DURATION = re.compile(r"^(-)?P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")
_LONG = 2**63
_SAME_KIND = frozenset({str, int, float, bool, Decimal, date, datetime, time, timedelta})


class DecisionFailure(FlowError):
    """A decision could not be evaluated over the data it was given; the message names what and where."""


def shown(value: Any) -> str:
    """A value as a message shows it, with its kind: '1500' (text), 1000 (number)."""
    if value is None:
        return "null"
    return f"{value!r} ({_kind(value)})"


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float | Decimal):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, datetime):
        return "date and time"
    return {date: "date", time: "time", timedelta: "duration"}.get(type(value), type(value).__name__)


def parse_duration(text: str) -> timedelta:
    """A day-time ISO 8601 duration (`P2D`, `PT4H30M`); years and months have no fixed length and are refused."""
    match = _DURATION.match(text.strip())
    if match is None or text.strip() in ("P", "-P") or text.strip().endswith("T"):
        raise ValueError(f"{text!r} is not a day-time duration such as P2D or PT4H (years and months are refused)")
    sign, days, hours, minutes, seconds = match.groups()
    value = timedelta(
        days=int(days or 0), hours=int(hours or 0), minutes=int(minutes or 0), seconds=float(seconds or 0)
    )
    return -value if sign else value


def parse_temporal(kind: type, text: str) -> Any:
    """`date("2026-01-01")`, `time("10:00:00")`, `date and time("2026-01-01T10:00:00")` from ISO text."""
    if kind is date:
        return date.fromisoformat(text)
    if kind is time:
        return time.fromisoformat(text)
    if "T" not in text:
        raise ValueError(f"{text!r} is not a date and time such as 2026-01-01T10:00:00")
    return datetime.fromisoformat(text)


def _comparable(given: Any, other: Any) -> tuple[Any, Any] | None:
    """The two values in one comparable kind, or None when FEEL cannot compare them."""
    kind = type(given)
    if (
        kind is type(other)
        and kind in _SAME_KIND
        and (kind is not datetime or (given.tzinfo is None) == (other.tzinfo is None))
    ):
        return given, other  # the common case: text against text, a number against a number of its type
    if isinstance(given, bool) or isinstance(other, bool):
        return (given, other) if isinstance(given, bool) and isinstance(other, bool) else None
    if isinstance(given, int | float) and isinstance(other, int | float):
        return given, other  # Python compares ints and floats exactly
    if isinstance(given, int | float | Decimal) and isinstance(other, int | float | Decimal):
        return (Decimal(str(given)), Decimal(str(other)))
    if isinstance(other, date | time | timedelta) and isinstance(given, str):
        try:
            given = (
                parse_duration(given)
                if isinstance(other, timedelta)
                else parse_temporal(datetime if isinstance(other, datetime) or "T" in given else type(other), given)
            )
        except ValueError:
            return None
    if (
        isinstance(given, datetime) != isinstance(other, datetime)
        and isinstance(given, date)
        and isinstance(other, date)
    ):  # a date against a date and time: the date at midnight
        given, other = (v if isinstance(v, datetime) else datetime.combine(v, time()) for v in (given, other))
    if isinstance(given, datetime) and isinstance(other, datetime) and (given.tzinfo is None) != (other.tzinfo is None):
        return None
    for kind in (str, datetime, date, time, timedelta):
        if isinstance(given, kind) and isinstance(other, kind):
            return given, other
    return None


def equal(given: Any, other: Any) -> bool:
    """FEEL `=`: null equals only null; values of different kinds are never equal."""
    if given is None or other is None:
        return given is None and other is None
    pair = _comparable(given, other)
    return pair is not None and bool(pair[0] == pair[1])


def compare(given: Any, other: Any) -> int:
    """-1, 0 or 1; values FEEL cannot order (text against a number) fail with both values named."""
    pair = _comparable(given, other)
    if pair is None or isinstance(pair[0], bool):
        raise DecisionFailure(Message("runtime.cannot_compare", given=shown(given), other=shown(other)))
    left, right = pair
    return int(left > right) - int(left < right)


def convert(type_ref: str | None, value: Any) -> Any:
    """Camunda's typeRef conversion of an input or output value; null stays null."""
    if value is None or not type_ref:
        return value
    try:
        return _CONVERTERS[type_ref](value)
    except (ValueError, TypeError, InvalidOperation, OverflowError) as exc:
        raise DecisionFailure(Message("runtime.not_valid", value=shown(value), type=type_ref)) from exc


def _integer(value: Any) -> int:
    if isinstance(value, bool):
        raise TypeError(value)
    number = Decimal(str(value).strip()) if isinstance(value, str) else Decimal(str(value))
    if number != number.to_integral_value():
        raise ValueError(value)
    return int(number)


def _long(value: Any) -> int:
    number = _integer(value)
    if not -_LONG <= number < _LONG:
        raise OverflowError(value)
    return number


def _double(value: Any) -> float:
    if isinstance(value, bool):
        raise TypeError(value)
    return float(value.strip() if isinstance(value, str) else value)


def _number(value: Any) -> int | float:
    result = _double(value)
    return int(result) if result.is_integer() and not (isinstance(value, float) or "." in str(value)) else result


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise TypeError(value)


def _string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value.isoformat() if isinstance(value, date | time) else str(value)


def _date(value: Any) -> date | datetime:
    if isinstance(value, date):
        return value
    text = str(value).strip()
    return datetime.fromisoformat(text) if "T" in text else date.fromisoformat(text)


def _date_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime.combine(value, time())
    return datetime.fromisoformat(str(value).strip())


def _time(value: Any) -> time:
    return value if isinstance(value, time) else time.fromisoformat(str(value).strip())


def _duration(value: Any) -> timedelta:
    return value if isinstance(value, timedelta) else parse_duration(str(value))


_CONVERTERS = {
    "string": _string,
    "integer": _long,
    "long": _long,
    "double": _double,
    "number": _number,
    "boolean": _boolean,
    "date": _date,
    "dateTime": _date_time,
    "date and time": _date_time,
    "time": _time,
    "duration": _duration,
}


def stored(value: Any) -> Any:
    """A decision output as task data keeps it: dates and durations as ISO text (as record fields hold them)."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return _iso_duration(value)
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _iso_duration(value: timedelta) -> str:
    sign, value = ("-", -value) if value < timedelta(0) else ("", value)
    hours, rest = divmod(value.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    clock = "".join(f"{n}{unit}" for n, unit in ((hours, "H"), (minutes, "M"), (seconds, "S")) if n)
    day = f"{value.days}D" if value.days or not clock else ""
    return f"{sign}P{day}" + (f"T{clock}" if clock else "")
