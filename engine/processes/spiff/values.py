"""Timer values, ISO durations and standalone DMN decisions."""

from __future__ import annotations

from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser

from engine.errors import FlowError

__all__ = ["evaluate_decision", "parse_duration", "timer_value_problem"]
from engine.processes.spiff.engine import _VALIDATOR_LOCK, SCRIPT_ENGINE, timer_value_problem


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


_DECISIONS: OrderedDict[tuple[int, str], Any] = OrderedDict()


def evaluate_decision(dmn_text: str, decision_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """Run one DMN decision table of a `.dmn` file over `data` (cells in the sandbox); {} when no rule matches.

    Decision specs are stored in a process blob only when a businessRuleTask refers to them, so callers pass the
    DMN text of the deployed configuration; its parsed table is cached by content."""
    from types import SimpleNamespace

    from lxml import etree

    key = (hash(dmn_text), decision_id)
    with _VALIDATOR_LOCK:
        engine = _DECISIONS.get(key)
    if engine is None:
        try:
            parser = CamundaParser()
            parser.add_dmn_xml(etree.fromstring(dmn_text.encode()), filename=decision_id)
            engine = parser.get_engine(decision_id, None)
        except Exception as exc:  # a broken or missing table is a configuration mistake of this decision
            raise FlowError(f"decision {decision_id!r} cannot be read: {exc}") from exc
        with _VALIDATOR_LOCK:
            _DECISIONS[key] = engine
            if len(_DECISIONS) > 64:
                _DECISIONS.popitem(last=False)
    task = SimpleNamespace(data=dict(data), workflow=SimpleNamespace(script_engine=SCRIPT_ENGINE))
    try:
        return dict(engine.result(task))
    except Exception as exc:  # SpiffWorkflow wraps sandbox refusals and bad cells in its own exceptions
        raise FlowError(f"decision {decision_id!r} failed: {exc}") from exc
