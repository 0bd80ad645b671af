"""What the engine reads from BPMN XML beside SpiffWorkflow: Camunda task attributes, lanes, flowcrm properties."""

from __future__ import annotations

import ast
import re
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from engine.errors import FlowError, Problem, SandboxError
from engine.messages import Message
from engine.processes import sandbox
from engine.processes.bindings import BOUND_LINE
from engine.processes.field_settings import COMPUTE_PREFIX, SET_PREFIX, old_expression, old_set_warning
from engine.processes.juel import JuelError, compile_juel, is_juel
from engine.processes.juel_values import HELPERS

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
NS = {"bpmn": BPMN_NS, "camunda": CAMUNDA_NS}
_FLOW_NODES = {
    "userTask", "task", "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask", "businessRuleTask",
    "callActivity", "subProcess", "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent",
    "boundaryEvent", "exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway",
}
_SANDBOX_LINE = re.compile(r"^Line (\d+): ")
PROCESS_PROPERTIES = {"flowcrm.entity", "flowcrm.startOn"}
START_ON = {"create"}


@dataclass(frozen=True)
class ElementMeta:
    """A flow node as the engine sees it."""

    id: str
    kind: str
    name: str | None
    line: int | None
    form_key: str | None = None
    candidate_groups: tuple[str, ...] = ()
    candidate_users: tuple[str, ...] = ()
    assignee: str | None = None
    due_date: str | None = None
    lane: str | None = None
    decision_ref: str | None = None
    set_fields: dict[str, str] = field(default_factory=dict)  # set.<field>: literal text, typed by the field
    compute_fields: dict[str, str] = field(default_factory=dict)  # compute.<field>: a Python expression
    properties: dict[str, str] = field(default_factory=dict)  # every camunda:property, by name
    scripts: tuple[tuple[int | None, str, str], ...] = ()  # (line, source, "eval" | "exec")
    message: str | None = None  # the BPMN message a catch event or receive task waits for
    signal: str | None = None  # the BPMN signal a process's own start event catches (a signal starts the process)
    topic: str | None = None  # camunda:topic of an external service task (camunda:type="external")
    priority: int = 0  # camunda:taskPriority of an external task (a whole number; fetchAndLock usePriority)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, stored with the process version."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ElementMeta:
        """Inverse of to_dict."""
        data = dict(data)
        for key in ("candidate_groups", "candidate_users"):
            data[key] = tuple(data.get(key) or ())
        data["scripts"] = tuple(tuple(s) for s in data.get("scripts") or ())
        if "compute_fields" not in data:  # stored before set.<field> meant a literal: its values are expressions
            data["compute_fields"], data["set_fields"] = data.get("set_fields") or {}, {}
        return cls(**data)


def split_names(value: str | None) -> tuple[str, ...]:
    """Split a Camunda comma list."""
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


def resolve(value: str, data: dict[str, Any], where: str = "") -> Any:
    """The value of a Camunda attribute for one task: JUEL (`${owner}`, `Hi ${name}`) is evaluated over task
    data in the sandbox, other text is returned as is. A missing variable is an error, as in Camunda."""
    if not is_juel(value):
        return value
    try:
        return sandbox.evaluate(compile_juel(value), {**data, **HELPERS})
    except (JuelError, SandboxError) as exc:
        raise FlowError(f"{where}{value!r}: {exc}") from exc


def resolve_names(values: tuple[str, ...], data: dict[str, Any], where: str = "") -> list[str]:
    """Candidate users or groups: each entry may be JUEL giving a name, a comma list or a list of names."""
    names: list[str] = []
    for value in values:
        result = resolve(value, data, where)
        if isinstance(result, list | tuple | set):
            names.extend(str(v) for v in result if v is not None and str(v))
        elif result is not None:
            names.extend(split_names(str(result)))
    return names


def _local(tag: Any) -> str:
    return str(tag).rsplit("}", 1)[-1]


def _properties(node: Any) -> list[tuple[str, str, int | None]]:
    props = node.findall("./bpmn:extensionElements/camunda:properties/camunda:property", NS)
    return [(p.get("name") or "", p.get("value") or "", p.sourceline) for p in props]


def _check_expression(source: str, mode: str, path: str, line: int | None, element: str,
                      problems: list[Problem]) -> None:
    for message in sandbox.check(source, mode):
        where, at = _SANDBOX_LINE.match(message), line
        if where and line is not None:  # the source starts on the element's line
            at, message = line + int(where.group(1)) - 1, message[where.end():]
        problems.append(Problem(path, at, element, Message("bpmn.script_refused", reason=message)))


def _check_timer(kind: str, source: str, path: str, line: int | None, element: str,
                 problems: list[Problem]) -> None:
    """Report a constant timer value that cannot be scheduled (values read from task data are checked when run)."""
    from engine.processes.spiff import timer_value_problem  # late: spiff imports this module

    if sandbox.check(source, "eval"):
        return  # reported with the other scripts
    if any(isinstance(node, ast.Name) and node.id not in sandbox.BUILTIN_NAMES
           for node in ast.walk(ast.parse(source, mode="eval"))):
        return  # it reads task data or calls a helper: only the running timer can tell
    try:  # a constant, evaluated under the sandbox's CPU, memory and time limits like the running timer
        problem: str | None = timer_value_problem(kind, sandbox.evaluate(source, {}))
    except SandboxError as exc:
        problem = str(exc)  # the sandbox's own words
    if problem:
        problems.append(Problem(path, line, element, Message("bpmn.timer_refused", kind=kind, reason=problem)))


def _element(node: Any, path: str, lanes: dict[str, str], problems: list[Problem],
             warnings: list[Problem] | None = None) -> ElementMeta:
    kind = _local(node.tag)
    element_id = node.get("id") or ""

    def attr(name: str) -> str | None:
        value: str | None = node.get(f"{{{CAMUNDA_NS}}}{name}")
        return value

    set_fields: dict[str, str] = {}
    compute_fields: dict[str, str] = {}
    properties: dict[str, str] = {}
    scripts: list[tuple[int | None, str, str]] = []
    bound = BOUND_LINE in {name for name, _, _ in _properties(node)}  # its binding was read as set or compute
    for name, value, line in _properties(node):
        properties[name] = value
        prefix = next((p for p in (SET_PREFIX, COMPUTE_PREFIX) if name.startswith(p)), None)
        if prefix is None:
            continue
        fieldname = name.removeprefix(prefix)
        if not fieldname:
            problems.append(Problem(path, line, element_id, Message("bpmn.property_no_field", prefix=prefix)))
        if prefix == SET_PREFIX and (bound or not old_expression(value)):
            set_fields[fieldname] = value
            continue
        if prefix == SET_PREFIX and warnings is not None:
            warnings.append(Problem(path, line, element_id, old_set_warning(fieldname, value)))
        compute_fields[fieldname] = value
        scripts.append((line, value, "eval"))
    for script in node.findall("./bpmn:script", NS):
        scripts.append((script.sourceline, script.text or "", "exec"))
    for timer in node.findall("./bpmn:timerEventDefinition/*", NS):
        source = (timer.text or "").strip()
        _check_timer(_local(timer.tag), source, path, timer.sourceline, element_id, problems)
        scripts.append((timer.sourceline, source, "eval"))
    due_date = attr("dueDate")
    if due_date and not is_juel(due_date):
        from engine.processes.spiff import parse_duration  # late: spiff imports this module

        try:
            parse_duration(due_date, datetime.now(UTC))
        except ValueError as exc:
            problems.append(Problem(path, node.sourceline, element_id,
                                    Message("bpmn.due_date_refused", reason=exc.args[0])))
    return ElementMeta(
        id=element_id, kind=kind, name=node.get("name"), line=node.sourceline,
        form_key=attr("formKey"), candidate_groups=split_names(attr("candidateGroups")),
        candidate_users=split_names(attr("candidateUsers")), assignee=attr("assignee"), due_date=due_date,
        lane=lanes.get(element_id), decision_ref=attr("decisionRef"), set_fields=set_fields,
        compute_fields=compute_fields,
        properties=properties,
        scripts=tuple(scripts),
        topic=attr("topic") if attr("type") == "external" else None,
        priority=int(priority) if (priority := (attr("taskPriority") or "").strip()).lstrip("-").isdigit() else 0,
    )


def read_process_meta(tree: Any, path: str, problems: list[Problem],
                      warnings: list[Problem] | None = None) -> dict[str, dict[str, Any]]:
    """Read every process of one BPMN document; problems (and warnings) are appended, never raised."""
    result: dict[str, dict[str, Any]] = {}
    for process in tree.findall("./bpmn:process", NS):
        process_id = process.get("id") or ""
        props = {}
        for name, value, line in _properties(process):
            if name.startswith("flowcrm.") and name not in PROCESS_PROPERTIES:
                known = ", ".join(sorted(PROCESS_PROPERTIES))
                problems.append(Problem(path, line, process_id,
                                        Message("bpmn.unknown_property", name=name, known=known)))
            props[name] = value
        start_on = props.get("flowcrm.startOn") or None
        if start_on and start_on not in START_ON:
            problems.append(Problem(path, process.sourceline, process_id, Message(
                "bpmn.start_on_unknown", value=start_on, known=", ".join(sorted(START_ON)))))
        if start_on and not props.get("flowcrm.entity"):
            problems.append(Problem(path, process.sourceline, process_id, Message("bpmn.start_on_needs_entity")))
        lanes = {ref.text.strip(): lane.get("name") or lane.get("id")
                 for lane in process.iter(f"{{{BPMN_NS}}}lane")
                 for ref in lane.findall("./bpmn:flowNodeRef", NS) if ref.text}
        elements: dict[str, ElementMeta] = {}
        for node in process.iter():
            if not isinstance(node.tag, str):
                continue
            kind = _local(node.tag)
            if kind in _FLOW_NODES and node.get("id"):
                elements[node.get("id")] = _element(node, path, lanes, problems, warnings)
            elif kind == "sequenceFlow":
                for cond in node.findall("./bpmn:conditionExpression", NS):
                    _check_expression((cond.text or "").strip(), "eval", path, cond.sourceline,
                                      node.get("id") or "", problems)
        waits, starts = message_waits(process, tree), signal_starts(process, tree)
        elements = {k: replace(v, message=waits[k]) if k in waits else v for k, v in elements.items()}
        elements = {k: replace(v, signal=starts[k]) if k in starts else v for k, v in elements.items()}
        for meta in elements.values():
            for line, source, mode in meta.scripts:
                _check_expression(source, mode, path, line, meta.id, problems)
        result[process_id] = {
            "executable": process.get("isExecutable", "true") == "true",
            "name": process.get("name") or process_id,
            "line": process.sourceline,
            "entity": props.get("flowcrm.entity") or None,
            "start_on": start_on,
            "elements": elements,
        }
    return result


def _declared(tree: Any, kind: str) -> dict[str, str]:
    """Id -> name of each `bpmn:message` / `bpmn:signal` of a document (its id when it has no name)."""
    return {m.get("id"): m.get("name") or m.get("id") for m in tree.iter(f"{{{BPMN_NS}}}{kind}")}


def signal_starts(process: Any, tree: Any) -> dict[str, str]:
    """Element id -> signal name of each start event of `process` itself (not of its event subprocesses) that
    catches a signal: such a signal starts the process."""
    names = _declared(tree, "signal")
    found: dict[str, str] = {}
    for node in process.findall("./bpmn:startEvent", NS):
        definition = node.find("./bpmn:signalEventDefinition", NS)
        if definition is not None and definition.get("signalRef") in names and node.get("id"):
            found[node.get("id")] = names[definition.get("signalRef")]
    return found


def message_waits(scope: Any, tree: Any) -> dict[str, str]:
    """Element id -> message name of each message catch event, receive task and message start event under
    `scope`."""
    names = _declared(tree, "message")
    found: dict[str, str] = {}
    for node in scope.iter(f"{{{BPMN_NS}}}intermediateCatchEvent", f"{{{BPMN_NS}}}boundaryEvent",
                           f"{{{BPMN_NS}}}receiveTask", f"{{{BPMN_NS}}}startEvent"):
        ref = node.get("messageRef")
        if ref is None:
            definition = node.find("./bpmn:messageEventDefinition", NS)
            ref = definition.get("messageRef") if definition is not None else None
        if ref in names and node.get("id"):
            found[node.get("id")] = names[ref]
    return found
