"""SpiffWorkflow set-up: serializer, sandboxed script engine, Camunda parser, XML validator."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any, ClassVar

from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from SpiffWorkflow.bpmn.parser.event_parsers import ReceiveTaskParser
from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import TaskDataEnvironment
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.defaults import ReceiveTask
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.camunda.parser.event_parsers import CamundaEventDefinitionParser
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG

from engine.processes import sandbox
from engine.processes.calendar import WorkingHoursFrom, active_calendar

_REGISTRY = BpmnWorkflowSerializer.configure(CAMUNDA_CONFIG)
_SERIALIZER = BpmnWorkflowSerializer(_REGISTRY)
SERIALIZER_VERSION: str = _SERIALIZER.VERSION
_VALIDATOR: BpmnValidator | None = None
_VALIDATOR_LOCK = threading.Lock()


def expression_helpers() -> dict[str, Any]:
    """The functions timer and condition expressions may call, fixed to this moment and the deployed calendar."""
    return {"working_hours": WorkingHoursFrom(datetime.now(UTC), active_calendar())}


class SandboxEnvironment(TaskDataEnvironment):  # type: ignore[misc]
    """Routes every script, condition, timer expression and DMN cell through the restricted sandbox."""

    def evaluate(self, expression: str, context: dict[str, Any], external_context: Any = None) -> Any:
        names = dict(context)
        names.update(external_context or {})
        helpers = expression_helpers()
        names.update(helpers)  # last: a task-data key cannot shadow a helper
        return sandbox.evaluate(expression, names, helpers=frozenset(helpers))

    def execute(self, script: str, context: dict[str, Any], external_context: Any = None) -> bool:
        names = dict(context)
        names.update(external_context or {})
        before = set(names)
        sandbox.execute(script, names)
        for key in before - set(names):
            context.pop(key, None)
        context.update({k: v for k, v in names.items() if k not in (external_context or {})})
        return True


SCRIPT_ENGINE = PythonScriptEngine(environment=SandboxEnvironment())


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
