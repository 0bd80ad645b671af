"""A Camunda Modeler process calls decisions of the Camunda 7 DMN corpus on a deployed bundle, on every backend:
the result lands in its camunda:resultVariable and, through set.<field>, on the record."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from engine.config.loader import read_bundle_dir
from engine.services import instances, records
from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.conftest import NOW, ROOT

MakeUow = Callable[[], UnitOfWork]
CORPUS = ROOT / "tests" / "fixtures" / "camunda7" / "dmn"
BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Definitions_deal_risk"
    targetNamespace="http://bpmn.io/schema/bpmn" exporter="Camunda Modeler" exporterVersion="5.20.0">
  <bpmn:process id="deal_risk" name="Deal risk" isExecutable="true">
    <bpmn:extensionElements><camunda:properties>
      <camunda:property name="flowcrm.entity" value="Deal" />
    </camunda:properties></bpmn:extensionElements>
    <bpmn:startEvent id="StartEvent_risk"><bpmn:outgoing>Flow_1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_risk" targetRef="Activity_payment" />
    <bpmn:scriptTask id="Activity_payment" name="Describe payment" scriptFormat="python">
      <bpmn:incoming>Flow_1</bpmn:incoming><bpmn:outgoing>Flow_2</bpmn:outgoing>
      <bpmn:script>payment = {"amount": record.get("amount"), "country": record["title"][-2:]}</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Activity_payment" targetRef="Activity_risk" />
    <bpmn:businessRuleTask id="Activity_risk" name="Rate risk" camunda:decisionRef="risk_priority"
        camunda:resultVariable="risk" camunda:mapDecisionResult="singleResult">
      <bpmn:extensionElements><camunda:properties>
        <camunda:property name="set.approved_by" value="risk['risk'] + ': ' + risk['reason']" />
      </camunda:properties></bpmn:extensionElements>
      <bpmn:incoming>Flow_2</bpmn:incoming><bpmn:outgoing>Flow_3</bpmn:outgoing>
    </bpmn:businessRuleTask>
    <bpmn:sequenceFlow id="Flow_3" sourceRef="Activity_risk" targetRef="EndEvent_risk" />
    <bpmn:endEvent id="EndEvent_risk"><bpmn:incoming>Flow_3</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.fixture
def bundle_files() -> dict[str, str]:
    """The Camunda Modeler bundle, the DMN corpus and the deal_risk process, for `deployed` and `actors`."""
    files = read_bundle_dir(ROOT / "tests" / "fixtures" / "camunda_bundle")
    files.update({f"processes/{p.name}": p.read_text(encoding="utf-8") for p in CORPUS.glob("*.dmn")})
    files["processes/deal_risk.bpmn"] = BPMN
    return files


@pytest.mark.parametrize(
    ("title", "amount", "rated"),
    [
        ("Pumps for KP", "20000", "high: sanctioned country"),
        ("Pumps for DE", "20000", "medium: large amount"),  # "20000" from the money field, converted by typeRef double
        ("Pumps for DE", "50", "low: standard"),
    ],
)
def test_priority_decision_of_the_corpus_rates_a_deal_and_sets_its_field(
    deployed: MakeUow, actors: dict[str, Actor], title: str, amount: str, rated: str
) -> None:
    deal = records.create_record(
        deployed(), actors["head"], "Deal", {"title": title, "amount": amount}, NOW, start_processes=False
    )

    view = instances.start_process(deployed(), actors["head"], "deal_risk", deal.id, NOW)

    assert view.status == "completed"
    assert records.get_record(deployed(), actors["auditor"], deal.id).data["approved_by"] == rated
