"""processes/bindings.yaml: Camunda service implementations bound to built-in actions run when the task is reached
(in the step's transaction) and the instance moves on; unbound or badly bound ones are refused at check."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select

from engine.errors import ConfigError, FlowError, Problem
from engine.services import records
from engine.services.deployments import analyse
from engine.services.instances import start_process
from engine.services.views import Actor
from engine.store.models import OutboxRow
from engine.store.uow import UnitOfWork
from tests.conftest import NOW

BOUND_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs_bound" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="bound_actions" name="Bound actions" isExecutable="true">
    <bpmn:extensionElements>
      <camunda:properties><camunda:property name="flowcrm.entity" value="Lead" /></camunda:properties>
    </bpmn:extensionElements>
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="qualify" />
    <bpmn:serviceTask id="qualify" name="Qualify" camunda:class="com.example.Qualify" />
    <bpmn:sequenceFlow id="f2" sourceRef="qualify" targetRef="notify" />
    <bpmn:serviceTask id="notify" name="Notify" camunda:delegateExpression="${mailSender}" />
    <bpmn:sequenceFlow id="f3" sourceRef="notify" targetRef="done" />
    <bpmn:endEvent id="done" />
  </bpmn:process>
</bpmn:definitions>
"""

BINDINGS = """bindings:
  com.example.Qualify:
    compute:
      description: "'qualified: ' + record['title']"
  "${mailSender}":
    send_email: {template: offer_conditions, to: email}
"""


@pytest.fixture
def bundle_files(bundle_files: dict[str, str]) -> dict[str, str]:
    return {**bundle_files, "processes/bound_actions.bpmn": BOUND_BPMN, "processes/bindings.yaml": BINDINGS}


def problems_of(files: dict[str, str]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        analyse(files)
    return [f"{p.file}:{p.line}: {p.message}" for p in caught.value.problems]


def test_bound_set_and_send_email_run_when_reached_and_the_instance_completes(
    deployed: Callable[[], UnitOfWork], actors: dict[str, Actor]
) -> None:
    lead = records.create_record(
        deployed(), actors["sales"], "Lead", {"title": "20 laptops", "email": "ivan@example.com"}, NOW
    )
    instance = start_process(deployed(), actors["sales"], "bound_actions", lead.id, NOW)

    with deployed() as uow:
        row = uow.instances.get(instance.id)
        assert row is not None
        assert row.status == "completed"
        record = uow.records.get(lead.id)
        assert record is not None
        assert record.data["description"] == "qualified: 20 laptops"
        (change,) = [c for c in uow.audit.changes_of(lead.id) if c.field == "description"]
        assert change.source == "process bound_actions v1 / qualify"
        assert change.new_value == "qualified: 20 laptops"
        (mail,) = uow.session.scalars(select(OutboxRow).where(OutboxRow.record_id == lead.id)).all()
        assert mail.template == "offer_conditions"
        assert mail.to_address == "ivan@example.com"
        assert mail.status == "pending"
        assert "20 laptops" in mail.subject


def test_an_unbound_implementation_is_refused_naming_the_element_and_the_yaml_to_add(
    bundle_files: dict[str, str],
) -> None:
    files = {**bundle_files, "processes/bindings.yaml": "bindings:\n  com.example.Qualify: {topic: qualify}\n"}

    (message,) = [m for m in problems_of(files) if m.startswith("processes/")]  # rules then miss processes

    assert message.startswith("processes/bound_actions.bpmn:")
    assert "camunda:delegateExpression='${mailSender}' (a delegate expression) cannot run here" in message
    assert 'add to processes/bindings.yaml under `bindings:` the entry "${mailSender}": {topic: <topic>}' in message


def test_a_binding_to_an_unknown_template_or_field_is_refused_at_its_line(bundle_files: dict[str, str]) -> None:
    files = {
        **bundle_files,
        "processes/bindings.yaml": (
            "bindings:\n"
            "  com.example.Qualify:\n"
            '    set: {no_such_field: "1"}\n'
            '  "${mailSender}":\n'
            "    send_email: {template: welcome, to: email}\n"
        ),
    }

    messages = problems_of(files)

    assert sorted(messages) == [
        "processes/bindings.yaml:2: processes/bound_actions.bpmn [qualify]: set.no_such_field: Lead has no field "
        "'no_such_field'",
        "processes/bindings.yaml:4: processes/bound_actions.bpmn [notify]: send_email: no template 'welcome' "
        "(expected templates/welcome.<locale>.txt)",
    ]


def test_a_binding_with_neither_a_topic_nor_an_action_is_refused_at_its_line(bundle_files: dict[str, str]) -> None:
    files = {
        **bundle_files,
        "processes/bindings.yaml": (
            "bindings:\n"
            "  com.example.Qualify: {}\n"
            '  "${mailSender}":\n'
            "    send_mail: {template: offer_conditions}\n"
            "    topic: mail\n"
        ),
    }

    messages = problems_of(files)

    assert "processes/bindings.yaml:2: expected a mapping with one of: topic, send_email, set, compute" in messages
    assert "processes/bindings.yaml:4: unknown key 'send_mail'; expected: topic, send_email, set, compute" in messages
    assert (
        "processes/bindings.yaml:4: `topic` cannot be combined with actions: a worker or the engine runs the "
        "task, not both"
    ) in messages


def test_a_bound_email_to_an_empty_address_fails_the_step_naming_the_task_and_writes_nothing(
    deployed: Callable[[], UnitOfWork], actors: dict[str, Actor]
) -> None:
    lead = records.create_record(deployed(), actors["sales"], "Lead", {"title": "20 laptops"}, NOW)

    with pytest.raises(FlowError) as caught:
        start_process(deployed(), actors["sales"], "bound_actions", lead.id, NOW)

    assert str(caught.value).startswith("processes/bound_actions.bpmn [notify]: send_email to the field 'email': ")
    with deployed() as uow:
        record = uow.records.get(lead.id)
        assert record is not None
        assert "description" not in record.data
        assert uow.session.scalars(select(OutboxRow).where(OutboxRow.record_id == lead.id)).all() == []


def test_a_bound_set_is_a_literal_and_an_old_set_expression_is_warned_with_its_compute_replacement(
    bundle_files: dict[str, str],
) -> None:
    files = {
        **bundle_files,
        "processes/bindings.yaml": (
            "bindings:\n"
            "  com.example.Qualify:\n"
            "    set: {status: qualified, description: \"'qualified: ' + record['title']\"}\n"
            '  "${mailSender}": {topic: mail}\n'
        ),
    }
    warnings: list[Problem] = []

    _, definitions = analyse(files, warnings)

    qualify = definitions["bound_actions"].elements["qualify"]
    assert qualify.set_fields == {"status": "qualified"}
    assert qualify.compute_fields == {"description": "'qualified: ' + record['title']"}
    assert [str(w) for w in warnings if w.file == "processes/bindings.yaml"] == [
        "processes/bindings.yaml:3: [com.example.Qualify] set.description \"'qualified: ' + record['title']\" is an "
        "expression; set now holds literal values and compute expressions: write compute: {description: "
        "\"'qualified: ' + record['title']\"}"
    ]
