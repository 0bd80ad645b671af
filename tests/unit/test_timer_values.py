"""A timer expression whose value is not ISO 8601 text of its kind: refused at check when constant, and a clean
FlowError naming the timer when it reads task data (SpiffWorkflow itself fails with an AttributeError)."""

from __future__ import annotations

from typing import Any

import pytest

from engine.errors import ConfigError, FlowError
from engine.processes.spiff import Runtime, parse_definitions

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="cool_off"/>
    <bpmn:intermediateCatchEvent id="cool_off" name="Cool off">
      <bpmn:timerEventDefinition><bpmn:KIND>EXPRESSION</bpmn:KIND></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="cool_off" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>"""
KINDS = ["timeDuration", "timeDate", "timeCycle"]


def blob(kind: str, expression: str) -> str:
    return parse_definitions({"processes/p.bpmn": BPMN.replace("KIND", kind).replace("EXPRESSION", expression)}, {})[
        "p"
    ].blob


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("value", [5, 1.5, None, ["PT1H"], "soon", "2026-01-01T00:00:00"])
def test_timer_expression_of_task_data_with_a_wrong_value_is_a_flow_error_naming_the_timer(
    kind: str, value: Any
) -> None:
    with pytest.raises(FlowError, match=rf"^timer cool_off: the value of bpmn:{kind} 'delay' ") as caught:
        Runtime.start(1, blob(kind, "delay"), {"delay": value})
    assert type(caught.value) is FlowError


@pytest.mark.parametrize(
    ("kind", "value"),
    [("timeDuration", '"PT1H"'), ("timeDate", '"2030-01-01T00:00:00+00:00"'), ("timeCycle", '"R2/PT1H"')],
)
def test_timer_expression_with_a_right_value_waits(kind: str, value: str) -> None:
    runtime, _ = Runtime.start(1, blob(kind, "delay"), {"delay": value.strip('"')})
    assert [t.element_id for t in runtime.pending_timers()] == ["cool_off"]


@pytest.mark.parametrize("kind", KINDS)
def test_constant_timer_expression_returning_an_int_is_refused_at_check_with_its_line(kind: str) -> None:
    with pytest.raises(ConfigError) as caught:
        blob(kind, "2 * 60")
    [problem] = caught.value.problems
    assert (problem.file, problem.line, problem.element) == ("processes/p.bpmn", 7, "cool_off")
    assert problem.message == f"bpmn:{kind}: must be ISO 8601 text, not int 120"
