"""`set.<field>` writes a literal value and `compute.<field>` an expression's value, in BPMN properties and in
processes/bindings.yaml alike; an old `set.<field>` expression keeps running and `flowcrm check` warns with the
file, the element and the replacement."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from engine.errors import ConfigError, Problem
from engine.services import records
from engine.services.deployments import analyse
from engine.services.instances import start_process
from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.conftest import NOW

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs_set" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="set_and_compute" name="Set and compute" isExecutable="true">
    <bpmn:extensionElements>
      <camunda:properties><camunda:property name="flowcrm.entity" value="Lead" /></camunda:properties>
    </bpmn:extensionElements>
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="mark" />
    <bpmn:intermediateThrowEvent id="mark" name="Mark">
      <bpmn:extensionElements>
        <camunda:properties>
          <camunda:property name="set.status" value="qualified" />
          <camunda:property name="set.budget" value="1500.50" />
          <camunda:property name="set.company" value="'Acme' + ' Ltd'" />
          <camunda:property name="compute.description" value="'about ' + record['title']" />
        </camunda:properties>
      </bpmn:extensionElements>
    </bpmn:intermediateThrowEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="mark" targetRef="old" />
    <bpmn:intermediateThrowEvent id="old" name="Old">
      <bpmn:extensionElements>
        <camunda:properties>
          <camunda:property name="set.contact_name" value="'Ivan'" />
        </camunda:properties>
      </bpmn:extensionElements>
    </bpmn:intermediateThrowEvent>
    <bpmn:sequenceFlow id="f3" sourceRef="old" targetRef="done" />
    <bpmn:endEvent id="done" />
  </bpmn:process>
</bpmn:definitions>
"""
PATH = "processes/set_and_compute.bpmn"


@pytest.fixture
def bundle_files(bundle_files: dict[str, str]) -> dict[str, str]:
    return {**bundle_files, PATH: BPMN}


def test_set_writes_literals_compute_expressions_and_an_old_set_expression_still_runs(
    deployed: Callable[[], UnitOfWork], actors: dict[str, Actor]
) -> None:
    lead = records.create_record(deployed(), actors["sales"], "Lead", {"title": "20 laptops"}, NOW)

    instance = start_process(deployed(), actors["sales"], "set_and_compute", lead.id, NOW)

    with deployed() as uow:
        row = uow.instances.get(instance.id)
        assert row is not None
        assert row.status == "completed"
        record = uow.records.get(lead.id)
        assert record is not None
        assert record.data["status"] == "qualified"
        assert record.data["budget"] == "1500.50"
        assert record.data["company"] == "Acme Ltd"
        assert record.data["description"] == "about 20 laptops"
        assert record.data["contact_name"] == "Ivan"


def test_check_warns_of_each_old_set_expression_with_file_line_element_and_replacement(
    bundle_files: dict[str, str],
) -> None:
    warnings: list[Problem] = []

    analyse(bundle_files, warnings)

    mine = [str(w) for w in warnings if w.file == PATH and "label" not in w.message]
    assert mine == [
        f"{PATH}:15: [mark] set.company \"'Acme' + ' Ltd'\" is an expression; set now holds literal values and "
        "compute expressions: write compute.company = 'Acme' + ' Ltd'",
        f"{PATH}:24: [old] set.contact_name \"'Ivan'\" is an expression; set now holds literal values and compute "
        "expressions: write set.contact_name = Ivan",
    ]


def test_a_set_literal_its_field_refuses_is_a_problem_at_check(bundle_files: dict[str, str]) -> None:
    files = {**bundle_files, PATH: BPMN.replace('value="qualified"', 'value="qualifyed"')}

    with pytest.raises(ConfigError) as caught:
        analyse(files)

    (problem,) = [p for p in caught.value.problems if p.file == PATH]
    assert (problem.element, problem.line) == ("mark", 10)
    assert problem.message.startswith("set.status 'qualifyed': ")


def test_a_bare_word_naming_a_task_variable_warns_that_it_is_written_as_text(bundle_files: dict[str, str]) -> None:
    files = {
        **bundle_files,
        PATH: BPMN.replace('value="qualified"', 'value="last_completed_by"')
        .replace('name="set.status"', 'name="set.contact_name"')
        .replace('<camunda:property name="set.contact_name" value="\'Ivan\'" />', ""),
    }
    warnings: list[Problem] = []

    analyse(files, warnings)

    assert [str(w) for w in warnings if w.file == PATH and "copy" in w.message] == [
        f"{PATH}:10: [mark] set.contact_name 'last_completed_by' writes the text 'last_completed_by'; to copy "
        "the variable write compute.contact_name = last_completed_by"
    ]
