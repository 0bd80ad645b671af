"""Check the actions of rules, pipeline stages and final actions (docs/rules.md, "Actions")."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.config.automation import ACTION_KINDS, TERRITORY_ENTITY, Action
from engine.config.checking import CODE, Checker, Say
from engine.config.expressions import duration_problem, expression_problems
from engine.config.model import Entity
from engine.config.yaml_lines import LineList, LineMap, plain
from engine.errors import ValidationError
from engine.records.schema import validate_record

USERNAME = re.compile(r"[a-z0-9_.-]{2,80}")
_PROCESS_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_TASK_KEYS = ("title", "assignee", "candidate_groups", "due")
_EMAIL_KEYS = ("template", "to")
_CREATE_KEYS = ("entity", "set", "compute", "link")


@dataclass(frozen=True)
class ActionScope:
    """Where actions are written: their file and element, the record's entity and the names expressions see."""

    file: str
    element: str
    entity: Entity
    names: frozenset[str]


def load_actions(
    checker: Checker, scope: ActionScope, items: Any, line: int, key: str, *, shaped: bool = False
) -> tuple[Action, ...]:
    """The actions of a YAML list, every problem reported; `key` names the list in messages. `shaped`: the file's
    schema checked the list and the one-key shape of its items (and reported what was wrong): such items are left
    out here."""
    say = checker.sayer(scope.file, scope.element)
    if items is None:
        return ()
    if not isinstance(items, LineList):
        if not shaped:
            say(line, f"{key} must be a list of actions like [{{set: {{field: value}}}}]")
        return ()
    actions: list[Action] = []
    for index, item in enumerate(items):
        at = items.line_at(index)
        if not isinstance(item, LineMap) or len(item) != 1 or (kind := next(iter(item))) not in ACTION_KINDS:
            if shaped:
                continue
            single = isinstance(item, LineMap) and len(item) == 1
            what = f"unknown action {next(iter(item))!r}" if single else "an action is a mapping with one key"
            say(at, f"{what}; actions: {', '.join(ACTION_KINDS)}")
            continue
        _CHECKS[kind](checker, scope, say, at, item[kind])
        actions.append(Action(kind, plain(item[kind]), scope.file, at))
    return tuple(actions)


def _mapping(say: Say, line: int, kind: str, args: Any, keys: tuple[str, ...]) -> LineMap:
    if not isinstance(args, LineMap):
        say(line, f"{kind} needs a mapping with keys: {', '.join(keys)}")
        return LineMap(line)
    for key in (key for key in args if key not in keys):
        say(args.line_of(key), f"{kind}: unknown key '{key}'; expected: {', '.join(keys)}")
    return args


def _check_set(checker: Checker, entity: Entity, say: Say, line: int, args: Any, kind: str = "set") -> None:
    if not isinstance(args, LineMap) or not args:
        say(line, f"{kind} needs a mapping of field: value")
        return
    values = {
        name: value
        for name, value in plain(args).items()
        if name not in entity.fields or entity.fields[name].catalog in (None, *checker.catalogs)
    }
    try:
        validate_record(entity, checker.bundle(), values, partial=True)
    except ValidationError as error:
        for name, messages in error.errors.items():
            say(args.line_of(name), f"{kind}: {name} {', '.join(messages)}")


def _check_compute(
    checker: Checker, scope: ActionScope, say: Say, line: int, args: Any, target: Entity | None = None
) -> None:
    entity = target or scope.entity
    if not isinstance(args, LineMap) or not args:
        say(line, 'compute needs a mapping of field: "expression"')
        return
    for name, expression in args.items():
        at = args.line_of(name)
        if name not in entity.fields:
            say(at, f"compute: {name} is not a field of {entity.name}")
        for problem in expression_problems(expression, scope.names):
            say(at, f"compute {name} {expression!r}: {problem}")


def _check_start_process(checker: Checker, scope: ActionScope, say: Say, line: int, args: Any) -> None:
    if not isinstance(args, str) or not _PROCESS_ID.fullmatch(args):
        say(line, f"start_process needs a process id, not {args!r}")


def _check_create_task(checker: Checker, scope: ActionScope, say: Say, line: int, args: Any) -> None:
    task = _mapping(say, line, "create_task", args, _TASK_KEYS)
    title = task.get("title")
    if isinstance(title, dict):
        checker.label(say, task.line_of("title"), title)
    elif not isinstance(title, str) or not title.strip():
        say(task.line_of("title"), "create_task needs a title: text or {en: ..., ru: ...}")
    assignee, groups = task.get("assignee"), task.get("candidate_groups")
    if assignee is None and groups is None:
        say(line, "create_task needs an assignee (owner or a username) or candidate_groups")
    if assignee is not None and (not isinstance(assignee, str) or not USERNAME.fullmatch(assignee)):
        say(task.line_of("assignee"), f"assignee must be owner or a username, not {assignee!r}")
    if groups is not None and (
        not isinstance(groups, list) or not groups or not all(isinstance(g, str) and g.strip() for g in groups)
    ):
        say(task.line_of("candidate_groups"), "candidate_groups must be a non-empty list of group names")
    if "due" in task and (problem := duration_problem(task["due"])):
        say(task.line_of("due"), f"due: {problem}")


def _check_send_email(checker: Checker, scope: ActionScope, say: Say, line: int, args: Any) -> None:
    email = _mapping(say, line, "send_email", args, _EMAIL_KEYS)
    name = email.get("template")
    template = checker.templates.get(name) if isinstance(name, str) else None
    if template is None:
        known = ", ".join(sorted(checker.templates)) or "none"
        say(email.line_of("template"), f"unknown template {name!r}; known templates: {known}")
    else:
        missing = [
            f"templates/{name}.{locale}.txt" for locale in checker.settings.locales if locale not in template.bodies
        ]
        if missing:
            say(email.line_of("template"), f"template {name!r} is missing {', '.join(missing)}")
    to = email.get("to")
    field = scope.entity.fields.get(to) if isinstance(to, str) else None
    if field is None or field.type != "email":
        emails = [f.name for f in scope.entity.fields.values() if f.type == "email"]
        say(
            email.line_of("to"),
            f"to: {to!r} must be an email field of {scope.entity.name}; email fields: {', '.join(emails) or 'none'}",
        )


def _check_territory(checker: Checker, scope: ActionScope, say: Say, line: int, args: Any) -> None:
    if not isinstance(args, str) or not CODE.fullmatch(args):
        say(line, f"a territory action needs a territory code, not {args!r}")
    territory = checker.entities.get(TERRITORY_ENTITY)
    if territory is None:
        say(line, f"territory actions need an entity {TERRITORY_ENTITY} with fields code and manager")
        return
    if "code" not in territory.fields:
        say(line, f"entity {TERRITORY_ENTITY} needs a field code")
    manager = territory.fields.get("manager")
    if manager is None or manager.type != "user":
        say(line, f"entity {TERRITORY_ENTITY} needs a field manager of type user")


def _check_create_record(checker: Checker, scope: ActionScope, say: Say, line: int, args: Any) -> None:
    spec = _mapping(say, line, "create_record", args, _CREATE_KEYS)
    name = spec.get("entity")
    target = checker.entities.get(name) if isinstance(name, str) else None
    if target is None:
        if not isinstance(name, str) or name not in checker.unreadable:
            known = ", ".join(sorted(checker.entities))
            say(spec.line_of("entity"), f"create_record: unknown entity {name!r}; known entities: {known}")
        return
    if "set" in spec:
        _check_set(checker, target, say, spec.line_of("set"), spec["set"], "create_record set")
    if "compute" in spec:
        _check_compute(checker, scope, say, spec.line_of("compute"), spec["compute"], target)
    if spec.get("link", "origin") != "origin":
        say(spec.line_of("link"), f"create_record: link must be origin, not {spec['link']!r}")
    given = {*_keys(spec.get("set")), *_keys(spec.get("compute"))}
    missing = [f.name for f in target.fields.values() if f.required and f.default is None and f.name not in given]
    if missing:
        say(line, f"create_record of {target.name} must set its required fields: {', '.join(missing)}")


def _keys(value: Any) -> list[str]:
    return [str(key) for key in value] if isinstance(value, dict) else []


_CHECKS: dict[str, Callable[[Checker, ActionScope, Say, int, Any], None]] = {
    "set": lambda checker, scope, say, line, args: _check_set(checker, scope.entity, say, line, args),
    "compute": _check_compute,
    "start_process": _check_start_process,
    "create_task": _check_create_task,
    "send_email": _check_send_email,
    "join_territory": _check_territory,
    "leave_territory": _check_territory,
    "create_record": _check_create_record,
}
