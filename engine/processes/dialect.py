"""The Camunda 7 (and Activiti) dialect of a BPMN document, prepared before SpiffWorkflow parses it.

JUEL in conditions, multi-instance settings and timers is compiled to Python text the sandbox runs; timers as the
Modeler saves them are quoted; flows without an id get one; script resources are loaded from the bundle. What
nothing here executes is refused (an error) or listed (a warning), each naming the element and its line.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

from engine.errors import Problem
from engine.messages import Message
from engine.processes.bindings import BINDINGS_FILE, BOUND_LINE, EMAIL_TEMPLATE, EMAIL_TO, Binding, example
from engine.processes.camunda_timers import TimerValueError, timer_expression, with_offset
from engine.processes.event_subprocess import REFUSED as EVENT_SUBPROCESS_REFUSED
from engine.processes.event_subprocess import fold_event_subprocesses
from engine.processes.field_settings import COMPUTE_PREFIX, SET_PREFIX
from engine.processes.io_mapping import script_mapping
from engine.processes.juel import JuelError, compile_condition, compile_juel, is_juel

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
ACTIVITI_NS = "http://activiti.org/bpmn"
NS = {"bpmn": BPMN_NS, "camunda": CAMUNDA_NS}
PYTHON_SCRIPTS = {"python", "py", "text/x-python", "python3"}
EXPRESSION_ATTRIBUTES = ("assignee", "candidateUsers", "candidateGroups", "dueDate", "followUpDate")
THROW_EVENTS = ("intermediateThrowEvent", "endEvent")
# what each unsupported or ignored Camunda setting is, as a message code (engine/messages/bpmn.<locale>.yaml)
_IMPLEMENTATIONS = {
    "class": "bpmn.impl_class",
    "delegateExpression": "bpmn.impl_delegate_expression",
    "expression": "bpmn.impl_expression",
    "type": "bpmn.impl_type",
}
_IGNORED_ATTRIBUTES = {
    "priority": "bpmn.what_task_priority",
    "taskPriority": "bpmn.what_task_priority",
    "jobPriority": "bpmn.what_job_priority",
    "initiator": "bpmn.what_initiator",
    "asyncBefore": "bpmn.what_async",
    "asyncAfter": "bpmn.what_async",
    "followUpDate": "bpmn.what_follow_up_date",
    "resultVariable": "bpmn.what_result_variable",
    "failedJobRetryTimeCycle": "bpmn.what_job_retries",
    "candidateStarterGroups": "bpmn.what_starters",
    "candidateStarterUsers": "bpmn.what_starters",
    "errorCodeVariable": "bpmn.what_error_code_variable",
    "errorMessageVariable": "bpmn.what_error_message_variable",
}
_IGNORED_EXTENSIONS = {
    "executionListener": "bpmn.ext_execution_listener",
    "taskListener": "bpmn.ext_task_listener",
    "inputOutput": "bpmn.ext_input_output",
    "formData": "bpmn.ext_form_data",
    "in": "",  # call activity variable mappings: _call_mapping
    "out": "",
    "failedJobRetryTimeCycle": "bpmn.ext_job_retries",
}
_REFUSED = {"linkEventDefinition": "bpmn.link_refused", "compensateEventDefinition": "bpmn.compensation_refused"}
_MI_VARIABLES = re.compile(r"\b(nrOfInstances|nrOfCompletedInstances|nrOfActiveInstances|loopCounter)\b")
_IGNORED_ELEMENTS = {"dataStoreReference": "bpmn.what_data_store", "dataStore": "bpmn.what_data_store"}


def decision_ref_problem(ref: str) -> Message | None:
    """What is wrong with a businessRuleTask's camunda:decisionRef before the decisions are known, or None."""
    if not ref:
        return Message("bpmn.decision_ref_missing")
    if ref.startswith(("${", "#{")):
        return Message("bpmn.decision_ref_expression", ref=ref)
    return None


def alias_activiti(text: str) -> str:
    """Read the older `activiti` extension namespace as Camunda's (same attributes: assignee, formKey, ...)."""
    return text.replace(f'"{ACTIVITI_NS}"', f'"{CAMUNDA_NS}"').replace(f"'{ACTIVITI_NS}'", f"'{CAMUNDA_NS}'")


def _local(tag: Any) -> str:
    return str(tag).rsplit("}", 1)[-1]


def _add_properties(node: Any, values: dict[str, str]) -> None:
    """Append camunda:property entries to an element (creating its extensionElements/camunda:properties)."""
    extensions = node.find("./bpmn:extensionElements", NS)
    if extensions is None:
        extensions = node.makeelement(f"{{{BPMN_NS}}}extensionElements")
        node.insert(0, extensions)
    holder = extensions.find("./camunda:properties", NS)
    if holder is None:
        holder = extensions.makeelement(f"{{{CAMUNDA_NS}}}properties")
        extensions.append(holder)
    for name, value in values.items():
        entry = holder.makeelement(f"{{{CAMUNDA_NS}}}property")
        entry.set("name", name)
        entry.set("value", value)
        entry.sourceline = node.sourceline
        holder.append(entry)


def _owner(node: Any) -> str:
    """The id of the element a node belongs to (itself or its nearest ancestor with an id)."""
    while node is not None and not node.get("id"):
        node = node.getparent()
    return "" if node is None else str(node.get("id"))


class Dialect:
    """Prepares one BPMN tree in place; errors and warnings are appended to the given lists."""

    def __init__(
        self, path: str, zone: str, resources: dict[str, str], problems: list[Problem], warnings: list[Problem],
        bindings: dict[str, Binding] | None = None,
    ) -> None:
        self.path, self.zone, self.resources = path, zone, resources
        self.problems, self.warnings = problems, warnings
        self.bindings = bindings or {}

    def error(self, node: Any, message: Message) -> None:
        self.problems.append(Problem(self.path, node.sourceline, _owner(node), message))

    def warn(self, node: Any, message: Message) -> None:
        self.warnings.append(Problem(self.path, node.sourceline, _owner(node), message))

    def prepare(self, tree: Any) -> None:
        """Rewrite the Camunda dialect into what the engine runs; report what it cannot run."""
        self._flow_ids(tree)
        for process in tree.iterfind("bpmn:process", NS):
            fold_event_subprocesses(process, self.error, self.warn)
        for node in list(tree.iter()):
            if not isinstance(node.tag, str):
                continue
            kind = _local(node.tag)
            if node.tag == f"{{{BPMN_NS}}}conditionExpression" or (
                node.tag == f"{{{BPMN_NS}}}condition" and _local(node.getparent().tag) == "conditionalEventDefinition"
            ):
                self._condition(node)
            elif kind in ("message", "signal", "error", "escalation") and not node.get("id"):
                self.error(node, Message("bpmn.ref_without_id", kind=kind, name=repr(node.get("name"))))
            elif kind == "eventBasedGateway":
                self._gateway_timers(node)
            elif kind in ("subProcess", "transaction") and node.get("triggeredByEvent") == "true":
                if _local(node.getparent().tag) != "process":  # those of a process were folded or refused
                    self.error(node, Message(EVENT_SUBPROCESS_REFUSED, why=Message("bpmn.why_inside_subprocess")))
            elif node.tag.startswith(f"{{{BPMN_NS}}}") and node.get("isForCompensation") == "true":
                self.error(node, Message("bpmn.for_compensation", kind=kind,
                                         reason=Message(_REFUSED["compensateEventDefinition"])))
            elif kind == "callActivity" and is_juel(node.get("calledElement") or ""):
                self.error(node, Message("bpmn.called_element_expression", called=node.get("calledElement")))
            elif kind in ("timeDuration", "timeDate", "timeCycle"):
                self._timer(node, kind)
            elif kind in ("loopCardinality", "completionCondition"):
                self._loop_expression(node, kind)
            elif kind == "multiInstanceLoopCharacteristics":
                self._collection(node)
            elif kind == "standardLoopCharacteristics" and node.find("./bpmn:loopCondition", NS) is None:
                self.warn(node, Message("bpmn.standard_loop_ignored"))
                node.getparent().remove(node)  # as Camunda 7, which has no standard loops
            elif kind in ("serviceTask", "sendTask", "businessRuleTask"):
                self._implementation(node, kind)
            elif node.tag.startswith(f"{{{BPMN_NS}}}") and kind in _REFUSED:
                self._refused(node, kind)
            elif kind == "timerEventDefinition" and _local(node.getparent().tag) == "startEvent":
                self.warn(node.getparent(), Message("bpmn.timer_start_event"))
            elif kind == "signalEventDefinition" and _local(node.getparent().tag) in THROW_EVENTS:
                self.warn(node.getparent(), Message("bpmn.signal_throw_local", kind=_local(node.getparent().tag)))
            elif kind == "messageEventDefinition" and _local(node.getparent().tag) in THROW_EVENTS:
                self._message_throw(node)
            elif kind == "scriptTask":
                self._script(node)
            elif kind == "userTask":
                self._user_task(node)
            if node.getparent() is None and node is not tree:
                continue  # removed above (mapped input/output, form data)
            if node.tag.startswith(f"{{{CAMUNDA_NS}}}") and kind in _IGNORED_EXTENSIONS:
                self._ignored_extension(node, kind)
            elif node.tag.startswith(f"{{{BPMN_NS}}}") and kind in _IGNORED_ELEMENTS:
                self.warn(node, Message("bpmn.element_ignored", kind=kind, what=Message(_IGNORED_ELEMENTS[kind])))
            self._ignored_attributes(node, kind)

    def _flow_ids(self, tree: Any) -> None:
        """Give every sequence flow an id: SpiffWorkflow drops flows without one, ending the instance early."""
        taken = {n.get("id") for n in tree.iter() if isinstance(n.tag, str) and n.get("id")}
        for flow in tree.iter(f"{{{BPMN_NS}}}sequenceFlow"):
            if flow.get("id"):
                continue
            base = f"Flow_{flow.get('sourceRef') or 'x'}_{flow.get('targetRef') or 'x'}"
            name, number = base, 1
            while name in taken:
                number += 1
                name = f"{base}_{number}"
            taken.add(name)
            flow.set("id", name)
            self.warn(flow, Message("bpmn.flow_named", source=repr(flow.get("sourceRef")),
                                    target=repr(flow.get("targetRef")), name=name))

    def _juel_refused(self, node: Any, what: str, source: str, exc: JuelError) -> None:
        self.error(node, Message("bpmn.juel_refused", what=what, source=source, reason=exc.message))

    def _condition(self, node: Any) -> None:
        source = (node.text or "").strip()
        language = node.get("language")
        if language and language.lower() not in PYTHON_SCRIPTS:
            self.error(node, Message("bpmn.condition_language", language=language))
            return
        if node.get(f"{{{CAMUNDA_NS}}}resource"):
            self.error(node, Message("bpmn.condition_resource"))
            return
        if is_juel(source):
            try:
                node.text = compile_condition(source)
            except JuelError as exc:
                self._juel_refused(node, Message("bpmn.what_condition"), source, exc)

    def _juel_text(self, node: Any, what: str) -> None:
        source = (node.text or "").strip()
        if is_juel(source):
            try:
                node.text = compile_juel(source)
            except JuelError as exc:
                self._juel_refused(node, what, source, exc)

    def _loop_expression(self, node: Any, kind: str) -> None:
        source = (node.text or "").strip()
        found = _MI_VARIABLES.search(source) if is_juel(source) else None
        if found:
            self.error(node, Message("bpmn.multi_instance_variable", kind=kind, source=source, variable=found.group()))
        elif kind == "completionCondition" and is_juel(source):
            try:
                node.text = compile_condition(source)
            except JuelError as exc:
                self._juel_refused(node, f"bpmn:{kind}", source, exc)
        else:
            self._juel_text(node, f"bpmn:{kind}")

    def _timer(self, node: Any, kind: str) -> None:
        source = (node.text or "").strip()
        try:
            node.text = timer_expression(source, self.zone)
        except JuelError as exc:
            self._juel_refused(node, f"bpmn:{kind}", source, exc)
        except TimerValueError as exc:
            self.error(node, Message("bpmn.timer_refused", kind=kind, reason=exc.message))

    def _collection(self, node: Any) -> None:
        """camunda:collection names the list variable; `${items}` is the same name."""
        attribute = f"{{{CAMUNDA_NS}}}collection"
        value = (node.get(attribute) or "").strip()
        if not is_juel(value):
            return
        try:
            compiled = compile_juel(value)
        except JuelError as exc:
            self._juel_refused(node, "camunda:collection", value, exc)
            return
        if not compiled.isidentifier():
            self.error(node, Message("bpmn.collection_not_variable", value=value))
            return
        node.set(attribute, compiled)

    def _implementation(self, node: Any, kind: str) -> None:
        found = [(name, node.get(f"{{{CAMUNDA_NS}}}{name}")) for name in _IMPLEMENTATIONS]
        found = [(name, value) for name, value in found if value]
        connector = node.find("./bpmn:extensionElements/camunda:connector", NS)
        if connector is not None:
            connector_id = connector.findtext("./camunda:connectorId", "", NS).strip()
            found.append(("connector", connector_id or "?"))
        if kind == "businessRuleTask" and not found:  # whether the decision exists: spiff/decisions
            problem = decision_ref_problem((node.get(f"{{{CAMUNDA_NS}}}decisionRef") or "").strip())
            if problem:  # also on a task no flow reaches, which SpiffWorkflow does not parse
                self.error(node, problem)
            return
        if found and found[0] == ("type", "external") and len(found) == 1:
            self._external(node, kind)
            return
        if not found and kind == "sendTask":
            return  # a message it throws, as SpiffWorkflow runs it
        if not found:
            self.error(node, Message("bpmn.no_implementation", kind=kind, bindings=BINDINGS_FILE))
            return
        name, value = found[0]
        if value in self.bindings and len(found) == 1:
            self._bind(node, kind, name, self.bindings[value])
            return
        what = "connector" if name == "connector" else f"camunda:{name}"
        self.error(node, Message("bpmn.implementation_refused", kind=kind, what=what, value=value,
                                 description=Message(_IMPLEMENTATIONS.get(name, "bpmn.impl_connector")),
                                 hint=example(value)))

    def _bind(self, node: Any, kind: str, name: str, binding: Binding) -> None:
        """Rewrite a bound implementation (processes/bindings.yaml): an external task with the binding's topic,
        or a task the engine completes at once after running the bound actions (engine.services.instances)."""
        if kind != "serviceTask":
            self.error(node, Message("bpmn.binding_service_task_only", kind=kind, name=binding.name,
                                     file=BINDINGS_FILE, line=binding.line))
            return
        if name == "connector":
            extensions = node.find("./bpmn:extensionElements", NS)
            extensions.remove(extensions.find("./camunda:connector", NS))
        else:
            del node.attrib[f"{{{CAMUNDA_NS}}}{name}"]
        if binding.topic is not None:
            node.set(f"{{{CAMUNDA_NS}}}type", "external")
            node.set(f"{{{CAMUNDA_NS}}}topic", binding.topic)
            self._external(node, kind)
            return
        properties = {BOUND_LINE: str(binding.line)}
        properties.update({f"{SET_PREFIX}{field}": value for field, value in binding.set_fields.items()})
        properties.update({f"{COMPUTE_PREFIX}{field}": text for field, text in binding.compute_fields.items()})
        if binding.email is not None:
            properties[EMAIL_TEMPLATE], properties[EMAIL_TO] = binding.email
        _add_properties(node, properties)

    def _gateway_timers(self, node: Any) -> None:
        """SpiffWorkflow keeps one due time per event-based gateway: a second timer after it would fire at the
        first one's time."""
        targets = {
            f.get("targetRef")
            for f in node.getparent().iterfind("bpmn:sequenceFlow", NS)
            if f.get("sourceRef") == node.get("id")
        }
        timers = sorted(
            str(e.get("id"))
            for e in node.getparent().iterfind("bpmn:intermediateCatchEvent", NS)
            if e.get("id") in targets and e.find("bpmn:timerEventDefinition", NS) is not None
        )
        if len(timers) > 1:
            self.error(node, Message("bpmn.gateway_timers", count=len(timers), timers=", ".join(timers)))

    def _refused(self, node: Any, kind: str) -> None:
        self.error(node.getparent(), Message("bpmn.definition_refused", kind=kind,
                                             parent=_local(node.getparent().tag), reason=Message(_REFUSED[kind])))

    def _message_throw(self, node: Any) -> None:
        """A message throw event runs like a service task in Camunda 7; without an implementation it does
        nothing (a none event), so the definition goes rather than SpiffWorkflow sending an empty message."""
        event = node.getparent()
        found = [(name, node.get(f"{{{CAMUNDA_NS}}}{name}")) for name in _IMPLEMENTATIONS]
        found = [(name, value) for name, value in found if value]
        if found:
            name, value = found[0]
            self.error(event, Message("bpmn.message_throw_refused", kind=_local(event.tag), name=name, value=value,
                                      description=Message(_IMPLEMENTATIONS[name])))
            return
        event.remove(node)

    def _external(self, node: Any, kind: str) -> None:
        """An external task (docs/external-tasks.md): a worker fetches it by topic over /engine-rest."""
        if kind != "serviceTask":
            self.error(node, Message("bpmn.external_not_service_task", kind=kind))
        elif not (node.get(f"{{{CAMUNDA_NS}}}topic") or "").strip():
            self.error(node, Message("bpmn.external_needs_topic"))
        elif is_juel(node.get(f"{{{CAMUNDA_NS}}}topic") or ""):
            self.error(node, Message("bpmn.topic_expression", topic=node.get(f"{{{CAMUNDA_NS}}}topic")))
        priority = (node.get(f"{{{CAMUNDA_NS}}}taskPriority") or "").strip()
        if priority and not priority.lstrip("-").isdigit():
            self.error(node, Message("bpmn.external_priority", priority=priority))

    def _script(self, node: Any) -> None:
        language = node.get("scriptFormat") or "python"
        if language.lower() not in PYTHON_SCRIPTS:
            self.error(node, Message("bpmn.script_format", language=language))
            return
        resource = node.get(f"{{{CAMUNDA_NS}}}resource")
        if resource:
            self._script_resource(node, resource)
        io_node = node.find("./bpmn:extensionElements/camunda:inputOutput", NS)
        script = node.find("./bpmn:script", NS)
        if io_node is None or script is None:
            return
        before, after, refused = script_mapping(io_node)
        for param, reason in refused:
            self.warn(param, Message("bpmn.io_parameter_ignored", kind=_local(param.tag), name=repr(param.get("name")),
                                     reason=reason))
        script.text = "\n".join(part for part in (before, script.text or "", after) if part)
        io_node.getparent().remove(io_node)  # mapped: not listed as ignored

    def _script_resource(self, node: Any, resource: str) -> None:
        name = resource.split("://", 1)[-1].lstrip("/")
        folder = self.path.rsplit("/", 1)[0] if "/" in self.path else ""
        text = self.resources.get(f"{folder}/{name}" if folder else name, self.resources.get(name))
        if text is None:
            self.error(node, Message("bpmn.script_resource_missing", resource=resource,
                                     path=f"{folder + '/' if folder else ''}{name}", name=name))
            return
        script = node.find("./bpmn:script", NS)
        if script is None:
            script = node.makeelement(f"{{{BPMN_NS}}}script", {})
            node.append(script)
        script.text = text

    def _user_task(self, node: Any) -> None:
        for name in EXPRESSION_ATTRIBUTES:
            value = node.get(f"{{{CAMUNDA_NS}}}{name}")
            if not value:
                continue
            if is_juel(value):
                try:
                    compile_juel(value)
                except JuelError as exc:
                    self._juel_refused(node, f"camunda:{name}", value, exc)
            elif name in ("dueDate", "followUpDate") and value[:4].isdigit() and "T" in value:
                with contextlib.suppress(ValueError):  # reported with the element's other dueDate problems
                    node.set(f"{{{CAMUNDA_NS}}}{name}", with_offset(value, self.zone))

    def _ignored_extension(self, node: Any, kind: str) -> None:
        if kind in ("in", "out"):
            self._call_mapping(node, kind)
            return
        what = Message(_IGNORED_EXTENSIONS[kind])
        event = node.get("event")
        self.warn(node, Message("bpmn.listener_ignored", kind=kind, event=event, what=what) if event else
                  Message("bpmn.extension_ignored", kind=kind, what=what))
        if kind == "formData":  # SpiffWorkflow's form reader fails on some of it; flowcrm forms are JSON files
            node.getparent().remove(node)

    def _call_mapping(self, node: Any, kind: str) -> None:
        """A call activity passes every variable in and every variable back (SpiffWorkflow copies the data):
        `variables="all"` says just that; a mapping of single variables is not applied."""
        if node.get("variables") == "all" and not node.get("local"):
            return
        shown = " ".join(f"{name}={value!r}" for name, value in node.attrib.items())
        direction = Message("bpmn.call_receives_all" if kind == "in" else "bpmn.call_returns_all")
        self.warn(node, Message("bpmn.call_mapping_ignored", kind=kind, shown=shown, direction=direction))

    def _ignored_attributes(self, node: Any, kind: str) -> None:
        external = node.get(f"{{{CAMUNDA_NS}}}type") == "external"
        for name, what in _IGNORED_ATTRIBUTES.items():
            if external and name == "taskPriority":
                continue  # the external task's priority (fetchAndLock usePriority)
            value = node.get(f"{{{CAMUNDA_NS}}}{name}")
            if value and not (name.startswith("async") and value == "false"):
                self.warn(node, Message("bpmn.attribute_ignored", name=name, value=value, kind=kind,
                                        what=Message(what)))
