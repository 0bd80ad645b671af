"""Event subprocesses, folded into what SpiffWorkflow 3.2 runs: it starts an event subprocess beside the process
(a timer start) or on its own (message, signal, error) and never interrupts the process. Camunda's meaning is the
same as a boundary event on a subprocess holding the rest of the process, so that is what the tree becomes:

    start -> <process>_body (every other node of the process) -> end
    <process>_body + boundary event <start event id> (the event subprocess's trigger, interrupting or not)
        -> the event subprocess, now a plain embedded subprocess -> end

Ids of the process's own elements do not change; the trigger keeps the id of the event subprocess's start event.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.messages import Message

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
_STAY = {  # what stays at process level: not flow, or not movable into a subprocess
    "laneSet",
    "extensionElements",
    "documentation",
    "textAnnotation",
    "association",
    "group",
    "ioSpecification",
    "property",
    "dataStoreReference",
    "correlationSubscription",
}
_TRIGGERS = ("timer", "message", "signal", "error", "escalation", "conditional")
REFUSED = "bpmn.event_subprocess_refused"  # the message code, with `why` (a Message)

Report = Callable[[Any, Message], None]


def _local(node: Any) -> str:
    return str(node.tag).rsplit("}", 1)[-1]


def _bpmn(parent: Any, kind: str, line: int | None = None, **attributes: str) -> Any:
    """A new BPMN element under `parent`, reported at `line` (the element it stands for) in problems."""
    node = parent.makeelement(f"{{{BPMN_NS}}}{kind}", attributes)
    if line is not None:
        node.sourceline = line
    parent.append(node)
    return node


def _flow(process: Any, flow_id: str, source: str, target: str) -> None:
    _bpmn(process, "sequenceFlow", process.sourceline, id=flow_id, sourceRef=source, targetRef=target)


def _problem(process: Any, events: list[Any]) -> Message | None:
    """Why the event subprocesses of `process` cannot be folded (None when they can)."""
    if process.find(f"{{{BPMN_NS}}}laneSet") is not None:
        return Message("bpmn.why_lanes")
    for start in process.iterfind(f"{{{BPMN_NS}}}startEvent"):
        if any(_local(child).endswith("EventDefinition") for child in start):
            return Message("bpmn.why_waiting_start", start=repr(start.get("id")))
    for event in events:
        starts = event.findall(f"{{{BPMN_NS}}}startEvent")
        if not event.get("id") or any(not start.get("id") for start in starts):
            return Message("bpmn.why_no_id")
        if len(starts) != 1:
            return Message("bpmn.why_start_count", count=len(starts))
        kinds = [_local(c)[: -len("EventDefinition")] for c in starts[0] if _local(c).endswith("EventDefinition")]
        if len(kinds) != 1 or kinds[0] not in _TRIGGERS:
            started = " and ".join(kinds) or Message("bpmn.why_no_event")
            return Message("bpmn.why_trigger", started=started, triggers=", ".join(_TRIGGERS))
    return None


def fold_event_subprocesses(process: Any, error: Report, warn: Report) -> None:
    """Rewrite the event subprocesses of one bpmn:process into boundary events on a subprocess holding the rest."""
    events = [
        n
        for n in process
        if isinstance(n.tag, str) and _local(n) == "subProcess" and n.get("triggeredByEvent") == "true"
    ]
    if not events:
        return
    why = _problem(process, events)
    if why:
        for event in events:
            error(event, Message(REFUSED, why=why))
        return
    pid = process.get("id") or "process"
    body = _bpmn(process, "subProcess", process.sourceline, id=f"{pid}_body", name=process.get("name") or pid)
    for node in list(process):
        if isinstance(node.tag, str) and node is not body and node not in events and _local(node) not in _STAY:
            body.append(node)  # moves it
    _bpmn(process, "startEvent", process.sourceline, id=f"{pid}_start")
    _bpmn(process, "endEvent", process.sourceline, id=f"{pid}_end")
    _flow(process, f"{pid}_flow_in", f"{pid}_start", body.get("id"))
    _flow(process, f"{pid}_flow_out", body.get("id"), f"{pid}_end")
    for event in events:
        _fold(process, body.get("id"), event, warn)


def _fold(process: Any, body_id: str, event: Any, warn: Report) -> None:
    start = event.find(f"{{{BPMN_NS}}}startEvent")
    definition = next(c for c in start if _local(c).endswith("EventDefinition"))
    trigger_id, event_id = start.get("id"), event.get("id")
    interrupting = start.get("isInterrupting") != "false"
    if not interrupting:
        trigger = _local(definition)[: -len("EventDefinition")]
        warn(start, Message("bpmn.non_interrupting_once", event=repr(event_id), trigger=trigger))
    inner_id = f"{trigger_id}_started"
    for flow in event.iterfind(f"{{{BPMN_NS}}}sequenceFlow"):
        if flow.get("sourceRef") == trigger_id:
            flow.set("sourceRef", inner_id)
    start.set("id", inner_id)
    start.attrib.pop("isInterrupting", None)
    boundary = _bpmn(
        process,
        "boundaryEvent",
        start.sourceline,
        id=trigger_id,
        attachedToRef=body_id,
        cancelActivity="true" if interrupting else "false",
    )
    if start.get("name"):
        boundary.set("name", start.get("name"))
    boundary.append(definition)  # moves it: the inner start becomes a none start event
    del event.attrib["triggeredByEvent"]
    _bpmn(process, "endEvent", event.sourceline, id=f"{event_id}_end")
    _flow(process, f"{event_id}_flow_in", trigger_id, event_id)
    _flow(process, f"{event_id}_flow_out", event_id, f"{event_id}_end")
