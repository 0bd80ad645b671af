"""Timer values and ISO durations."""

from __future__ import annotations

from datetime import UTC, datetime

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from engine.processes.spiff.engine import timer_value_problem

__all__ = ["parse_duration", "timer_value_problem"]


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
