"""`flowcrm check --lang ru` tells a Russian-speaking designer what is wrong with a BPMN or DMN file in Russian: the
same problems and warnings, at the same file, line and element, as the English check."""

from __future__ import annotations

import re
from pathlib import Path

from tests.integration.test_check_cli import copy_bundle, run

BROKEN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="broken_defs"
                  targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="broken" name="Broken" isExecutable="true">
    <bpmn:dataStoreReference id="archive" />
    <bpmn:startEvent id="begin" />
    <bpmn:serviceTask id="charge" name="Charge" camunda:class="com.acme.Charge" camunda:asyncBefore="true" />
    <bpmn:exclusiveGateway id="paid_gateway" />
    <bpmn:endEvent id="done" />
    <bpmn:sequenceFlow id="to_charge" sourceRef="begin" targetRef="charge" />
    <bpmn:sequenceFlow id="to_gateway" sourceRef="charge" targetRef="paid_gateway" />
    <bpmn:sequenceFlow id="paid" sourceRef="paid_gateway" targetRef="done">
      <bpmn:conditionExpression>${invoice.isPaid()}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
  </bpmn:process>
</bpmn:definitions>
"""
DMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="grading_defs" name="Grading"
             namespace="http://camunda.org/schema/1.0/dmn">
  <decision id="grading" name="Grading">
    <decisionTable id="grading_table" hitPolicy="FIRST" aggregation="SUM">
      <input id="grading_amount" label="Amount">
        <inputExpression id="grading_amount_expr" typeRef="double"><text>amount</text></inputExpression>
      </input>
      <output id="grading_grade" label="Grade" name="grade" typeRef="string" />
      <rule id="grading_big">
        <inputEntry id="grading_big_in" expressionLanguage="feel"><text>&gt; &gt; 1000</text></inputEntry>
        <outputEntry id="grading_big_out"><text>"A"</text></outputEntry>
      </rule>
    </decisionTable>
  </decision>
</definitions>
"""
PLACE = re.compile(r"^(?:warning: |предупреждение: )?(processes/[\w.]+:\d+: \[\w+\]) (.*)$")


def reported(output: str) -> dict[str, list[str]]:
    """The messages of each `file:line: [element]` the check printed."""
    found: dict[str, list[str]] = {}
    for line in output.splitlines():
        if (place := PLACE.match(line)) is not None:
            found.setdefault(place[1], []).append(place[2])
    return found


def test_check_in_russian_reports_the_bpmn_and_dmn_problems_and_warnings_at_the_same_places(tmp_path: Path) -> None:
    bundle = copy_bundle(tmp_path)
    (bundle / "processes" / "broken.bpmn").write_text(BROKEN, encoding="utf-8")
    (bundle / "processes" / "grading.dmn").write_text(DMN, encoding="utf-8")

    english, russian = run("check", str(bundle)), run("check", str(bundle), "--lang", "ru")

    assert english.exit_code == russian.exit_code == 1, russian.output
    assert "Traceback" not in russian.output
    in_english, in_russian = reported(english.output), reported(russian.output)
    assert sorted(in_russian) == sorted(in_english)  # the same files, lines and elements
    assert {"processes/broken.bpmn:8: [charge]", "processes/broken.bpmn:6: [archive]",
            "processes/broken.bpmn:14: [paid]", "processes/grading.dmn:5: [grading]",
            "processes/grading.dmn:11: [grading]"} <= set(in_russian)
    assert in_english["processes/broken.bpmn:8: [charge]"] == [  # the warning, then the problem
        "camunda:asyncBefore='true' on bpmn:serviceTask is ignored: asynchronous continuation is not executed here",
        "bpmn:serviceTask is not supported: camunda:class='com.acme.Charge' (a Java class) cannot run here; add to "
        'processes/bindings.yaml under `bindings:` the entry "com.acme.Charge": {topic: <topic>} (or {send_email: '
        "{template: <template>, to: <record field>}}, {set: {<field>: <value>}} or {compute: {<field>: "
        "<expression>}})",
    ]
    assert in_russian["processes/broken.bpmn:8: [charge]"] == [
        "camunda:asyncBefore='true' на bpmn:serviceTask пропускается: асинхронное продолжение здесь не выполняется",
        "bpmn:serviceTask не поддерживается: camunda:class='com.acme.Charge' (Java-класс) здесь не выполняется; "
        'добавьте в processes/bindings.yaml в раздел `bindings:` запись "com.acme.Charge": {topic: <topic>} (или '
        "{send_email: {template: <template>, to: <record field>}}, {set: {<field>: <value>}} или {compute: {<field>: "
        "<expression>}})",
    ]
    assert in_russian["processes/broken.bpmn:6: [archive]"] == [
        "bpmn:dataStoreReference пропускается: хранилище данных здесь не выполняется"]
    assert in_russian["processes/grading.dmn:5: [grading]"] == [
        "aggregation 'SUM' требует hitPolicy COLLECT и одно из: SUM, MIN, MAX, COUNT"]
    assert in_russian["processes/grading.dmn:11: [grading]"][0].startswith(
        "правило 1 (grading_big), вход 1 'Amount': ячейку '> > 1000' нельзя вычислить: не унарные проверки FEEL, "
        "которые читает этот движок: ожидалось")
