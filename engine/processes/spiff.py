"""The only module that imports SpiffWorkflow: parsing, the sandboxed script engine, runtime, serialization."""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar
from uuid import UUID

from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from SpiffWorkflow.bpmn.parser.event_parsers import ReceiveTaskParser
from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import TaskDataEnvironment
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.defaults import ReceiveTask
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.camunda.parser.event_parsers import CamundaEventDefinitionParser
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
from SpiffWorkflow.exceptions import SpiffWorkflowException, WorkflowException
from SpiffWorkflow.util.task import TaskState

from engine.errors import ConflictError, FlowError, NotFound, Problem, SandboxError
from engine.processes import sandbox
from engine.processes.calendar import working_hours
from engine.processes.definitions import ElementMeta, read_decision_problems, read_process_meta

_REGISTRY = BpmnWorkflowSerializer.configure(CAMUNDA_CONFIG)
_SERIALIZER = BpmnWorkflowSerializer(_REGISTRY)
SERIALIZER_VERSION: str = _SERIALIZER.VERSION
_VALIDATOR: BpmnValidator | None = None
_VALIDATOR_LOCK = threading.Lock()


EXPRESSION_GLOBALS: dict[str, Any] = {"working_hours": working_hours}  # timer and condition expressions


class SandboxEnvironment(TaskDataEnvironment):  # type: ignore[misc]
    """Routes every script, condition, timer expression and DMN cell through the restricted sandbox."""

    def evaluate(self, expression: str, context: dict[str, Any], external_context: Any = None) -> Any:
        names = dict(context)
        names.update(external_context or {})
        names.update(EXPRESSION_GLOBALS)  # last: a task-data key cannot shadow a helper
        return sandbox.evaluate(expression, names)

    def execute(self, script: str, context: dict[str, Any], external_context: Any = None) -> bool:
        names = dict(context)
        names.update(external_context or {})
        before = set(names)
        sandbox.execute(script, names)
        for key in before - set(names):
            context.pop(key, None)
        context.update({k: v for k, v in names.items() if k not in (external_context or {})})
        return True


SCRIPT_ENGINE = PythonScriptEngine(environment=SandboxEnvironment())


class _CamundaReceiveTaskParser(CamundaEventDefinitionParser, ReceiveTaskParser):  # type: ignore[misc]
    """A receive task with Camunda's message definition, the one the Camunda serializer can store."""


class _Parser(CamundaParser):  # type: ignore[misc]
    """The Camunda parser, with receive tasks parsed like its message catch events."""

    OVERRIDE_PARSER_CLASSES: ClassVar[dict[str, Any]] = {**CamundaParser.OVERRIDE_PARSER_CLASSES,
                                                         full_tag("receiveTask"): (_CamundaReceiveTaskParser,
                                                                                   ReceiveTask)}


def _validator() -> BpmnValidator:
    global _VALIDATOR
    with _VALIDATOR_LOCK:
        if _VALIDATOR is None:
            _VALIDATOR = BpmnValidator()
        return _VALIDATOR


@dataclass(frozen=True)
class ProcessDefinition:
    """A parsed, executable process and what the engine reads beside SpiffWorkflow."""

    process_id: str
    name: str
    file: str
    line: int | None
    entity: str | None
    start_on: str | None
    elements: dict[str, ElementMeta]
    blob: str  # JSON: serialized spec, subprocess specs and element metadata

    def user_tasks(self) -> list[ElementMeta]:
        """Metadata of the user tasks, in document order."""
        return [e for e in self.elements.values() if e.kind == "userTask"]


_NAMESPACE = re.compile(r"\{https?://www\.omg\.org/spec/(BPMN|DMN)/[^}]*\}")


def _locate(tree: Any, line: int | None, element: str | None) -> tuple[int | None, str | None]:
    """Fill in the line of an element id, or the id of the element a line is in (its nearest with an id)."""
    if tree is None or (line and element) or not (line or element):
        return line, element
    if element:
        found = next((n for n in tree.iter() if n.get("id") == element), None)
        return (found.sourceline if found is not None else None), element
    node = None
    for candidate in tree.iter():
        if (candidate.sourceline or 0) > (line or 0):
            break
        node = candidate
    while node is not None and not node.get("id"):
        node = node.getparent()
    return line, None if node is None else node.get("id")


def _syntax_problem(path: str, text: str, exc: Any) -> Problem:
    """A not well-formed file, with the element the error is in when a forgiving parse can tell."""
    from lxml import etree

    try:
        recovered = etree.fromstring(text.encode(), etree.XMLParser(recover=True))
    except etree.XMLSyntaxError:
        recovered = None
    _, element = _locate(recovered, exc.lineno, None)
    return Problem(path, exc.lineno, element, f"not well-formed XML: {exc.msg}")


def _problem_from(exc: ValidationException | SpiffWorkflowException, file: str, tree: Any = None) -> Problem:
    line = getattr(exc, "line_number", None)
    element = getattr(exc, "id", None) or None
    message = "; ".join([str(exc.args[0] if exc.args else type(exc).__name__), *getattr(exc, "notes", [])])
    message = _NAMESPACE.sub(lambda m: m.group(1).lower() + ":", message.split(". Error is:")[0])
    line, element = _locate(tree, int(line) if line else None, element)
    return Problem(getattr(exc, "file_name", None) or file, line, element, message)


def parse_definitions(bpmn: dict[str, str], dmn: dict[str, str]) -> dict[str, ProcessDefinition]:
    """Parse BPMN and DMN texts into executable definitions; every problem becomes a ConfigError entry."""
    from lxml import etree

    from engine.errors import ConfigError

    problems: list[Problem] = []
    parser = _Parser(validator=_validator())
    metas: dict[str, tuple[str, dict[str, Any]]] = {}
    trees: dict[str, Any] = {}
    for path, text in sorted(dmn.items()):
        try:
            tree = trees[path] = etree.fromstring(text.encode())
        except etree.XMLSyntaxError as exc:
            problems.append(_syntax_problem(path, text, exc))
            continue
        found = read_decision_problems(tree, path)
        problems.extend(found)
        decision = tree.find("{*}decision")
        if found or decision is None:
            continue
        if decision.get("id") in parser.dmn_parsers:
            other = parser.dmn_parsers[decision.get("id")].filename
            problems.append(Problem(path, decision.sourceline, decision.get("id"), f"decision id already in {other}"))
            continue
        try:
            parser.add_dmn_xml(tree, filename=path)
            parser.dmn_parsers[decision.get("id")].parse()  # now, not when a process first uses it
        except (ValidationException, SpiffWorkflowException) as exc:
            problems.append(_problem_from(exc, path, tree))
        except Exception as exc:  # SpiffWorkflow reports some DMN mistakes as AttributeError or KeyError
            problems.append(Problem(path, decision.sourceline, decision.get("id"),
                                    f"cannot read the decision table: {exc!r}"))
    for path, text in sorted(bpmn.items()):
        try:
            tree = trees[path] = etree.fromstring(text.encode())
        except etree.XMLSyntaxError as exc:
            problems.append(_syntax_problem(path, text, exc))
            continue
        try:
            parser.add_bpmn_xml(tree, filename=path)
        except (ValidationException, SpiffWorkflowException) as exc:
            problems.append(_problem_from(exc, path, tree))
            continue
        for process_id, meta in read_process_meta(tree, path, problems).items():
            metas[process_id] = (path, meta)
    definitions: dict[str, ProcessDefinition] = {}
    if not problems:
        for process_id, (path, meta) in metas.items():
            if not meta["executable"]:
                continue
            try:
                spec = parser.get_spec(process_id)
                subs = parser.get_subprocess_specs(process_id)
                blob = json.dumps({
                    "spec": _REGISTRY.convert(spec),
                    "subprocess_specs": {k: _REGISTRY.convert(v) for k, v in subs.items()},
                    "elements": {k: v.to_dict() for k, v in _with_called(meta, subs, metas).items()},
                }, sort_keys=True)
            except (ValidationException, SpiffWorkflowException) as exc:
                problems.append(_problem_from(exc, path, trees.get(getattr(exc, "file_name", None) or path)))
                continue
            except Exception as exc:  # a library bug must read as a problem of this process, not a traceback
                problems.append(Problem(path, meta["line"], process_id, f"cannot build the process: {exc!r}"))
                continue
            definitions[process_id] = ProcessDefinition(
                process_id=process_id, name=meta["name"], file=path, line=meta["line"],
                entity=meta["entity"], start_on=meta["start_on"], elements=meta["elements"], blob=blob)
    if problems:
        raise ConfigError(problems)
    return definitions


def _with_called(meta: dict[str, Any], subs: dict[str, Any], metas: dict[str, tuple[str, dict[str, Any]]],
                 ) -> dict[str, ElementMeta]:
    """A process's elements plus those of the processes its call activities run (their user tasks need their
    form keys, candidate groups and set.* properties too); the caller's own elements win a clash of ids."""
    elements: dict[str, ElementMeta] = {}
    for called in subs:
        if called in metas:
            elements.update(metas[called][1]["elements"])
    elements.update(meta["elements"])
    return elements


class _SpecCache:
    """Parsed spec blobs by version id: a blob is immutable once deployed."""

    def __init__(self, size: int = 64) -> None:
        self._items: OrderedDict[tuple[int, int], dict[str, Any]] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, version_id: int, blob: str) -> dict[str, Any]:
        key = (version_id, hash(blob))  # one process may use several databases whose version ids overlap
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value: dict[str, Any] = json.loads(blob)
        value["elements"] = {k: ElementMeta.from_dict(v) for k, v in value["elements"].items()}
        with self._lock:
            self._items[key] = value
            if len(self._items) > self._size:
                self._items.popitem(last=False)
        return value


_SPECS = _SpecCache()


@dataclass
class Step:
    """One flow node an instance completed."""

    task_id: str
    element_id: str
    element_name: str | None
    element_type: str
    manual: bool
    data: dict[str, Any]


@dataclass
class ReadyTask:
    """A user task waiting for a person."""

    task_id: str
    element_id: str
    title: str
    lane: str | None
    data: dict[str, Any]
    meta: ElementMeta | None


@dataclass
class PendingTimer:
    """A timer catch event an instance waits on."""

    task_id: str
    element_id: str
    due_at: datetime


@dataclass
class PendingMessage:
    """A message catch event or receive task an instance waits on."""

    task_id: str
    element_id: str
    message: str


@dataclass
class Runtime:
    """One live workflow; not thread safe: the caller holds the instance row for the transaction."""

    workflow: Any
    elements: dict[str, ElementMeta]
    _completed: set[UUID] = field(default_factory=set)

    @classmethod
    def start(cls, version_id: int, blob: str, data: dict[str, Any]) -> tuple[Runtime, list[Step]]:
        """Create an instance, put `data` on its start task and run it to its first wait state."""
        parts = _SPECS.get(version_id, blob)
        spec = _REGISTRY.restore(json.loads(json.dumps(parts["spec"])))
        subs = {k: _REGISTRY.restore(json.loads(json.dumps(v))) for k, v in parts["subprocess_specs"].items()}
        workflow = BpmnWorkflow(spec, subs, script_engine=SCRIPT_ENGINE)
        runtime = cls(workflow, parts["elements"])
        start = workflow.get_tasks(state=TaskState.READY)[0]
        start.data.update(data)
        return runtime, runtime.run_engine()

    @classmethod
    def load(cls, version_id: int, blob: str, state_json: str) -> Runtime:
        """Restore an instance saved by `dump`."""
        parts = _SPECS.get(version_id, blob)
        dct = json.loads(state_json)
        dct["spec"] = json.loads(json.dumps(parts["spec"]))
        dct["subprocess_specs"] = json.loads(json.dumps(parts["subprocess_specs"]))
        _SERIALIZER.migrate(dct)
        workflow = _SERIALIZER.from_dict(dct)
        workflow.script_engine = SCRIPT_ENGINE  # subprocesses (call activities) read the top workflow's
        runtime = cls(workflow, parts["elements"])
        runtime._completed = {t.id for t in runtime._all_tasks() if t.state == TaskState.COMPLETED}
        return runtime

    def dump(self) -> str:
        """Serialize the instance state without its spec (stored once per version)."""
        _REGISTRY._encoder_mode = True
        try:
            dct = _SERIALIZER.to_dict(self.workflow)
        finally:
            _REGISTRY._encoder_mode = False
        dct.pop("spec", None)
        dct.pop("subprocess_specs", None)
        dct[_SERIALIZER.VERSION_KEY] = SERIALIZER_VERSION
        return json.dumps(dct, cls=_SERIALIZER._encoder_cls)

    def _all_tasks(self) -> list[Any]:
        tasks = list(self.workflow.tasks.values())
        for sub in self.workflow.subprocesses.values():
            tasks.extend(sub.tasks.values())
        return tasks

    def run_engine(self) -> list[Step]:
        """Run automatic steps until the instance waits; return the steps completed since the last call."""
        try:
            self.workflow.do_engine_steps()
        except SandboxError:
            raise
        except WorkflowException as exc:
            cause = exc.__cause__ or exc.__context__
            if isinstance(cause, SandboxError):
                raise SandboxError(f"{exc.task_spec.bpmn_id if exc.task_spec else ''}: {cause}") from exc
            raise FlowError(f"the process failed: {exc}") from exc
        return self._new_steps()

    def _new_steps(self) -> list[Step]:
        done = [t for t in self._all_tasks() if t.state == TaskState.COMPLETED and t.id not in self._completed]
        done.sort(key=lambda t: t.last_state_change)
        steps: list[Step] = []
        for task in done:
            self._completed.add(task.id)
            spec = task.task_spec
            bpmn_id = getattr(spec, "bpmn_id", None)
            if bpmn_id is None:  # Start/End/EndJoin bookkeeping specs
                continue
            steps.append(Step(str(task.id), bpmn_id, getattr(spec, "bpmn_name", None),
                              type(spec).__name__, bool(spec.manual), dict(task.data)))
        return steps

    def ready_user_tasks(self) -> list[ReadyTask]:
        """User tasks waiting for a person."""
        ready = []
        for task in self.workflow.get_tasks(state=TaskState.READY, manual=True):
            spec = task.task_spec
            meta = self.elements.get(spec.bpmn_id)
            ready.append(ReadyTask(str(task.id), spec.bpmn_id, spec.bpmn_name or spec.bpmn_id,
                                   spec.lane, dict(task.data), meta))
        return ready

    def set_task_data(self, task_id: str, data: dict[str, Any]) -> None:
        """Merge values into a ready task's data (e.g. the freshest record)."""
        self._ready_task(task_id).data.update(data)

    def complete(self, task_id: str, data: dict[str, Any]) -> list[Step]:
        """Complete a ready user task with submitted data and run on."""
        task = self._ready_task(task_id)
        task.data.update(data)
        try:
            task.run()
        except WorkflowException as exc:
            raise FlowError(f"the task failed: {exc}") from exc
        return self.run_engine()

    def _ready_task(self, task_id: str) -> Any:
        try:
            task = self.workflow.get_task_from_id(UUID(task_id))
        except (ValueError, KeyError) as exc:
            raise NotFound(f"task {task_id} not found in this instance") from exc
        if task is None:
            raise NotFound(f"task {task_id} not found in this instance")
        if task.state != TaskState.READY or not task.task_spec.manual:
            raise ConflictError(f"task {task_id} is no longer waiting (state {TaskState.get_name(task.state)})")
        return task

    def pending_timers(self) -> list[PendingTimer]:
        """Timer events the instance waits on, with their due times."""
        timers = []
        for task in self._all_tasks():
            if task.state != TaskState.WAITING:
                continue
            definition = getattr(task.task_spec, "event_definition", None)
            if not isinstance(definition, TimerEventDefinition):
                continue
            value = task._get_internal_data("event_value")
            if isinstance(value, dict):
                value = value.get("next")
            if not value:
                continue
            due = TimerEventDefinition.get_datetime(value)
            due = due if due.tzinfo else due.replace(tzinfo=UTC)
            timers.append(PendingTimer(str(task.id), task.task_spec.bpmn_id, due.astimezone(UTC)))
        return timers

    def active_elements(self) -> list[str]:
        """Elements of the top process the instance is at: waiting user tasks and events, and call activities
        whose called process runs (the diagram shows the call activity, not the called process's tasks)."""
        active = {TaskState.READY, TaskState.STARTED, TaskState.WAITING}
        return sorted({t.task_spec.bpmn_id for t in self.workflow.tasks.values()
                       if t.state in active and getattr(t.task_spec, "bpmn_id", None)})

    def fire_timers(self) -> list[Step]:
        """Wake timers that are due by the wall clock and run on."""
        self.workflow.refresh_timers()
        return self.run_engine()

    def pending_messages(self) -> list[PendingMessage]:
        """Message catch events and receive tasks the instance waits on."""
        waits = []
        for task in self._all_tasks():
            definition = getattr(task.task_spec, "event_definition", None)
            if task.state == TaskState.WAITING and isinstance(definition, MessageEventDefinition):
                waits.append(PendingMessage(str(task.id), task.task_spec.bpmn_id, definition.name))
        return waits

    def deliver_message(self, task_id: str, payload: dict[str, Any]) -> list[Step]:
        """Deliver a message to the waiting task `task_id`, merge `payload` into its data and run on."""
        task = next((t for t in self._all_tasks() if str(t.id) == task_id), None)
        definition = getattr(task.task_spec, "event_definition", None) if task is not None else None
        if task is None or task.state != TaskState.WAITING or not isinstance(definition, MessageEventDefinition):
            raise ConflictError(f"task {task_id} no longer waits for a message")
        # definitions compare by exact class: build the one the parser produced (Camunda's wraps its payload)
        event_definition = type(definition)(definition.name)
        body: dict[str, Any] = dict(payload)
        if hasattr(definition, "result_var"):
            body = {"payload": dict(payload), "result_var": "message"}
        try:
            self.workflow.send_event(BpmnEvent(event_definition, payload=body))
        except WorkflowException as exc:
            raise ConflictError(f"the instance refused message {definition.name!r}: {exc}") from exc
        task.data.update(payload)
        return self.run_engine()

    def is_completed(self) -> bool:
        """True when the instance reached its end."""
        return bool(self.workflow.is_completed())

    def data(self) -> dict[str, Any]:
        """The instance's data at its end (or last completed task)."""
        return dict(self.workflow.data)


def timer_value_problem(kind: str, value: Any) -> str | None:
    """Why SpiffWorkflow could not schedule a timer (timeDuration, timeDate, timeCycle) with this value."""
    if not isinstance(value, str):
        return f"must be ISO 8601 text, not {type(value).__name__} {value!r}"
    try:
        if kind == "timeDuration":
            if not value.startswith("P") or not TimerEventDefinition.parse_iso_duration(value):
                raise ValueError(value)
        elif kind == "timeDate":
            if datetime.fromisoformat(value).tzinfo is None:
                return f"{value!r} has no UTC offset: it would be read in the server's local time"
        elif kind == "timeCycle":
            TimerEventDefinition.parse_iso_recurring_interval(value)
    except Exception:  # SpiffWorkflow's parsers raise bare Exception, ValueError, AttributeError...
        what = {"timeDuration": "duration (PT4H)", "timeDate": "datetime with offset", "timeCycle": "cycle (R3/PT1H)"}
        return f"{value!r} is not an ISO 8601 {what.get(kind, 'time')}"
    return None


def parse_duration(text: str, start: datetime) -> datetime:
    """Resolve an ISO 8601 duration (`PT4H`) from `start`, or an ISO datetime with offset, to a UTC datetime."""
    text = text.strip()
    try:
        if text.startswith("P"):
            parsed = TimerEventDefinition.parse_iso_duration(text)
            due: datetime = start + TimerEventDefinition.get_timedelta_from_start(parsed, start)
            return due
        moment = datetime.fromisoformat(text)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{text!r} is neither an ISO 8601 duration nor a datetime") from exc
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset")
    return moment.astimezone(UTC)


_DECISIONS: OrderedDict[tuple[int, str], Any] = OrderedDict()


def evaluate_decision(dmn_text: str, decision_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """Run one DMN decision table of a `.dmn` file over `data` (cells in the sandbox); {} when no rule matches.

    Decision specs are stored in a process blob only when a businessRuleTask refers to them, so callers pass the
    DMN text of the deployed configuration; its parsed table is cached by content."""
    from types import SimpleNamespace

    from lxml import etree

    key = (hash(dmn_text), decision_id)
    with _VALIDATOR_LOCK:
        engine = _DECISIONS.get(key)
    if engine is None:
        try:
            parser = CamundaParser()
            parser.add_dmn_xml(etree.fromstring(dmn_text.encode()), filename=decision_id)
            engine = parser.get_engine(decision_id, None)
        except Exception as exc:  # a broken or missing table is a configuration mistake of this decision
            raise FlowError(f"decision {decision_id!r} cannot be read: {exc}") from exc
        with _VALIDATOR_LOCK:
            _DECISIONS[key] = engine
            if len(_DECISIONS) > 64:
                _DECISIONS.popitem(last=False)
    task = SimpleNamespace(data=dict(data), workflow=SimpleNamespace(script_engine=SCRIPT_ENGINE))
    try:
        return dict(engine.result(task))
    except Exception as exc:  # SpiffWorkflow wraps sandbox refusals and bad cells in its own exceptions
        raise FlowError(f"decision {decision_id!r} failed: {exc}") from exc


__all__ = ["SERIALIZER_VERSION", "PendingMessage", "PendingTimer", "ProcessDefinition", "ReadyTask", "Runtime", "Step",
           "evaluate_decision", "parse_definitions", "parse_duration", "timer_value_problem"]
