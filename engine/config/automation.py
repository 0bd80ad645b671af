"""Typed model of automation configuration: rules, pipelines, actions (see docs/rules.md)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from engine.config.model import Label

if TYPE_CHECKING:
    from engine.config.model import Bundle
    from engine.store.filter_spec import Condition

ACTION_KINDS: tuple[str, ...] = (
    "set", "compute", "start_process", "create_task", "send_email", "join_territory", "leave_territory",
    "create_record",
)
TRIGGER_KINDS: tuple[str, ...] = ("created", "changed", "linked_changed", "linked_created", "schedule")
AGGREGATES: tuple[str, ...] = ("count", "sum", "min", "max")
TERRITORY_ENTITY = "Territory"  # join_territory/leave_territory need this entity, with fields code and manager


@dataclass(frozen=True)
class Action:
    """One action: `kind` is one of ACTION_KINDS, `args` its YAML arguments as loaded (plain dicts/lists/str)."""

    kind: str
    args: Any
    file: str = ""
    line: int | None = None


@dataclass(frozen=True)
class Trigger:
    """When a rule is evaluated."""

    kind: str                                # one of TRIGGER_KINDS
    fields: tuple[str, ...] = ()             # changed / linked_changed: the fields that matter
    entity: str | None = None                # linked_*: the linked entity
    via: str | None = None                   # linked_*: its reference field pointing at the rule's record
    every: str | None = None                 # schedule: ISO 8601 duration
    line: int | None = None


@dataclass(frozen=True)
class Aggregate:
    """A `let:` name: count/sum/min/max over records of `of` whose reference field `via` points here."""

    name: str
    function: str                            # one of AGGREGATES
    of: str                                  # entity
    via: str                                 # reference field of `of`
    field: str | None = None                 # sum/min/max: the field aggregated (None for count)
    where: str | None = None                 # expression over the linked record's fields
    line: int | None = None
    filter: Condition | None = None          # `where:` written as a filter condition over the linked records


@dataclass(frozen=True)
class Rule:
    """when (triggers) + condition (over fields and aggregates) + actions."""

    name: str
    label: Label
    entity: str
    triggers: tuple[Trigger, ...]
    let: tuple[Aggregate, ...] = ()
    when: str | None = None
    actions: tuple[Action, ...] = ()
    otherwise: tuple[Action, ...] = ()       # YAML key `else`
    where: Condition | None = None           # a filter condition over the record (with `when`: both must hold)
    file: str = ""
    line: int | None = None

    def all_actions(self) -> tuple[Action, ...]:
        """Every action of the rule: `actions` then `else`."""
        return (*self.actions, *self.otherwise)


@dataclass(frozen=True)
class Stage:
    """A stage of a pipeline; entering it runs `on_enter`."""

    code: str
    label: Label
    final: bool = False
    on_enter: tuple[Action, ...] = ()
    line: int | None = None


@dataclass(frozen=True)
class FinalAction:
    """A way to close a request: fields it requires and actions it runs."""

    code: str
    label: Label
    requires: tuple[str, ...] = ()
    actions: tuple[Action, ...] = ()
    line: int | None = None
    file: str | None = None  # crm_model/final_actions/<code>.yaml when it is shared by pipelines


@dataclass(frozen=True)
class Pipeline:
    """A request type: its stages and final actions."""

    code: str
    label: Label
    entity: str
    type_field: str
    stage_field: str
    stages: tuple[Stage, ...]
    final_actions: tuple[FinalAction, ...] = ()
    file: str = ""
    line: int | None = None

    def stage(self, code: str) -> Stage | None:
        """The stage with this code."""
        return next((s for s in self.stages if s.code == code), None)

    def final_action(self, code: str) -> FinalAction | None:
        """The final action with this code."""
        return next((a for a in self.final_actions if a.code == code), None)

    def all_actions(self) -> tuple[Action, ...]:
        """Every action of the pipeline: stages' on_enter, then final actions', in document order."""
        staged = (action for stage in self.stages for action in stage.on_enter)
        closing = (action for final in self.final_actions for action in final.actions)
        return (*staged, *closing)

    def next_choices(self, current: str | None) -> tuple[str, ...]:
        """Codes offered from `current`: later non-final stages, then every final action."""
        codes = [s.code for s in self.stages]
        start = codes.index(current) + 1 if current in codes else 0
        later = [s.code for s in self.stages[start:] if not s.final]
        return (*later, *(a.code for a in self.final_actions))


@dataclass(frozen=True)
class Template:
    """An e-mail template per locale: `templates/<name>.<locale>.txt`, first line `Subject: ...`."""

    name: str
    bodies: Mapping[str, str] = field(default_factory=dict)  # locale -> Jinja2 source (whole file)


def automation_references(bundle: Bundle) -> list[tuple[str, str, int | None, str]]:
    """(kind, file, line, value) of each process id ("process") and territory code ("territory") actions name."""
    # The deploy step checks these against BPMN process ids and Territory records, which the loader cannot see.
    actions = [action for rule in bundle.rules.values() for action in rule.all_actions()]
    actions += [action for pipeline in bundle.pipelines.values() for action in pipeline.all_actions()]
    references: list[tuple[str, str, int | None, str]] = []
    for action in actions:
        if action.kind == "start_process" and isinstance(action.args, str):
            references.append(("process", action.file, action.line, action.args))
        if action.kind in ("join_territory", "leave_territory") and isinstance(action.args, str):
            references.append(("territory", action.file, action.line, action.args))
    return references
