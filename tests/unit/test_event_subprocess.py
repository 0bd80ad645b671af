"""Event subprocesses are folded into a subprocess holding the rest of the process with a boundary event per
trigger (engine/processes/event_subprocess.py); what cannot be folded is refused naming the event subprocess."""

from __future__ import annotations

from tests.unit.test_dialect import prepare

EVENT = (
    '<bpmn:subProcess id="{id}" triggeredByEvent="true"><bpmn:startEvent id="{id}_go" isInterrupting="false">'
    '<bpmn:messageEventDefinition id="{id}_m" /></bpmn:startEvent></bpmn:subProcess>'
)
MAIN = '<bpmn:startEvent id="s" /><bpmn:sequenceFlow id="f" sourceRef="s" targetRef="e" /><bpmn:endEvent id="e" />'


def test_the_rest_of_the_process_moves_into_a_subprocess_that_the_trigger_is_attached_to() -> None:
    tree, problems, warnings = prepare(MAIN + EVENT.format(id="ask"))

    assert problems == []
    body = tree.find(".//{*}subProcess[@id='p_body']")
    assert [n.get("id") for n in body] == ["s", "f", "e"]
    trigger = tree.find(".//{*}boundaryEvent[@id='ask_go']")
    assert (trigger.get("attachedToRef"), trigger.get("cancelActivity")) == ("p_body", "false")
    assert tree.find(".//{*}subProcess[@id='ask']").get("triggeredByEvent") is None
    assert [(w.element, w.message.split(":")[0]) for w in warnings] == [
        ("ask_go", "the non-interrupting event subprocess 'ask' starts once here")
    ]


def test_an_event_subprocess_inside_a_subprocess_is_refused_naming_it() -> None:
    _, problems, _ = prepare(MAIN + '<bpmn:subProcess id="outer">' + EVENT.format(id="inner") + "</bpmn:subProcess>")

    assert [(p.element, p.message.split(": draw")[0]) for p in problems] == [
        ("inner", 'bpmn:subProcess triggeredByEvent="true" (an event subprocess) cannot run here inside a subprocess')
    ]


def test_an_event_subprocess_in_a_process_with_lanes_is_refused_saying_why() -> None:
    lanes = '<bpmn:laneSet id="ls"><bpmn:lane id="l"><bpmn:flowNodeRef>s</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>'

    _, problems, _ = prepare(lanes + MAIN + EVENT.format(id="ask"))

    assert [(p.element, p.message.split(": draw")[0]) for p in problems] == [
        (
            "ask",
            'bpmn:subProcess triggeredByEvent="true" (an event subprocess) cannot run here in a process with lanes '
            "(the lanes would lose their tasks)",
        )
    ]
