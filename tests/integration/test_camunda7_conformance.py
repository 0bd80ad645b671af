"""The Camunda 7 corpus deployed as a bundle: JUEL task attributes resolved when tasks are created, `flowcrm check`
listing warnings (failing only with --strict) and refusing what cannot run, naming file, line and element."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import cli
from engine.config.loader import read_bundle_dir
from engine.services import instances, tasks
from engine.services.views import Actor
from engine.store.models import TaskRow
from engine.store.uow import UnitOfWork
from tests.conftest import NOW, ROOT

MakeUow = Callable[[], UnitOfWork]
CORPUS = ROOT / "tests" / "fixtures" / "camunda7"


@pytest.fixture
def bundle_files() -> dict[str, str]:
    """The Camunda 7 corpus instead of the shipped CRM, for `deployed` and `actors`."""
    return read_bundle_dir(CORPUS)


def task_row(make_uow: MakeUow, instance_id: int, element: str) -> TaskRow:
    with make_uow() as uow:
        [row] = [r for r in uow.tasks.for_instance(instance_id) if r.spec_name == element]
        uow.session.expunge(row)
        return row


def username(make_uow: MakeUow, user_id: int | None) -> str | None:
    with make_uow() as uow:
        user = uow.users.get(user_id) if user_id else None
        return user.username if user else None


def test_juel_assignee_candidates_and_due_date_are_resolved_when_the_task_is_created(
    deployed: MakeUow, actors: dict[str, Actor]
) -> None:
    view = instances.start_process(deployed(), actors["sales"], "juel_assignment", None, NOW)
    triage = task_row(deployed, view.id, "triage")
    tasks.complete_task(deployed(), actors["sales"], triage.id, {"due": "2026-03-05T12:00:00"}, NOW)

    handle = task_row(deployed, view.id, "handle")

    assert username(deployed, handle.assignee_id) == "sam"  # ${triage_completed_by}
    assert handle.candidate_users == "sue,hank"  # ${... == 'sam' ? 'sue' : 'sam'}, hank
    assert handle.candidate_groups == "head_of_sales,sales"
    assert handle.due_at == datetime(2026, 3, 5, 9, 0, tzinfo=UTC)  # 12:00 in the bundle's zone, Moscow
    tasks.complete_task(deployed(), actors["sales"], handle.id, {}, NOW)
    detail = instances.get_instance(deployed(), actors["auditor"], view.id)
    assert detail.instance.status == "completed"
    assert "end_same" in [s.element_id for s in detail.steps]  # ${handle_completed_by eq triage_completed_by}


def run(*args: str) -> Result:
    return CliRunner().invoke(cli.main, list(args))


def test_check_lists_warnings_with_file_line_and_element_and_passes() -> None:
    result = run("check", str(CORPUS))

    assert result.exit_code == 0, result.output
    assert "54 processes, 17 warning(s)" in result.output  # 16 Camunda features, and no processes/labels.yaml
    assert "warning: processes/labels.yaml: missing: the names of 54 process(es)" in result.output
    assert (
        "warning: processes/not_executed_warned.bpmn:11: [check] camunda:taskListener on 'create' is ignored"
        in result.output
    )


def test_check_strict_fails_on_warnings() -> None:
    result = run("check", "--strict", str(CORPUS))

    assert result.exit_code == 1
    assert "--strict: 17 warning(s) fail the check" in result.output


def test_deploy_lists_the_warnings_and_deploys(db_url: str) -> None:
    result = run("--database-url", db_url, "deploy", str(CORPUS))

    assert result.exit_code == 0, result.output
    assert "juel_assignment: new version 1" in result.output
    assert "warning: processes/flow_without_id.bpmn:11: [Flow_start_first_step]" in result.output


TASK = '<bpmn:userTask id="first_step" name="First step">'
REFUSALS = {
    "business_rule_task_without_decision_ref": (
        '<bpmn:businessRuleTask id="decide" name="Decide" />',
        "[decide] bpmn:businessRuleTask needs camunda:decisionRef, the id of a decision in processes/*.dmn",
    ),
    "java_class": (
        '<bpmn:serviceTask id="notify" camunda:class="com.example.Notify" />',
        "[notify] bpmn:serviceTask is not supported: camunda:class='com.example.Notify' (a Java class) cannot run "
        "here; add to processes/bindings.yaml under `bindings:` the entry \"com.example.Notify\": {topic: <topic>}",
    ),
    "delegate_expression": (
        '<bpmn:serviceTask id="notify" camunda:delegateExpression="${notifier}" />',
        "[notify] bpmn:serviceTask is not supported: camunda:delegateExpression='${notifier}'",
    ),
    "expression": (
        '<bpmn:sendTask id="notify" camunda:expression="${mailer.send(order)}" />',
        "[notify] bpmn:sendTask is not supported: camunda:expression='${mailer.send(order)}'",
    ),
    "external_without_topic": (
        '<bpmn:serviceTask id="notify" camunda:type="external" />',
        '[notify] camunda:type="external" needs camunda:topic: the topic workers fetch this task by',
    ),
    "external_send_task": (
        '<bpmn:sendTask id="notify" camunda:type="external" camunda:topic="mail" />',
        '[notify] camunda:type="external" on bpmn:sendTask is not supported: external tasks run on '
        "bpmn:serviceTask only",
    ),
    "mail_connector": (
        '<bpmn:serviceTask id="notify"><bpmn:extensionElements><camunda:connector>'
        "<camunda:connectorId>mail-send</camunda:connectorId></camunda:connector></bpmn:extensionElements>"
        "</bpmn:serviceTask>",
        "[notify] bpmn:serviceTask is not supported: connector='mail-send'",
    ),
    "javascript": (
        '<bpmn:scriptTask id="calc" scriptFormat="javascript"><bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>',
        "[calc] scriptFormat 'javascript' cannot run: scripts are Python",
    ),
    "missing_resource": (
        '<bpmn:scriptTask id="calc" scriptFormat="python" camunda:resource="scripts/none.py" />',
        "[calc] camunda:resource 'scripts/none.py': no such file in the bundle",
    ),
    "bean_call_in_condition": (
        '<bpmn:sequenceFlow id="Flow_x" sourceRef="start" targetRef="end">'
        '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">${orderService.isValid(order)}'
        "</bpmn:conditionExpression></bpmn:sequenceFlow>",
        "[Flow_x] condition '${orderService.isValid(order)}' cannot run: method call isValid(...) is not supported "
        "at position 16 (method and bean calls do not run here; put the value in a process variable)",
    ),
    "spin_in_condition": (
        '<bpmn:sequenceFlow id="Flow_x" sourceRef="start" targetRef="end">'
        '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">${S(customer).prop("vip").boolValue()}'
        "</bpmn:conditionExpression></bpmn:sequenceFlow>",
        "[Flow_x] condition '${S(customer).prop(\"vip\").boolValue()}' cannot run: Spin S(...) is not supported",
    ),
    "javascript_condition": (
        '<bpmn:sequenceFlow id="Flow_x" sourceRef="start" targetRef="end">'
        '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression" language="javascript">a &gt; 1'
        "</bpmn:conditionExpression></bpmn:sequenceFlow>",
        "[Flow_x] a condition in 'javascript' cannot run",
    ),
    "cron_with_both_day_fields": (
        '<bpmn:intermediateCatchEvent id="tick"><bpmn:timerEventDefinition><bpmn:timeCycle>0 0 9 * * MON-FRI'
        "</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>",
        "[tick] bpmn:timeCycle: cron '0 0 9 * * MON-FRI': exactly one of day-of-month and day-of-week must be '?'",
    ),
    "bad_juel_assignee": (
        '<bpmn:userTask id="assign" camunda:assignee="${owner.name()}" />',
        "[assign] camunda:assignee '${owner.name()}' cannot run: method call name(...) is not supported",
    ),
    "decision_chosen_by_expression": (
        '<bpmn:businessRuleTask id="decide" camunda:decisionRef="${tableName}" />',
        "[decide] camunda:decisionRef '${tableName}': an expression cannot be resolved before the process runs; "
        "name the decision id",
    ),
    "process_chosen_by_expression": (
        '<bpmn:callActivity id="call" calledElement="${subProcess}" />',
        "[call] calledElement '${subProcess}' must name a process id",
    ),
    "camunda_multi_instance_variable": (
        '<bpmn:userTask id="each"><bpmn:multiInstanceLoopCharacteristics><bpmn:completionCondition>'
        "${nrOfCompletedInstances &gt;= 2}</bpmn:completionCondition></bpmn:multiInstanceLoopCharacteristics>"
        "</bpmn:userTask>",
        "[each] bpmn:completionCondition '${nrOfCompletedInstances >= 2}' reads nrOfCompletedInstances, a Camunda "
        "multi-instance variable this engine does not provide",
    ),
    "computed_collection": (
        '<bpmn:userTask id="each"><bpmn:multiInstanceLoopCharacteristics camunda:collection="${a.b}" />'
        "</bpmn:userTask>",
        "[each] camunda:collection '${a.b}' must name a variable holding the list",
    ),
}


@pytest.mark.parametrize("name", REFUSALS)
def test_check_refuses_what_cannot_run_naming_file_line_and_element(tmp_path: Path, name: str) -> None:
    element, message = REFUSALS[name]
    bundle = tmp_path / "bundle"
    shutil.copytree(CORPUS, bundle)
    target = bundle / "processes" / "flow_without_id.bpmn"
    text = target.read_text(encoding="utf-8")
    target.write_text(text.replace(TASK, f"{element}\n    {TASK}"), encoding="utf-8")
    line = text[: text.index(TASK)].count("\n") + 1

    result = run("check", str(bundle))

    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert f"processes/flow_without_id.bpmn:{line}: {message}" in result.output, result.output
