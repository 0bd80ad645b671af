"""Timer values and ISO durations."""

from __future__ import annotations

from datetime import UTC, datetime

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from engine.messages import Message
from engine.processes.spiff.engine import timer_value_problem

__all__ = ["parse_duration", "timer_value_problem"]


def parse_duration(text: str, start: datetime) -> datetime:
    """Resolve an ISO 8601 duration (`PT4H`) from `start`, or an ISO datetime with offset, to a UTC datetime;
    ValueError holding why (a Message) when it is neither."""
    text = text.strip()
    try:
        if text.startswith("P"):
            parsed = TimerEventDefinition.parse_iso_duration(text)
            due: datetime = start + TimerEventDefinition.get_timedelta_from_start(parsed, start)
            return due
        moment = datetime.fromisoformat(text)
    except (ValueError, TypeError) as exc:
        raise ValueError(Message("timer.not_duration_nor_datetime", value=text)) from exc
    if moment.tzinfo is None:
        raise ValueError(Message("timer.no_offset", value=text))
    return moment.astimezone(UTC)
