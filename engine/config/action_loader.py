"""Check the actions of rules, pipeline stages and final actions (docs/rules.md, "Actions")."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.config.automation import TERRITORY_ENTITY, Action
from engine.config.checking import Checker, Path_, Say, broken, names_or_none, value_problems
from engine.config.expressions import duration_problem, expression_problems
from engine.config.model import Entity
from engine.config.yaml_lines import LineList, LineMap, plain
from engine.errors import ValidationError
from engine.messages import Message
from engine.records.schema import validate_record

USERNAME = re.compile(r"[a-z0-9_.-]{2,80}")
PROCESS_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
TASK_KEYS = ("title", "assignee", "candidate_groups", "due")
EMAIL_KEYS = ("template", "to")
CREATE_KEYS = ("entity", "set", "compute", "link")


@dataclass(frozen=True)
class ActionScope:
    """Where actions are written: their file and element, the record's entity and the names expressions see."""

    file: str
    element: str
    entity: Entity
    names: frozenset[str]


def load_actions(checker: Checker, scope: ActionScope, items: Any, bad: set[Path_], where: Path_) -> tuple[Action, ...]:
    """The actions of a YAML list at path `where` of its file, whose schema (engine/config/automation_schemas.py)
    checked the list, each action's one key and its argument's shape and reported what was wrong (`bad`: the paths
    it found wrong): such actions are left out here. What remains is checked against the bundle: fields and their
    values, expressions, templates, entities."""
    say = checker.sayer(scope.file, scope.element)
    if not isinstance(items, LineList):
        return ()
    actions: list[Action] = []
    for index, item in enumerate(items):
        if broken(bad, *where, index):
            continue
        at, kind = items.line_at(index), next(iter(item))
        _CHECKS[kind](checker, scope, say, at, item[kind])
        actions.append(Action(kind, plain(item[kind]), scope.file, at))
    return tuple(actions)


def _check_set(checker: Checker, entity: Entity, say: Say, args: LineMap, kind: str = "set") -> None:
    values = {
        name: value
        for name, value in plain(args).items()
        if name not in entity.fields or entity.fields[name].catalog in (None, *checker.catalogs)
    }
    try:
        validate_record(entity, checker.bundle(), values, partial=True)
    except ValidationError as error:
        for name, messages in error.errors.items():
            problems = value_problems(messages, ", ")
            say(args.line_of(name), Message("config.set_invalid", kind=kind, name=name, problems=problems))


def _check_compute(
    checker: Checker, scope: ActionScope, say: Say, line: int, args: Any, target: Entity | None = None
) -> None:
    entity = target or scope.entity
    for name, expression in args.items():
        at = args.line_of(name)
        if name not in entity.fields:
            say(at, Message("config.compute_not_field", name=name, entity=entity.name))
        for problem in expression_problems(expression, scope.names):
            say(at, Message("config.compute_expression", name=name, expression=repr(expression), problem=problem))


def _check_create_task(checker: Checker, scope: ActionScope, say: Say, line: int, task: LineMap) -> None:
    if isinstance(task.get("title"), dict):
        checker.label(say, task.line_of("title"), task["title"])
    if "due" in task and (problem := duration_problem(task["due"])):
        say(task.line_of("due"), Message("config.due_invalid", problem=problem))


def _check_send_email(checker: Checker, scope: ActionScope, say: Say, line: int, email: LineMap) -> None:
    name = email.get("template")
    template = checker.templates.get(name) if isinstance(name, str) else None
    if template is None:
        known = names_or_none(sorted(checker.templates))
        say(email.line_of("template"), Message("config.template_unknown", name=repr(name), known=known))
    else:
        missing = [
            f"templates/{name}.{locale}.txt" for locale in checker.settings.locales if locale not in template.bodies
        ]
        if missing:
            files = ", ".join(missing)
            say(email.line_of("template"), Message("config.template_missing", name=repr(name), files=files))
    to = email.get("to")
    field = scope.entity.fields.get(to) if isinstance(to, str) else None
    if field is None or field.type != "email":
        emails = [f.name for f in scope.entity.fields.values() if f.type == "email"]
        say(email.line_of("to"), Message("config.email_to_field", to=repr(to), entity=scope.entity.name,
                                         fields=names_or_none(emails)))


def _check_territory(checker: Checker, scope: ActionScope, say: Say, line: int, args: Any) -> None:
    territory = checker.entities.get(TERRITORY_ENTITY)
    if territory is None:
        say(line, Message("config.territory_entity", entity=TERRITORY_ENTITY))
        return
    if "code" not in territory.fields:
        say(line, Message("config.territory_code", entity=TERRITORY_ENTITY))
    manager = territory.fields.get("manager")
    if manager is None or manager.type != "user":
        say(line, Message("config.territory_manager", entity=TERRITORY_ENTITY))


def _check_create_record(checker: Checker, scope: ActionScope, say: Say, line: int, spec: LineMap) -> None:
    name = spec.get("entity")
    target = checker.entities.get(name) if isinstance(name, str) else None
    if target is None:
        if not isinstance(name, str) or name not in checker.unreadable:
            known = ", ".join(sorted(checker.entities))
            say(spec.line_of("entity"), Message("config.create_record_entity", entity=repr(name), known=known))
        return
    if "set" in spec:
        _check_set(checker, target, say, spec["set"], "create_record set")
    if "compute" in spec:
        _check_compute(checker, scope, say, spec.line_of("compute"), spec["compute"], target)
    given = {*_keys(spec.get("set")), *_keys(spec.get("compute"))}
    missing = [f.name for f in target.fields.values() if f.required and f.default is None and f.name not in given]
    if missing:
        say(line, Message("config.create_record_required", entity=target.name, fields=", ".join(missing)))


def _keys(value: Any) -> list[str]:
    return [str(key) for key in value] if isinstance(value, dict) else []


_CHECKS: dict[str, Callable[[Checker, ActionScope, Say, int, Any], None]] = {
    "set": lambda checker, scope, say, line, args: _check_set(checker, scope.entity, say, args),
    "compute": _check_compute,
    "start_process": lambda checker, scope, say, line, args: None,  # the deploy step knows the processes
    "create_task": _check_create_task,
    "send_email": _check_send_email,
    "join_territory": _check_territory,
    "leave_territory": _check_territory,
    "create_record": _check_create_record,
}
