"""The Camunda dialect prepared before SpiffWorkflow parses a document."""

from __future__ import annotations

from lxml import etree

from engine.errors import Problem
from engine.processes.dialect import CAMUNDA_NS, Dialect, alias_activiti

HEAD = (
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:activiti="http://activiti.org/bpmn">'
    '<bpmn:process id="p" isExecutable="true">'
)
TAIL = "</bpmn:process></bpmn:definitions>"


def prepare(body: str) -> tuple[etree._Element, list[Problem], list[Problem]]:
    tree = etree.fromstring(alias_activiti(HEAD + body + TAIL).encode())
    problems: list[Problem] = []
    warnings: list[Problem] = []
    Dialect("processes/p.bpmn", "Europe/Moscow", {}, problems, warnings).prepare(tree)
    return tree, problems, warnings


def test_a_conditional_event_condition_in_juel_is_compiled() -> None:
    tree, problems, _ = prepare(
        '<bpmn:intermediateCatchEvent id="wait"><bpmn:conditionalEventDefinition>'
        "<bpmn:condition>${stock &lt; 10}</bpmn:condition></bpmn:conditionalEventDefinition>"
        "</bpmn:intermediateCatchEvent>"
    )

    assert problems == []
    assert tree.findtext(".//{*}condition") == "juel_condition(juel_lt(stock, 10))"


def test_a_send_task_without_a_java_implementation_is_left_to_run_as_before() -> None:
    _, problems, _ = prepare('<bpmn:sendTask id="notify" />')

    assert problems == []


def test_activiti_attributes_read_as_camunda_ones() -> None:
    tree, _, _ = prepare('<bpmn:userTask id="t" activiti:assignee="${owner}" activiti:dueDate="2026-03-01T10:00:00" />')

    task = tree.find(".//{*}userTask")
    assert task.get(f"{{{CAMUNDA_NS}}}assignee") == "${owner}"
    assert task.get(f"{{{CAMUNDA_NS}}}dueDate") == "2026-03-01T10:00:00+03:00"  # no offset: the bundle's zone


def test_form_data_is_warned_and_removed_so_the_task_still_parses() -> None:
    tree, problems, warnings = prepare(
        '<bpmn:userTask id="t"><bpmn:extensionElements><camunda:formData>'
        '<camunda:formField id="ok" type="boolean" /></camunda:formData></bpmn:extensionElements></bpmn:userTask>'
    )

    assert problems == []
    assert [(w.element, w.message.split(" is ignored")[0]) for w in warnings] == [("t", "camunda:formData")]
    assert tree.find(".//{*}formData") is None
