"""Timer values and ISO durations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition


def timer_value_problem(kind: str, value: Any) -> str | None:
    """Why SpiffWorkflow could not schedule a timer (timeDuration, timeDate, timeCycle) with this value."""
    if not isinstance(value, str):
        return f"must be ISO 8601 text, not {type(value).__name__} {value!r}"
    try:
        if kind == "timeDuration":
            if not value.startswith("P") or not TimerEventDefinition.parse_iso_duration(value):
                raise ValueError(value)
        elif kind == "timeDate":
            if datetime.fromisoformat(value).tzinfo is None:
                return f"{value!r} has no UTC offset: it would be read in the server's local time"
        elif kind == "timeCycle":
            TimerEventDefinition.parse_iso_recurring_interval(value)
    except Exception:  # SpiffWorkflow's parsers raise bare Exception, ValueError, AttributeError...
        what = {"timeDuration": "duration (PT4H)", "timeDate": "datetime with offset", "timeCycle": "cycle (R3/PT1H)"}
        return f"{value!r} is not an ISO 8601 {what.get(kind, 'time')}"
    return None


def parse_duration(text: str, start: datetime) -> datetime:
    """Resolve an ISO 8601 duration (`PT4H`) from `start`, or an ISO datetime with offset, to a UTC datetime."""
    text = text.strip()
    try:
        if text.startswith("P"):
            parsed = TimerEventDefinition.parse_iso_duration(text)
            due: datetime = start + TimerEventDefinition.get_timedelta_from_start(parsed, start)
            return due
        moment = datetime.fromisoformat(text)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{text!r} is neither an ISO 8601 duration nor a datetime") from exc
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset")
    return moment.astimezone(UTC)
