"""The Camunda dialect prepared before SpiffWorkflow parses a document."""

from __future__ import annotations

import pytest
from lxml import etree

from engine.errors import FlowError, Problem
from engine.processes.bindings import Binding
from engine.processes.definitions import resolve, resolve_names
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


@pytest.mark.parametrize(
    ("body", "element", "start"),
    [
        ('<bpmn:userTask id="t" camunda:taskPriority="5" />', "t", "camunda:taskPriority='5' on bpmn:userTask"),
        ('<bpmn:userTask id="t" camunda:jobPriority="5" />', "t", "camunda:jobPriority='5' on bpmn:userTask"),
        ('<bpmn:userTask id="t" camunda:asyncAfter="true" />', "t", "camunda:asyncAfter='true' on bpmn:userTask"),
        (
            '<bpmn:startEvent id="s"><bpmn:errorEventDefinition camunda:errorCodeVariable="code" /></bpmn:startEvent>',
            "s",
            "camunda:errorCodeVariable='code' on bpmn:errorEventDefinition",
        ),
        (
            '<bpmn:scriptTask id="s" camunda:resultVariable="r"><bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>',
            "s",
            "camunda:resultVariable='r' on bpmn:scriptTask",
        ),
        (
            '<bpmn:callActivity id="c" calledElement="p"><bpmn:extensionElements><camunda:in variables="all" />'
            '<camunda:out source="a" target="b" /></bpmn:extensionElements></bpmn:callActivity>',
            "c",
            "camunda:out source='a' target='b'",
        ),
        (
            '<bpmn:userTask id="t"><bpmn:extensionElements><camunda:failedJobRetryTimeCycle>R5/PT5M'
            "</camunda:failedJobRetryTimeCycle></bpmn:extensionElements></bpmn:userTask>",
            "t",
            "camunda:failedJobRetryTimeCycle",
        ),
        (
            '<bpmn:userTask id="t"><bpmn:extensionElements><camunda:inputOutput>'
            '<camunda:inputParameter name="a">1</camunda:inputParameter></camunda:inputOutput>'
            "</bpmn:extensionElements></bpmn:userTask>",
            "t",
            "camunda:inputOutput",
        ),
    ],
)
def test_what_is_not_executed_is_warned_naming_the_element(body: str, element: str, start: str) -> None:
    _, problems, warnings = prepare(body)

    assert problems == []
    assert (element, start) in [(w.element, w.message.split(" is ignored")[0]) for w in warnings]


def test_call_activity_variables_all_is_what_runs_and_a_single_mapping_says_what_happens_instead() -> None:
    _, _, warnings = prepare(
        '<bpmn:callActivity id="c" calledElement="p"><bpmn:extensionElements><camunda:in variables="all" />'
        '<camunda:out variables="all" /><camunda:in source="a" target="b" /></bpmn:extensionElements>'
        "</bpmn:callActivity>"
    )

    assert [(w.element, w.message) for w in warnings] == [
        (
            "c",
            "camunda:in source='a' target='b' is ignored: the called process receives every variable of the "
            'caller (as camunda:in variables="all")',
        )
    ]


def test_a_message_throw_event_without_an_implementation_passes_as_in_camunda() -> None:
    tree, problems, warnings = prepare(
        '<bpmn:intermediateThrowEvent id="e"><bpmn:messageEventDefinition id="m" /></bpmn:intermediateThrowEvent>'
    )

    assert (problems, warnings) == ([], [])
    assert tree.find(".//{*}messageEventDefinition") is None


def test_a_message_throw_event_with_a_java_class_is_refused_naming_it() -> None:
    _, problems, _ = prepare(
        '<bpmn:endEvent id="e"><bpmn:messageEventDefinition id="m" camunda:class="com.example.Send" /></bpmn:endEvent>'
    )

    assert [(p.element, p.message.split(";")[0]) for p in problems] == [
        (
            "e",
            "bpmn:endEvent sending a message is not supported: camunda:class='com.example.Send' (a Java class) "
            "cannot run here",
        )
    ]


def test_an_event_based_gateway_followed_by_two_timers_is_refused_naming_them() -> None:
    timer = "<bpmn:timerEventDefinition><bpmn:timeDuration>P{}D</bpmn:timeDuration></bpmn:timerEventDefinition>"
    _, problems, _ = prepare(
        '<bpmn:eventBasedGateway id="g" /><bpmn:intermediateCatchEvent id="t1">'
        + timer.format(1)
        + '</bpmn:intermediateCatchEvent><bpmn:intermediateCatchEvent id="t3">'
        + timer.format(3)
        + '</bpmn:intermediateCatchEvent><bpmn:sequenceFlow id="f1" sourceRef="g" targetRef="t1" />'
        '<bpmn:sequenceFlow id="f2" sourceRef="g" targetRef="t3" />'
    )

    assert [(p.element, p.message.split(": only")[0]) for p in problems] == [
        ("g", "bpmn:eventBasedGateway is followed by 2 timer events (t1, t3)")
    ]


def test_a_signal_throw_event_warns_that_other_instances_do_not_receive_it() -> None:
    _, problems, warnings = prepare(
        '<bpmn:intermediateThrowEvent id="e"><bpmn:signalEventDefinition id="s" /></bpmn:intermediateThrowEvent>'
    )

    assert problems == []
    assert [(w.element, w.message.split(": other")[0]) for w in warnings] == [
        (
            "e",
            "bpmn:signalEventDefinition on bpmn:intermediateThrowEvent reaches only the catch events of its own "
            "instance",
        )
    ]


def test_a_timer_start_event_warns_that_it_starts_no_instance_by_itself() -> None:
    _, problems, warnings = prepare(
        '<bpmn:startEvent id="s"><bpmn:timerEventDefinition><bpmn:timeDate>2026-03-01T10:00:00</bpmn:timeDate>'
        "</bpmn:timerEventDefinition></bpmn:startEvent>"
    )

    assert problems == []
    assert [(w.element, w.message.split(":")[0]) for w in warnings] == [
        ("s", "a timer start event does not start instances by itself here")
    ]


def test_an_error_without_an_id_is_refused_at_its_line() -> None:
    tree = etree.fromstring(
        (
            HEAD.replace(
                '<bpmn:process id="p" isExecutable="true">',
                '<bpmn:error name="Late" errorCode="LATE" /><bpmn:process id="p" isExecutable="true">',
            )
            + TAIL
        ).encode()
    )
    problems: list[Problem] = []
    Dialect("processes/p.bpmn", "UTC", {}, problems, []).prepare(tree)

    assert [(p.line, p.message) for p in problems] == [
        (1, "bpmn:error 'Late' has no id: give it one (events name it in errorRef)")
    ]


def test_async_false_is_not_warned() -> None:
    _, _, warnings = prepare('<bpmn:userTask id="t" camunda:asyncBefore="false" />')

    assert warnings == []


def test_a_service_task_without_an_implementation_is_refused() -> None:
    _, problems, _ = prepare('<bpmn:serviceTask id="svc" />')

    assert [(p.element, p.message) for p in problems] == [
        (
            "svc",
            'bpmn:serviceTask has no implementation the engine can run: give it camunda:type="external" and a '
            "camunda:topic, or a camunda:class bound in processes/bindings.yaml, or draw a scriptTask",
        )
    ]


def test_a_script_resource_path_without_scheme_is_read_from_the_processes_folder() -> None:
    tree = etree.fromstring((HEAD + '<bpmn:scriptTask id="s" camunda:resource="scripts/a.py" />' + TAIL).encode())
    problems: list[Problem] = []
    Dialect("processes/p.bpmn", "UTC", {"processes/scripts/a.py": "a = 1"}, problems, []).prepare(tree)

    assert problems == []
    assert tree.findtext(".//{*}script") == "a = 1"


def test_candidates_from_juel_may_be_a_name_a_comma_list_or_a_list() -> None:
    data = {"one": "sam", "some": "sue, hank", "many": ["ann", None, "bob"]}

    assert resolve_names(("${one}", "${some}", "${many}", "otto"), data) == ["sam", "sue", "hank", "ann", "bob", "otto"]


def test_a_missing_variable_in_an_assignee_names_the_attribute_and_the_variable() -> None:
    with pytest.raises(FlowError, match=r"task: camunda:assignee '\$\{owner\}': .*'owner' is not defined"):
        resolve("${owner}", {}, "task: camunda:assignee ")


def test_who_may_start_the_process_is_warned_not_enforced() -> None:
    tree = etree.fromstring(
        (
            HEAD.replace('isExecutable="true"', 'isExecutable="true" camunda:candidateStarterGroups="sales"') + TAIL
        ).encode()
    )
    warnings: list[Problem] = []
    Dialect("processes/p.bpmn", "UTC", {}, [], warnings).prepare(tree)

    assert [(w.element, w.message.split(" is ignored")[0]) for w in warnings] == [
        ("p", "camunda:candidateStarterGroups='sales' on bpmn:process")
    ]


def test_a_binding_applies_to_service_tasks_only() -> None:
    tree = etree.fromstring((HEAD + '<bpmn:sendTask id="s" camunda:class="com.example.Send" />' + TAIL).encode())
    problems: list[Problem] = []
    bindings = {"com.example.Send": Binding("com.example.Send", 3, topic="send")}
    Dialect("processes/p.bpmn", "UTC", {}, problems, [], bindings).prepare(tree)

    assert [(p.element, p.message) for p in problems] == [
        (
            "s",
            "bpmn:sendTask: the binding of 'com.example.Send' (processes/bindings.yaml:3) applies to "
            "bpmn:serviceTask only: draw a service task",
        )
    ]


def test_a_service_task_bound_to_actions_carries_them_as_properties_without_its_class() -> None:
    tree = etree.fromstring((HEAD + '<bpmn:serviceTask id="s" camunda:class="com.example.Mail" />' + TAIL).encode())
    bindings = {"com.example.Mail": Binding("com.example.Mail", 7, email=("welcome", "email"), set_fields={"a": "1"})}
    problems: list[Problem] = []
    Dialect("processes/p.bpmn", "UTC", {}, problems, [], bindings).prepare(tree)

    task = tree.find(".//{http://www.omg.org/spec/BPMN/20100524/MODEL}serviceTask")
    assert problems == []
    assert task.get(f"{{{CAMUNDA_NS}}}class") is None
    assert {p.get("name"): p.get("value") for p in task.iter(f"{{{CAMUNDA_NS}}}property")} == {
        "flowcrm.binding": "7",
        "set.a": "1",
        "send_email.template": "welcome",
        "send_email.to": "email",
    }
