"""businessRuleTask → the engine's DMN evaluator: its task spec, parser and serializer converter.

The spec carries the text of its DMN file, so a deployed version keeps the decisions it was deployed with.
Versions deployed before this evaluator keep SpiffWorkflow's BusinessRuleTask (its converter stays registered).
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.serializer.helpers.spec import TaskSpecConverter
from SpiffWorkflow.bpmn.specs.mixins import BpmnSpecMixin
from SpiffWorkflow.camunda.parser.task_spec import CAMUNDA_MODEL_NS, CamundaTaskParser

from engine.errors import FlowError
from engine.messages import Message
from engine.processes.dialect import decision_ref_problem
from engine.processes.dmn import MAPPINGS, decide

_ATTRIBUTES = ("decision_ref", "dmn_file", "dmn_text", "result_variable", "map_decision_result")


class DecisionTask(BpmnSpecMixin):  # type: ignore[misc]
    """A businessRuleTask evaluating `decision_ref` of its DMN file and setting the variables it gives."""

    def __init__(
        self,
        wf_spec: Any,
        bpmn_id: str,
        decision_ref: str,
        dmn_file: str,
        dmn_text: str,
        result_variable: str | None = None,
        map_decision_result: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.decision_ref = decision_ref
        self.dmn_file = dmn_file
        self.dmn_text = dmn_text
        self.result_variable = result_variable
        self.map_decision_result = map_decision_result

    def _run_hook(self, my_task: Any) -> bool:
        try:
            values = decide(
                self.dmn_file,
                self.dmn_text,
                self.decision_ref,
                dict(my_task.data),
                self.result_variable,
                self.map_decision_result,
            )
        except FlowError as exc:
            raise WorkflowTaskException(f"{self.bpmn_id}: {exc}", task=my_task) from exc
        my_task.data.update(values)
        result: bool = super()._run_hook(my_task)
        return result


class DecisionTaskConverter(TaskSpecConverter):  # type: ignore[misc]
    """Stores a DecisionTask with its decision reference and DMN text."""

    def to_dict(self, spec: DecisionTask) -> dict[str, Any]:
        dct: dict[str, Any] = self.get_default_attributes(spec)
        dct.update({name: getattr(spec, name) for name in _ATTRIBUTES})
        return dct

    def from_dict(self, dct: dict[str, Any]) -> DecisionTask:
        spec: DecisionTask = self.task_spec_from_dict(dct)
        return spec


def _camunda(node: Any, name: str) -> str | None:
    value: str | None = node.get(f"{{{CAMUNDA_MODEL_NS}}}{name}")
    return value


class DecisionTaskParser(CamundaTaskParser):  # type: ignore[misc]
    """Reads camunda:decisionRef, camunda:resultVariable and camunda:mapDecisionResult."""

    def create_task(self) -> DecisionTask:
        ref = self.get_decision_ref(self.node)
        documents: dict[str, tuple[str, str]] = getattr(self.process_parser.parser, "decision_documents", {})
        problem = decision_ref_problem(ref)
        if problem:
            self.raise_validation_exception(problem)
        if ref not in documents:
            known = ", ".join(sorted(documents)) or Message("config.none")
            self.raise_validation_exception(Message("bpmn.decision_unknown", ref=ref, known=known))
        result_variable = _camunda(self.node, "resultVariable") or None
        mapping = _camunda(self.node, "mapDecisionResult") or None
        if mapping and mapping not in MAPPINGS:
            self.raise_validation_exception(Message("bpmn.map_decision_result", mapping=mapping,
                                                    known=", ".join(MAPPINGS)))
        if mapping and not result_variable:
            self.raise_validation_exception(Message("bpmn.map_needs_result_variable", mapping=mapping))
        path, text = documents[ref]
        return DecisionTask(
            self.spec,
            self.bpmn_id,
            decision_ref=ref,
            dmn_file=path,
            dmn_text=text,
            result_variable=result_variable,
            map_decision_result=mapping,
            **self.bpmn_attributes,
        )

    @staticmethod
    def get_decision_ref(node: Any) -> str:
        """The decision a businessRuleTask calls ('' when it names none)."""
        return (_camunda(node, "decisionRef") or "").strip()
