"""Quartz cron cycles as SpiffWorkflow timers: the next fire is computed from the cron after every fire, so a cron
that fires at irregular intervals (`0 0 9 ? * MON-FRI`, `0 30 8 1 * ?`) runs as Camunda runs it."""

from __future__ import annotations

import ast
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.serializer.default.event_definition import TimerConditionalEventDefinitionConverter
from SpiffWorkflow.bpmn.specs.defaults import BoundaryEvent, IntermediateCatchEvent, StartEvent
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition
from SpiffWorkflow.camunda.parser.event_parsers import (
    CamundaBoundaryEventParser,
    CamundaIntermediateCatchEventParser,
    CamundaStartEventParser,
)

from engine.processes.camunda_timers import next_cron_fire

_CALL = "cron_cycle("  # what engine.processes.camunda_timers.timer_expression writes for a cron timeCycle


class CronCycleTimerEventDefinition(CycleTimerEventDefinition):  # type: ignore[misc]
    """An endless timer cycle whose next due time is the cron's next fire, on the wall clock of the bundle's time
    zone at deploy (`cron_cycle('0 0 9 ? * MON-FRI', 'Europe/Moscow')`)."""

    def __init__(self, name: str, expression: str, **kwargs: Any) -> None:
        super().__init__(name, expression, **kwargs)
        self.cron, self.zone = cron_arguments(expression) or ("", "UTC")

    def cycle_complete(self, my_task: Any) -> bool:
        value = my_task._get_internal_data("event_value")
        now: datetime = my_task.workflow.script_engine.business_time.clock()  # the step's clock (script_engine)
        if value is None:
            value = {"cycles": -1, "next": next_cron_fire(self.cron, now, self.zone).isoformat()}
        due = datetime.fromisoformat(value["next"])
        ready = due < now
        if ready:
            value["next"] = next_cron_fire(self.cron, due, self.zone).isoformat()
        my_task._set_internal_data(event_value=value)
        return ready


def cron_arguments(expression: str | None) -> tuple[str, str] | None:
    """The cron text and zone of a timeCycle the dialect wrote as `cron_cycle('<cron>', '<zone>')`; None for any
    other timer expression."""
    if not expression or not expression.startswith(_CALL):
        return None
    try:
        found = ast.literal_eval(expression[len(_CALL) - 1 :])
    except (ValueError, SyntaxError):
        return None
    if isinstance(found, tuple) and len(found) == 2 and all(isinstance(part, str) for part in found):
        return found[0], found[1]
    return None


class _CronTimers:
    """Event parsers that turn a cron timeCycle into a CronCycleTimerEventDefinition."""

    def parse_timer_event(self, event: Any) -> Any:
        definition = super().parse_timer_event(event)  # type: ignore[misc]
        if isinstance(definition, CycleTimerEventDefinition) and cron_arguments(definition.expression):
            return CronCycleTimerEventDefinition(
                definition.name, definition.expression, description=definition.description
            )
        return definition


class _StartEventParser(_CronTimers, CamundaStartEventParser):  # type: ignore[misc]
    pass


class _IntermediateCatchEventParser(_CronTimers, CamundaIntermediateCatchEventParser):  # type: ignore[misc]
    pass


class _BoundaryEventParser(_CronTimers, CamundaBoundaryEventParser):  # type: ignore[misc]
    pass


CRON_PARSER_CLASSES: dict[str, Any] = {
    full_tag("startEvent"): (_StartEventParser, StartEvent),
    full_tag("intermediateCatchEvent"): (_IntermediateCatchEventParser, IntermediateCatchEvent),
    full_tag("boundaryEvent"): (_BoundaryEventParser, BoundaryEvent),
}


def register_cron_converter(registry: Any) -> None:
    """Let the serializer store workflows whose specs hold cron timers."""
    TimerConditionalEventDefinitionConverter(CronCycleTimerEventDefinition, registry)
