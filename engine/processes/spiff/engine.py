"""SpiffWorkflow set-up: serializer, sandboxed script engine, Camunda parser, XML validator."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any, ClassVar

from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from SpiffWorkflow.bpmn.parser.event_parsers import ReceiveTaskParser
from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import TaskDataEnvironment
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.defaults import ReceiveTask
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.camunda.parser.event_parsers import CamundaEventDefinitionParser
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG

from engine.errors import FlowError
from engine.processes import sandbox
from engine.processes.calendar import working_hours

_REGISTRY = BpmnWorkflowSerializer.configure(CAMUNDA_CONFIG)
_SERIALIZER = BpmnWorkflowSerializer(_REGISTRY)
SERIALIZER_VERSION: str = _SERIALIZER.VERSION
_VALIDATOR: BpmnValidator | None = None
_VALIDATOR_LOCK = threading.Lock()


EXPRESSION_GLOBALS: dict[str, Any] = {"working_hours": working_hours}  # timer and condition expressions


class SandboxEnvironment(TaskDataEnvironment):  # type: ignore[misc]
    """Routes every script, condition, timer expression and DMN cell through the restricted sandbox."""

    def evaluate(self, expression: str, context: dict[str, Any], external_context: Any = None) -> Any:
        names = dict(context)
        names.update(external_context or {})
        names.update(EXPRESSION_GLOBALS)  # last: a task-data key cannot shadow a helper
        return sandbox.evaluate(expression, names)

    def execute(self, script: str, context: dict[str, Any], external_context: Any = None) -> bool:
        names = dict(context)
        names.update(external_context or {})
        before = set(names)
        sandbox.execute(script, names)
        for key in before - set(names):
            context.pop(key, None)
        context.update({k: v for k, v in names.items() if k not in (external_context or {})})
        return True


_TIMER_KINDS = {TimeDateEventDefinition: "timeDate", DurationTimerEventDefinition: "timeDuration",
                CycleTimerEventDefinition: "timeCycle"}


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


class _ScriptEngine(PythonScriptEngine):  # type: ignore[misc]
    """The script engine; a timer expression's value is checked before SpiffWorkflow parses it (it would fail with
    an AttributeError on an int, or read a datetime without offset in the server's local time)."""

    def evaluate(self, task: Any, expression: str, external_context: Any = None) -> Any:
        value = super().evaluate(task, expression, external_context)
        definition = getattr(getattr(task, "task_spec", None), "event_definition", None)  # DMN passes no task
        kind = _TIMER_KINDS.get(type(definition))
        if kind is not None and expression == getattr(definition, "expression", None):
            problem = timer_value_problem(kind, value)
            if problem:
                element = getattr(task.task_spec, "bpmn_id", None) or task.task_spec.name
                raise FlowError(f"timer {element}: the value of bpmn:{kind} {expression!r} {problem}")
        return value


SCRIPT_ENGINE = _ScriptEngine(environment=SandboxEnvironment())


class _CamundaReceiveTaskParser(CamundaEventDefinitionParser, ReceiveTaskParser):  # type: ignore[misc]
    """A receive task with Camunda's message definition, the one the Camunda serializer can store."""


class _Parser(CamundaParser):  # type: ignore[misc]
    """The Camunda parser, with receive tasks parsed like its message catch events."""

    OVERRIDE_PARSER_CLASSES: ClassVar[dict[str, Any]] = {**CamundaParser.OVERRIDE_PARSER_CLASSES,
                                                         full_tag("receiveTask"): (_CamundaReceiveTaskParser,
                                                                                   ReceiveTask)}


def _validator() -> BpmnValidator:
    global _VALIDATOR
    with _VALIDATOR_LOCK:
        if _VALIDATOR is None:
            _VALIDATOR = BpmnValidator()
        return _VALIDATOR
