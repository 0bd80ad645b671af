"""One live workflow: start, load, dump, complete, timers, messages."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.serializer.default.workflow import WorkflowConverter
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import ErrorEventDefinition, SignalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.util.task import TaskState

from engine.errors import ConflictError, FlowError, NotFound, SandboxError, ValidationError
from engine.messages import Message
from engine.processes.calendar import AROUND_THE_CLOCK, BusinessTime
from engine.processes.definitions import ElementMeta
from engine.processes.spiff.cache import CacheCounts, ParsedVersion, SpecCache, WorkflowCache
from engine.processes.spiff.engine import (
    _REGISTRY,
    _REGISTRY_MODE,
    _SERIALIZER,
    SERIALIZER_VERSION,
    ExternalTask,
    script_engine,
)
from engine.processes.spiff.savable import element_kind, unsavable, unsavable_variable

_SPECS = SpecCache()
_ITERATOR_DEPTH = 1000  # SpiffWorkflow's task iterators stop descending at this depth (TaskIterator max_depth)
_WORKFLOWS: WorkflowCache[Runtime] = WorkflowCache()


def cache_counts() -> dict[str, CacheCounts]:
    """Hits and misses so far of this process's caches: parsed specs (`specs`) and hot workflows (`workflows`)."""
    return {"specs": _SPECS.counts, "workflows": _WORKFLOWS.counts}


_WORKFLOW_CONVERTER: Any = _REGISTRY.convert_from_dict[_REGISTRY.typenames[BpmnWorkflow]].args[0].__self__


def _restore(dct: dict[str, Any], parsed: ParsedVersion) -> Any:
    """BpmnWorkflowConverter.from_dict (SpiffWorkflow 3.2) on the version's already restored specs, instead of
    restoring the spec again for every load."""
    workflow = BpmnWorkflow(parsed.spec, parsed.subprocess_specs, deserializing=True)
    workflow.tasks = _WORKFLOW_CONVERTER.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
    workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
    _WORKFLOW_CONVERTER.set_default_attributes(workflow, dct)
    _WORKFLOW_CONVERTER.subprocesses_from_dict(dct["subprocesses"], workflow)
    workflow.bpmn_events = _REGISTRY.restore(dct.pop("bpmn_events", []))
    return workflow


def _state_dict(workflow: Any) -> dict[str, Any]:
    """BpmnWorkflowConverter.to_dict (SpiffWorkflow 3.2) without converting the specs, which are stored once per
    version: converting them for every save only to drop them was a tenth of a step's serializer time."""
    dct: dict[str, Any] = WorkflowConverter.to_dict(_WORKFLOW_CONVERTER, workflow)
    dct["subprocesses"] = _WORKFLOW_CONVERTER.mapping_to_dict(workflow.subprocesses)
    dct["bpmn_events"] = _REGISTRY.convert(workflow.bpmn_events)
    dct["typename"] = _REGISTRY.typenames[BpmnWorkflow]
    return dct


def refuse_unsavable(data: dict[str, Any], what: str) -> None:
    """ValidationError naming each field of submitted data (a form, a message payload) that cannot be stored."""
    errors = {}
    for name, value in data.items():
        found = unsavable(value, str(name))
        if found is not None:
            where, type_name = found
            at = "" if where == name else f" at {where}"
            errors[str(name)] = [f"{what} field {name!r} holds a {type_name}{at}, which cannot be saved"]
    if errors:
        raise ValidationError(errors)


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
class ReadyExternalTask:
    """An external service task waiting for a worker (camunda:type="external")."""

    task_id: str
    element_id: str
    topic: str
    priority: int
    data: dict[str, Any]


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
class Waits:
    """What a workflow waits on, read in one walk of it for a step's rows: user and external tasks, timers and
    messages."""

    users: list[ReadyTask]
    external: list[ReadyExternalTask]
    timers: list[PendingTimer]
    messages: list[PendingMessage]


def _waits(task: Any) -> list[tuple[str, Any]]:
    """(element id, event definition) pairs a waiting task catches. An event-based gateway holds the definitions
    of the events after it (SpiffWorkflow moves them onto the gateway): each is named by its own catch event."""
    if task.state != TaskState.WAITING:
        return []
    definition = getattr(task.task_spec, "event_definition", None)
    if isinstance(definition, MultipleEventDefinition) and task.task_spec.outputs:
        pairs = zip(task.task_spec.outputs, definition.event_definitions, strict=False)
        return [(getattr(child, "bpmn_id", None) or child.name, each) for child, each in pairs]
    return [(task.task_spec.bpmn_id, definition)] if definition is not None else []


def _said(exc: WorkflowException) -> str:
    """SpiffWorkflow's message and notes, without the ". " its str() ends with when there are none."""
    return ". ".join([str(exc.args[0]) if exc.args else type(exc).__name__, *getattr(exc, "notes", [])])


def _in_element(spec: Any, detail: str) -> Message:
    """`script task Activity_1: …` from a task spec: the kind in words and the BPMN id, for error messages."""
    if spec is None:
        return Message("runtime.in_process", detail=detail)
    kind = re.sub(r"(?<!^)(?=[A-Z])", " ", type(spec).__name__).lower()
    return Message("runtime.in_element", kind=kind, element=getattr(spec, "bpmn_id", None) or spec.name, detail=detail)


@dataclass
class Runtime:
    """One live workflow; not thread safe: the caller holds the instance row for the transaction."""

    workflow: Any
    elements: dict[str, ElementMeta]
    _completed: set[UUID] = field(default_factory=set)
    # what the stored rows mirror: the user tasks that were ready, the timers awaited (task id -> due time) and
    # whether messages and external tasks were awaited when this workflow was last saved (nothing, for a new
    # instance)
    saved_ready: frozenset[str] = frozenset()
    saved_timers: dict[str, datetime] = field(default_factory=dict)
    saved_waits_messages: bool = False
    saved_external_tasks: bool = False

    @classmethod
    def start(cls, version_id: int, blob: str, data: dict[str, Any], *,
              time: BusinessTime = AROUND_THE_CLOCK) -> tuple[Runtime, list[Step]]:
        """Create an instance, put `data` on its start task and run it to its first wait state; its timers count
        in `time` (the calendar and clock of the caller's unit of work)."""
        parsed = _SPECS.get(version_id, blob)
        workflow = BpmnWorkflow(parsed.spec, parsed.subprocess_specs, script_engine=script_engine(time))
        runtime = cls(workflow, parsed.elements)
        start = runtime._ready()[0]
        start.data.update(data)
        return runtime, runtime.run_engine()

    @classmethod
    def load(cls, version_id: int, blob: str, state_json: str, *,
             time: BusinessTime = AROUND_THE_CLOCK) -> Runtime:
        """Restore an instance saved by `dump`; its timers count in `time`."""
        parsed = _SPECS.get(version_id, blob)
        dct = json.loads(state_json)
        if dct.get(_SERIALIZER.VERSION_KEY) == SERIALIZER_VERSION:
            dct.pop(_SERIALIZER.VERSION_KEY)
            workflow = _restore(dct, parsed)
        else:  # an older format: let SpiffWorkflow migrate it, with the spec it expects inline
            with _REGISTRY_MODE:  # a full conversion: no other thread's dump may switch the registry meanwhile
                dct["spec"] = _REGISTRY.convert(parsed.spec)
                dct["subprocess_specs"] = {k: _REGISTRY.convert(v) for k, v in parsed.subprocess_specs.items()}
            _SERIALIZER.migrate(dct)
            workflow = _SERIALIZER.from_dict(dct)
        workflow.script_engine = script_engine(time)  # subprocesses (call activities) read the top workflow's
        runtime = cls(workflow, parsed.elements)
        runtime._completed = {t.id for t in runtime._all_tasks() if t.state == TaskState.COMPLETED}
        runtime.mark_saved()
        return runtime

    def mark_saved(self) -> None:
        """Note the ready user tasks, timers, message waits and external tasks as what the stored rows mirror."""
        waits = self.waits()
        self.saved_as(frozenset(t.task_id for t in waits.users), {t.task_id: t.due_at for t in waits.timers},
                      bool(waits.messages), bool(waits.external))

    def waits(self) -> Waits:
        """Everything the workflow waits on, in two walks of it instead of one per kind."""
        return Waits(*self.ready_manual_tasks(), *self.pending_events())

    def saved_as(self, ready: frozenset[str], timers: dict[str, datetime], waits_messages: bool,
                 external_tasks: bool) -> None:
        """`mark_saved` from what the caller just computed of this state (ready user task ids, due time per
        awaited timer, whether a message or an external task is awaited)."""
        self.saved_ready, self.saved_timers = ready, timers
        self.saved_waits_messages, self.saved_external_tasks = waits_messages, external_tasks

    @classmethod
    def load_saved(cls, instance_id: int, revision: int, version_id: int, blob: str, state_json: str, *,
                   time: BusinessTime) -> Runtime:
        """The workflow of an instance as saved at `revision`: the cached live copy when this process saved exactly
        that state (the caller then owns it), otherwise restored from `state_json`. Either way its timers count in
        `time`, not in the calendar of the unit of work that saved it."""
        hot = _WORKFLOWS.take(instance_id, revision, state_json)
        if hot is None:
            return cls.load(version_id, blob, state_json, time=time)
        hot.workflow.script_engine = script_engine(time)
        return hot

    def keep(self, instance_id: int, revision: int, state_json: str) -> None:
        """Offer this workflow for the instance's next step, once `state_json` (its `dump`) is committed as
        `revision`; the caller must not use it afterwards."""
        _WORKFLOWS.keep(instance_id, revision, state_json, self)

    def dump(self) -> str:
        """Serialize the instance state without its spec (stored once per version)."""
        with _REGISTRY_MODE:
            _REGISTRY._encoder_mode = True
            try:
                dct = _state_dict(self.workflow)
            finally:
                _REGISTRY._encoder_mode = False
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
                raise SandboxError(_in_element(exc.task_spec, str(cause))) from exc
            raise FlowError(Message("runtime.process_failed", detail=_said(exc))) from exc
        steps = self._new_steps()
        self._check_savable(steps)
        return steps

    def _check_savable(self, steps: list[Step]) -> None:
        """Refuse data the serializer cannot store (an exception object a script kept, a date...) at the step
        that produced it, naming the variable, instead of a TypeError when the instance is saved."""
        for step in steps:
            problem = unsavable_variable(step.data)
            if problem:
                raise FlowError(f'{element_kind(step.element_type)} "{step.element_name or step.element_id}" '
                                f"({step.element_id}) left {problem}, which cannot be saved")
        live = {TaskState.READY, TaskState.STARTED, TaskState.WAITING}
        for task in self._all_tasks():
            bpmn_id = getattr(task.task_spec, "bpmn_id", None)
            problem = unsavable_variable(task.data) if task.state in live and bpmn_id else None
            if problem:
                name = getattr(task.task_spec, "bpmn_name", None) or bpmn_id
                raise FlowError(f'{element_kind(type(task.task_spec).__name__)} "{name}" ({bpmn_id}) holds '
                                f"{problem}, which cannot be saved")

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
        return self.ready_manual_tasks()[0]

    def ready_external_tasks(self) -> list[ReadyExternalTask]:
        """External service tasks waiting for a worker, with their topics."""
        return self.ready_manual_tasks()[1]

    def ready_manual_tasks(self) -> tuple[list[ReadyTask], list[ReadyExternalTask]]:
        """`ready_user_tasks` and `ready_external_tasks` from one walk of the workflow (a step needs both)."""
        users: list[ReadyTask] = []
        external: list[ReadyExternalTask] = []
        for task in self._ready(manual=True):
            spec = task.task_spec
            meta = self.elements.get(spec.bpmn_id)
            if not isinstance(spec, ExternalTask):
                users.append(ReadyTask(str(task.id), spec.bpmn_id, spec.bpmn_name or spec.bpmn_id,
                                       spec.lane, dict(task.data), meta))
            elif meta is not None and meta.topic:  # an external task: a worker takes it, not a person
                external.append(ReadyExternalTask(str(task.id), spec.bpmn_id, meta.topic, meta.priority,
                                                  dict(task.data)))
        return users, external

    def _ready(self, *, manual: bool | None = None) -> list[Any]:
        """`get_tasks(state=READY, manual=manual)`, cheaper: SpiffWorkflow's iterator walks the whole task tree depth
        first (a couple of hundred calls for a small process, at each step), while a scan of the task dicts finds the
        same tasks. Its order (tree order) matters only when several are ready: then the iterator gives it. The
        iterator stops at depth 1000, which a tree of fewer tasks cannot reach; a larger one is left to it too."""
        tasks = self._all_tasks()
        if len(tasks) < _ITERATOR_DEPTH:
            ready = [task for task in tasks if task.state == TaskState.READY
                     and (manual is None or task.task_spec.manual == manual)]
            if len(ready) <= 1:
                return ready
        in_order: list[Any] = self.workflow.get_tasks(state=TaskState.READY, manual=manual)
        return in_order

    def complete_external(self, task_id: str, data: dict[str, Any]) -> list[Step]:
        """Complete a waiting external task with the worker's variables and run on."""
        return self.complete(task_id, data, what="variables")

    def throw_error(self, task_id: str, code: str, data: dict[str, Any]) -> list[Step] | None:
        """Throw a BPMN error with `code` from a waiting external task to the error boundary event attached to it
        (one naming that code, or one catching every error) and run on; None when no boundary event catches it."""
        task = self._ready_task(task_id)
        refuse_unsavable(data, "variables")
        event = BpmnEvent(ErrorEventDefinition(code, code=code), payload=dict(data))
        catchers = [t for t in task.parent.children if t is not task and t.state == TaskState.WAITING
                    and isinstance(getattr(t.task_spec, "event_definition", None), ErrorEventDefinition)]
        named = [t for t in catchers if t.task_spec.event_definition.code == code]
        catcher = (named or [t for t in catchers if t.task_spec.event_definition.code is None] or [None])[0]
        if catcher is None:
            return None
        task.data.update(data)
        catcher.task_spec.catch(catcher, event)
        catcher.data.update(data)
        catcher.task_spec._update(catcher)
        return self.run_engine()

    def set_task_data(self, task_id: str, data: dict[str, Any]) -> None:
        """Merge values into a ready task's data (e.g. the freshest record)."""
        self._ready_task(task_id).data.update(data)

    def set_live_data(self, data: dict[str, Any]) -> int:
        """Merge values into the data of every ready, started or waiting task (the instance moved to another
        record); completed tasks keep what they saw. Returns how many tasks changed."""
        live = {TaskState.READY, TaskState.STARTED, TaskState.WAITING}
        changed = 0
        for task in self._all_tasks():
            if task.state in live and any(task.data.get(k) != v for k, v in data.items()):
                task.data.update(data)
                changed += 1
        return changed

    def complete(self, task_id: str, data: dict[str, Any], *, what: str = "form") -> list[Step]:
        """Complete a ready user (or external) task with submitted data and run on."""
        task = self._ready_task(task_id)
        refuse_unsavable(data, what)
        task.data.update(data)
        try:
            task.run()
        except WorkflowException as exc:
            raise FlowError(Message("runtime.task_failed", detail=_said(exc))) from exc
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
        return self.pending_events()[0]

    def pending_events(self) -> tuple[list[PendingTimer], list[PendingMessage]]:
        """`pending_timers` and `pending_messages` from one walk of the workflow (a step needs both)."""
        timers: list[PendingTimer] = []
        messages: list[PendingMessage] = []
        for task in self._all_tasks():
            for element_id, definition in _waits(task):
                if isinstance(definition, MessageEventDefinition):
                    messages.append(PendingMessage(str(task.id), element_id, definition.name))
                if not isinstance(definition, TimerEventDefinition):
                    continue
                value = task._get_internal_data("event_value")
                if isinstance(value, dict):
                    value = value.get("next")
                if not value:
                    continue
                due = TimerEventDefinition.get_datetime(value)
                due = due if due.tzinfo else due.replace(tzinfo=UTC)
                timers.append(PendingTimer(str(task.id), element_id, due.astimezone(UTC)))
        return timers, messages

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
        return self.pending_events()[1]

    def task_data(self, task_id: str) -> dict[str, Any]:
        """The data a task of this instance holds (a waiting message catch: what correlation keys compare)."""
        task = next((t for t in self._all_tasks() if str(t.id) == task_id), None)
        return {} if task is None else dict(task.data)

    def deliver_message(self, task_id: str, payload: dict[str, Any], message: str | None = None) -> list[Step]:
        """Deliver a message to the waiting task `task_id` (`message` names which one, for an event-based gateway
        waiting on several), merge `payload` into its data and run on."""
        task = next((t for t in self._all_tasks() if str(t.id) == task_id), None)
        definition = next((d for _, d in _waits(task) if isinstance(d, MessageEventDefinition)
                           and message in (None, d.name)), None) if task is not None else None
        if task is None or definition is None:
            raise ConflictError(f"task {task_id} no longer waits for a message")
        refuse_unsavable(payload, f"message {definition.name!r} payload")
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

    def send_signal(self, name: str, data: dict[str, Any]) -> list[Step] | None:
        """Throw signal `name` at this instance: every catch waiting for it takes `data` and fires; None when
        nothing here waits for it."""
        waiting = [t for t in self._all_tasks() if t.state == TaskState.WAITING
                   and isinstance(getattr(t.task_spec, "event_definition", None), SignalEventDefinition)
                   and t.task_spec.event_definition.name == name]
        if not waiting:
            return None
        refuse_unsavable(data, f"signal {name!r} variables")
        for task in waiting:
            task.data.update(data)
        definition = type(waiting[0].task_spec.event_definition)(name)  # the parser's class: events compare by it
        try:
            self.workflow.send_event(BpmnEvent(definition, payload=dict(data)))
        except WorkflowException as exc:
            raise ConflictError(f"the instance refused signal {name!r}: {exc}") from exc
        return self.run_engine()

    def is_completed(self) -> bool:
        """True when the instance reached its end."""
        return bool(self.workflow.is_completed())

    def data(self) -> dict[str, Any]:
        """The instance's data at its end (or last completed task)."""
        return dict(self.workflow.data)
