"""Task data the serializer cannot store is refused where it is produced, naming the element and the variable."""

from __future__ import annotations

import pytest

from engine.errors import FlowError, ValidationError
from engine.processes.spiff import Runtime, parse_definitions
from engine.processes.spiff.savable import unsavable, unsavable_variable

SCRIPT_THEN_FORM = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="x">
  <bpmn:process id="keep" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="score_task" name="Compute score" scriptFormat="python">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>SCRIPT</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:userTask id="review" name="Review"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="score_task" />
    <bpmn:sequenceFlow id="f2" sourceRef="score_task" targetRef="review" />
    <bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""

KEEPS_EXCEPTION = """try:
    score = 1 / 0
except ZeroDivisionError as exc:
    err = exc"""


def blob(script: str) -> str:
    text = SCRIPT_THEN_FORM.replace("SCRIPT", script.replace("<", "&lt;"))
    return parse_definitions({"processes/keep.bpmn": text}, {})["keep"].blob


def test_a_script_that_keeps_an_exception_object_is_refused_naming_the_task_and_the_variable() -> None:
    with pytest.raises(FlowError) as caught:
        Runtime.start(1, blob(KEEPS_EXCEPTION), {})
    assert str(caught.value) == (
        'script task "Compute score" (score_task) left variable "err" of type ZeroDivisionError, which cannot be saved'
    )


def test_a_value_nested_in_a_list_is_named_with_its_path() -> None:
    with pytest.raises(FlowError, match=r'left variable "found" holding a ellipsis at found\[1\]\[\'x\'\]'):
        Runtime.start(1, blob("found = [1, {'x': ...}]"), {})


def test_plain_values_dates_and_times_pass_and_the_instance_saves() -> None:
    runtime, _ = Runtime.start(1, blob("score = {'n': [1, 2.5, None, True], 'label': 'ok'}"), {})
    assert '"label": "ok"' in runtime.dump()


def test_a_form_submission_that_cannot_be_saved_is_a_validation_error_naming_the_field() -> None:
    runtime, _ = Runtime.start(1, blob("score = 1"), {})
    [task] = runtime.ready_user_tasks()
    with pytest.raises(ValidationError) as caught:
        runtime.complete(task.task_id, {"ok": 1, "bad": {"inner": object()}})
    assert caught.value.errors == {"bad": ["form field 'bad' holds a object at bad['inner'], which cannot be saved"]}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"a": 1, "b": [1, "x", None]}, None),
        ({"a": {(1, 2): 3}}, ("a[(1, 2)]", "tuple (as a key)")),
        ({"a": b"bytes"}, ("a", "bytes")),
    ],
)
def test_unsavable_finds_the_first_value_the_serializer_cannot_store(value: dict, expected: object) -> None:
    name, inner = next(iter(value.items()))
    assert unsavable(inner, name) == expected


def test_a_self_containing_value_stops_at_a_depth_limit() -> None:
    loop: list[object] = []
    loop.append(loop)
    assert unsavable_variable({"loop": loop}) is not None


MESSAGE_WAIT = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="x">
  <bpmn:message id="paid_message" name="paid" />
  <bpmn:process id="pay" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="wait_paid" name="Paid">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:messageEventDefinition messageRef="paid_message" />
    </bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait_paid" />
    <bpmn:sequenceFlow id="f2" sourceRef="wait_paid" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""


def test_a_message_payload_that_cannot_be_saved_is_refused_naming_the_field() -> None:
    spec = parse_definitions({"processes/pay.bpmn": MESSAGE_WAIT}, {})["pay"].blob
    runtime, _ = Runtime.start(1, spec, {})
    [wait] = runtime.pending_messages()
    with pytest.raises(ValidationError) as caught:
        runtime.deliver_message(wait.task_id, {"amount": 10, "receipt": b"%PDF"})
    assert caught.value.errors == {
        "receipt": ["message 'paid' payload field 'receipt' holds a bytes, which cannot be saved"]
    }
    assert runtime.pending_messages() == [wait]  # nothing was delivered


def test_plain_values_of_task_data_are_checked_without_a_call_each(monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.processes.spiff import savable

    calls: list[object] = []
    checked = savable.unsavable

    def counted(value: object, path: str = "", depth: int = 0) -> object:
        calls.append(path)
        return checked(value, path, depth)

    monkeypatch.setattr(savable, "unsavable", counted)
    record = {"title": "ACME", "budget": 5000, "rate": 0.5, "vip": False, "owner": None, "tags": ["a", "b"]}
    assert savable.unsavable_variable({"record": record, "record_id": 7, "status": "new"}) is None
    assert calls == ["record", "record['tags']"]  # the containers only: one call per value before (eleven)
    # what is refused is found as before, at any depth
    found = savable.unsavable_variable({"record": {**record, "tags": ["a", ("b", 1j)]}})
    assert found == "variable \"record\" holding a complex at record['tags'][1][1]"
    found = savable.unsavable_variable({"record": {"when": object()}})
    assert found == "variable \"record\" holding a object at record['when']"
