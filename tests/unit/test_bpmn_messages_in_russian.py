"""What `flowcrm check` refuses or warns about in BPMN and DMN (the Camunda conformance checks, JUEL, FEEL, timers,
decisions) reads in Russian for a Russian reader — every problem, with the same file, line and element, and no
English sentence left — while its English text stays what it was."""

from __future__ import annotations

import re

import pytest

from engine.errors import ConfigError, Problem
from engine.messages import Message, localized
from engine.processes.spiff import parse_definitions
from tests.conftest import ROOT
from tests.unit.test_dmn_check import DMN, HEAD, table

CORPUS = ROOT / "tests" / "fixtures" / "camunda7"
BPMN_HEAD = (
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="http://bpmn.io/schema/bpmn">'
    '<bpmn:process id="p" isExecutable="true"><bpmn:startEvent id="start" />'
)
BPMN_TAIL = "</bpmn:process></bpmn:definitions>"
# quoted values, ${...}, lists of names (the known values) and the names of BPMN/Camunda/DMN settings stay as
# written in every language
_LISTS = re.compile(r"[A-Za-z][\w ]*(?:, [A-Za-z][\w ]*)+")
_KEPT = re.compile(r"'[^']*'|\"[^\"]*\"|«[^»]*»|`[^`]*`|\$\{[^}]*\}|\b[\w.-]+(?::[\w.<>*/-]+)+|\S*[_.=/<>]\S*")
_ENGLISH_RUN = re.compile(r"\b[A-Za-z]{2,}(?:[ ,]+[A-Za-z]{2,}){2,}\b")  # three English words in a row


def english_left(text: str) -> list[str]:
    """Runs of English words in a text, outside the names and values a message quotes."""
    return _ENGLISH_RUN.findall(_LISTS.sub(" ", _KEPT.sub(" ", text)))


def bpmn(body: str) -> str:
    return BPMN_HEAD + body + BPMN_TAIL


# broken and half-supported documents: (bpmn files, dmn files) — each refuses or warns in its own way
CASES = {
    "refused link events": ({"processes/link.bpmn": (CORPUS / "refused" / "link_event.bpmn").read_text()}, {}),
    "refused compensation": ({"processes/comp.bpmn": (CORPUS / "refused" / "compensation.bpmn").read_text()}, {}),
    "unsupported settings warned": (
        {"processes/warned.bpmn": (CORPUS / "processes" / "not_executed_warned.bpmn").read_text()}, {}),
    "a flow without id": ({"processes/f.bpmn": (CORPUS / "processes" / "flow_without_id.bpmn").read_text()}, {}),
    "a timer start event": ({"processes/t.bpmn": (CORPUS / "processes" / "timer_start_event.bpmn").read_text()}, {}),
    "a Java class": ({"processes/p.bpmn": bpmn('<bpmn:serviceTask id="pay" camunda:class="com.acme.Pay" />')}, {}),
    "no implementation": ({"processes/p.bpmn": bpmn('<bpmn:serviceTask id="pay" />')}, {}),
    "JUEL method call": ({"processes/p.bpmn": bpmn(
        '<bpmn:exclusiveGateway id="gw" /><bpmn:endEvent id="end" />'
        '<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="gw" />'
        '<bpmn:sequenceFlow id="f1" sourceRef="gw" targetRef="end"><bpmn:conditionExpression>'
        "${order.isPaid()}</bpmn:conditionExpression></bpmn:sequenceFlow>")}, {}),
    "cron out of range": ({"processes/p.bpmn": bpmn(
        '<bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition><bpmn:timeCycle>0 0 25 * * ?'
        "</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>")}, {}),
    "external task without topic": (
        {"processes/p.bpmn": bpmn('<bpmn:serviceTask id="ext" camunda:type="external" />')}, {}),
    "unknown decision": ({"processes/p.bpmn": bpmn(
        '<bpmn:businessRuleTask id="rate" camunda:decisionRef="rating" /><bpmn:endEvent id="end" />'
        '<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="rate" />'
        '<bpmn:sequenceFlow id="f1" sourceRef="rate" targetRef="end" />')}, {}),
    "DMN hit policy, aggregation, FEEL cell": ({}, {DMN: HEAD + table(
        policy="FIRST", aggregation=' aggregation="SUM"', cell="&gt; &gt; 5",
        entry_language=' expressionLanguage="feel"') + "</definitions>"}),
    "the BPMN schema: a flow without its target": ({"processes/p.bpmn": bpmn(
        '<bpmn:endEvent id="end" /><bpmn:sequenceFlow id="f0" sourceRef="start" />')}, {}),
    "the DMN schema: a hit policy of no DMN": ({}, {DMN: HEAD + table(policy="SOMETIMES") + "</definitions>"}),
    "SpiffWorkflow: a process without a start event": ({"processes/p.bpmn": bpmn("").replace(
        '<bpmn:startEvent id="start" />', '<bpmn:userTask id="alone" />')}, {}),
    "DMN typeRef and empty table": ({}, {DMN: HEAD + table(type_ref="money", output="contains(x)") + "</definitions>"}),
}


def check(bpmn_files: dict[str, str], dmn_files: dict[str, str]) -> list[tuple[str, Problem]]:
    warnings: list[Problem] = []
    try:
        parse_definitions(bpmn_files, dmn_files, warnings=warnings, resources={})
        problems: list[Problem] = []
    except ConfigError as error:
        problems = error.problems
    return [("error", p) for p in problems] + [("warning", w) for w in warnings]


@pytest.mark.parametrize("case", CASES)
def test_every_problem_and_warning_reads_in_russian_at_the_same_place(case: str) -> None:
    found = check(*CASES[case])

    assert found, case
    for kind, problem in found:
        assert isinstance(problem.message, Message), (kind, str(problem))
        russian = localized(problem.message, "ru")
        assert russian != problem.message
        assert re.search("[а-яё]", russian), russian
        assert english_left(russian) == [], (kind, problem.place(), russian)
        assert localized(problem.message, "en") == problem.message  # the English text is the message itself
