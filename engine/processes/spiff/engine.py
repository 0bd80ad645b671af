"""SpiffWorkflow set-up: serializer, sandboxed script engine, Camunda parser, XML validator."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any, ClassVar

from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from SpiffWorkflow.bpmn.parser.event_parsers import ReceiveTaskParser
from SpiffWorkflow.bpmn.parser.TaskParser import TaskParser
from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import TaskDataEnvironment
from SpiffWorkflow.bpmn.serializer.default.task_spec import BpmnTaskSpecConverter
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.data_spec import TaskDataReference
from SpiffWorkflow.bpmn.specs.defaults import ReceiveTask, ServiceTask
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.camunda.parser.event_parsers import CamundaEventDefinitionParser
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
from SpiffWorkflow.camunda.specs.multiinstance_task import ParallelMultiInstanceTask, SequentialMultiInstanceTask
from SpiffWorkflow.dmn.parser.BpmnDmnParser import SCHEMAS as DMN_SCHEMAS

from engine.errors import FlowError
from engine.messages import Message
from engine.processes import sandbox
from engine.processes.calendar import BusinessTime
from engine.processes.camunda_timers import LegacyCronCycleFrom, TimerTextIn
from engine.processes.dialect import CAMUNDA_NS
from engine.processes.juel_values import HELPERS
from engine.processes.spiff.cron import CRON_PARSER_CLASSES, register_cron_converter
from engine.processes.spiff.decisions import DecisionTask, DecisionTaskConverter, DecisionTaskParser

_REGISTRY = BpmnWorkflowSerializer.configure(CAMUNDA_CONFIG)
DecisionTaskConverter(DecisionTask, _REGISTRY)
register_cron_converter(_REGISTRY)
_SERIALIZER = BpmnWorkflowSerializer(_REGISTRY)
# The registry is one object with a mode flag (`_encoder_mode`) a dump switches on and off: held while a thread
# switches it or relies on it being off, so concurrent steps and parses never see each other's mode.
_REGISTRY_MODE = threading.Lock()
SERIALIZER_VERSION: str = _SERIALIZER.VERSION
_VALIDATOR: BpmnValidator | None = None
_VALIDATOR_LOCK = threading.Lock()


# The juel_* operators of compiled JUEL: module-level, so they reach the sandbox workers by reference.
_FUNCTIONS: dict[str, Any] = dict(HELPERS)


def expression_helpers(time: BusinessTime) -> dict[str, Any]:
    """The functions timer and condition expressions may call, fixed to the clock's current moment and the
    calendar (a sandbox worker has neither); only working_hours is known bounded, so only it runs in this process."""
    now, zone = time.clock(), time.zone
    return {**_FUNCTIONS, "working_hours": time.working_hours_from_now(),
            "cron_cycle": LegacyCronCycleFrom(now, zone), "timer_text": TimerTextIn(zone)}


class SandboxEnvironment(TaskDataEnvironment):  # type: ignore[misc]
    """Routes every script, condition, timer expression and DMN cell through the restricted sandbox; timer
    helpers count in the calendar and clock it was made with."""

    def __init__(self, time: BusinessTime | None = None) -> None:
        super().__init__()
        self.time = time or BusinessTime()

    def evaluate(self, expression: str, context: dict[str, Any], external_context: Any = None) -> Any:
        names = dict(context)
        names.update(external_context or {})
        names.update(expression_helpers(self.time))  # last: a task-data key cannot shadow a helper
        return sandbox.evaluate(expression, names, helpers=frozenset({"working_hours"}))

    def execute(self, script: str, context: dict[str, Any], external_context: Any = None) -> bool:
        names = dict(context)
        names.update(external_context or {})
        names.update(_FUNCTIONS)  # compiled JUEL of input/output parameters calls the juel_* operators
        before = set(names)
        sandbox.execute(script, names)
        for key in before - set(names):
            context.pop(key, None)
        context.update({k: v for k, v in names.items()
                        if k not in (external_context or {}) and _FUNCTIONS.get(k) is not v})
        return True


_TIMER_KINDS = {TimeDateEventDefinition: "timeDate", DurationTimerEventDefinition: "timeDuration",
                CycleTimerEventDefinition: "timeCycle"}


def timer_value_problem(kind: str, value: Any) -> Message | None:
    """Why SpiffWorkflow could not schedule a timer (timeDuration, timeDate, timeCycle) with this value."""
    if not isinstance(value, str):
        return Message("timer.not_text", type=type(value).__name__, value=repr(value))
    try:
        if kind == "timeDuration":
            if not value.startswith("P") or not TimerEventDefinition.parse_iso_duration(value):
                raise ValueError(value)
        elif kind == "timeDate":
            if datetime.fromisoformat(value).tzinfo is None:
                return Message("timer.local_time", value=value)
        elif kind == "timeCycle":
            TimerEventDefinition.parse_iso_recurring_interval(value)
    except Exception:  # SpiffWorkflow's parsers raise bare Exception, ValueError, AttributeError...
        what = {"timeDuration": "timer.iso_duration", "timeDate": "timer.iso_datetime", "timeCycle": "timer.iso_cycle"}
        return Message("timer.not_iso", value=value, what=Message(what.get(kind, "timer.iso_time")))
    return None


class _ScriptEngine(PythonScriptEngine):  # type: ignore[misc]
    """The script engine; a timer expression's value is checked before SpiffWorkflow parses it (it would fail with
    an AttributeError on an int, or read a datetime without offset in the server's local time). It carries the
    calendar and clock of the step it runs (`business_time`), which the cron timers read too."""

    def __init__(self, time: BusinessTime) -> None:
        super().__init__(environment=SandboxEnvironment(time))
        self.business_time = time

    def evaluate(self, task: Any, expression: str, external_context: Any = None) -> Any:
        value = super().evaluate(task, expression, external_context)
        definition = getattr(getattr(task, "task_spec", None), "event_definition", None)  # DMN passes no task
        kind = _TIMER_KINDS.get(type(definition))
        if kind is not None and expression == getattr(definition, "expression", None):
            problem = timer_value_problem(kind, value)
            if problem:
                element = getattr(task.task_spec, "bpmn_id", None) or task.task_spec.name
                raise FlowError(Message("runtime.timer_value", element=element, kind=kind, expression=repr(expression),
                                            problem=problem))
        return value


def script_engine(time: BusinessTime) -> Any:
    """The script engine of one workflow step, counting timers in `time`'s calendar and clock (set on the workflow
    at every start and load: a cached workflow must not keep the calendar of the unit of work that saved it)."""
    return _ScriptEngine(time)


class _CamundaReceiveTaskParser(CamundaEventDefinitionParser, ReceiveTaskParser):  # type: ignore[misc]
    """A receive task with Camunda's message definition, the one the Camunda serializer can store."""


class ExternalTask(ServiceTask):  # type: ignore[misc]
    """An external service task (camunda:type="external"): it waits READY, like a user task, until a worker
    completes it over /engine-rest (engine.services.external_tasks); then it just completes."""

    def _run_hook(self, my_task: Any) -> bool:
        return True


class _ServiceTaskParser(TaskParser):  # type: ignore[misc]
    """Service tasks: the dialect lets only external ones through (engine.processes.dialect)."""

    def create_task(self) -> Any:
        spec = super().create_task()
        spec.manual = self.node.get(f"{{{CAMUNDA_NS}}}type") == "external"
        return spec


BpmnTaskSpecConverter(ExternalTask, _REGISTRY)


class _Parser(CamundaParser):  # type: ignore[misc]
    """The Camunda parser, with receive tasks parsed like its message catch events and business rule tasks run by
    the engine's DMN evaluator (`decision_documents`: decision id -> (DMN path, DMN text))."""

    OVERRIDE_PARSER_CLASSES: ClassVar[dict[str, Any]] = {**CamundaParser.OVERRIDE_PARSER_CLASSES,
                                                         **CRON_PARSER_CLASSES,
                                                         full_tag("receiveTask"): (_CamundaReceiveTaskParser,
                                                                                   ReceiveTask),
                                                         full_tag("businessRuleTask"): (DecisionTaskParser,
                                                                                        DecisionTask),
                                                         full_tag("serviceTask"): (_ServiceTaskParser, ExternalTask)}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.decision_documents: dict[str, tuple[str, str]] = {}


def fix_loop_settings(spec: Any) -> None:
    """Store on a multi-instance spec what SpiffWorkflow's Camunda tasks only set on the live spec when they
    start (collection as input, element variable as input item): a spec restored from JSON lacks them, and a
    sequential loop over `camunda:collection` then ended after its first item."""
    for task_spec in spec.task_specs.values():
        if not isinstance(task_spec, SequentialMultiInstanceTask | ParallelMultiInstanceTask):
            continue
        if task_spec.output_item is not None:
            task_spec.input_item = TaskDataReference(task_spec.output_item.bpmn_id)
        if task_spec.cardinality is None and task_spec.data_output is not None:
            task_spec.data_input = TaskDataReference(task_spec.data_output.bpmn_id)


_DMN_VALIDATORS: dict[str, BpmnValidator] = {}


def dmn_validator(namespace: str) -> BpmnValidator | None:
    """The XML schema validator of a DMN version (1.1, 1.2, 1.3) by its namespace; None for another."""
    schema = DMN_SCHEMAS.get(namespace)
    if schema is None:
        return None
    with _VALIDATOR_LOCK:
        if namespace not in _DMN_VALIDATORS:
            _DMN_VALIDATORS[namespace] = BpmnValidator(schema)
        return _DMN_VALIDATORS[namespace]


def _validator() -> BpmnValidator:
    global _VALIDATOR
    with _VALIDATOR_LOCK:
        if _VALIDATOR is None:
            _VALIDATOR = BpmnValidator()
        return _VALIDATOR
