"""Check crm_model/imports.yaml: per entity, header aliases, how a row finds an existing record, what a match
does, and the actions run on every record an import creates."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from engine.config.action_loader import ActionScope, load_actions
from engine.config.automation import Action
from engine.config.checking import Checker, Say
from engine.config.yaml_lines import LineMap

IMPORTS_FILE = "crm_model/imports.yaml"
# update_empty: fill the record's empty fields, and a row disagreeing with a filled one goes to review instead;
# update (overwrite, its older name): take the file's values; skip: leave the record; review: the row becomes a
# record of its own with an open duplicate pair to the one it matched. No choice drops a value silently.
ON_MATCH = ("update_empty", "update", "overwrite", "skip", "review")
DATE_TYPES = ("date", "datetime")
OWNERS = ("importer", "none")
_KEYS = ("aliases", "match_on", "on_match", "actions", "start_processes", "owner", "date_formats")
_MATCHABLE = ("string", "email", "phone", "url", "integer", "user")


@dataclass(frozen=True)
class ImportSettings:
    """How files are imported into one entity (defaults apply to entities imports.yaml does not name)."""

    entity: str
    aliases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # field -> extra header words
    match_on: tuple[str, ...] = ()  # fields whose equal value makes a row the same record, tried in order
    on_match: str = "update_empty"  # one of ON_MATCH
    actions: tuple[Action, ...] = ()  # run on every created record
    start_processes: bool = True  # start the entity's start-on-create processes for created records
    owner: str = "importer"  # one of OWNERS: who owns created records
    line: int | None = None
    date_formats: Mapping[str, str] = field(default_factory=dict)  # date field -> strptime format of its cells


def date_format_problem(fmt: object) -> str | None:
    """Why `fmt` is not a usable strptime format of a date column (None when it is)."""
    from datetime import datetime

    if not isinstance(fmt, str) or "%" not in fmt:
        return f"{fmt!r} is not a date format like %Y%m%d or %d.%m.%Y"
    sample = datetime(2026, 3, 1, 13, 45, 30)
    try:
        datetime.strptime(sample.strftime(fmt), fmt)
    except ValueError:
        return f"{fmt!r} is not a date format like %Y%m%d or %d.%m.%Y (it cannot read its own output)"
    return None


def _date_formats(say: Say, spec: LineMap, fields: Mapping[str, object]) -> dict[str, str]:
    raw = spec.get("date_formats")
    if raw is None:
        return {}
    if not isinstance(raw, LineMap):
        say(spec.line_of("date_formats"), "date_formats must map a date field to a format, like birthday: '%Y%m%d'")
        return {}
    formats: dict[str, str] = {}
    for name, fmt in raw.items():
        if getattr(fields.get(name), "type", None) not in DATE_TYPES:
            say(raw.line_of(name), f"date_formats: {name!r} is not a date or datetime field")
        elif (problem := date_format_problem(fmt)) is not None:
            say(raw.line_of(name), f"date_formats: {name}: {problem}")
        else:
            formats[name] = str(fmt)
    return formats


def _aliases(say: Say, spec: LineMap, fields: Mapping[str, object]) -> dict[str, tuple[str, ...]]:
    raw = spec.get("aliases")
    if raw is None:
        return {}
    if not isinstance(raw, LineMap):
        say(spec.line_of("aliases"), "aliases must map a field to a list of header words, like phone: [tel, mobile]")
        return {}
    aliases: dict[str, tuple[str, ...]] = {}
    for name, words in raw.items():
        if name not in fields:
            say(raw.line_of(name), f"aliases: {name!r} is not a field; fields: {', '.join(fields)}")
        elif not isinstance(words, list) or not words or not all(isinstance(w, str) and w.strip() for w in words):
            say(raw.line_of(name), f"aliases: {name} must be a non-empty list of header words")
        else:
            aliases[name] = tuple(str(w) for w in words)
    return aliases


def _match_on(say: Say, spec: LineMap, fields: Mapping[str, object]) -> tuple[str, ...]:
    raw = spec.get("match_on", [])
    if not isinstance(raw, list) or not all(isinstance(name, str) for name in raw):
        say(spec.line_of("match_on"), "match_on must be a list of field names, like [email, phone]")
        return ()
    usable = [name for name in raw if name in fields and getattr(fields[name], "type", "") in _MATCHABLE]
    for name in (name for name in raw if name not in usable):
        say(spec.line_of("match_on"), f"match_on: {name!r} must be a field of type {', '.join(_MATCHABLE)}")
    return tuple(usable)


def _choice(say: Say, spec: LineMap, key: str, choices: tuple[str, ...]) -> str:
    value = spec.get(key, choices[0])
    if value not in choices:
        say(spec.line_of(key), f"{key} must be one of {', '.join(choices)}, not {value!r}")
        return choices[0]
    return str(value)


def _process_problems(checker: Checker, say: Say, entity: str, actions: tuple[Action, ...]) -> None:
    from engine.config.events_loader import _process_entities

    facts = _process_entities(checker)
    for action in actions:
        if action.kind != "start_process" or facts is None or not isinstance(action.args, str):
            continue
        if action.args not in facts:
            say(action.line, f"start_process: unknown process {action.args!r} (known: {', '.join(sorted(facts))})")
        elif facts[action.args] not in (None, entity) and facts[action.args] in checker.entities:
            say(action.line, f"start_process: {action.args} runs on {facts[action.args]}, not on {entity}")


def load_imports(checker: Checker) -> dict[str, ImportSettings]:
    """Check crm_model/imports.yaml against the entities; problems go to the checker."""
    data = checker.mapping(IMPORTS_FILE, ("entities",))
    if data is None:
        return {}
    specs = data.get("entities")
    if not isinstance(specs, LineMap) or not specs:
        checker.sayer(IMPORTS_FILE, None)(data.line_of("entities"),
                                          "entities must map an entity name to its import settings")
        return {}
    result: dict[str, ImportSettings] = {}
    for name, spec in specs.items():
        say, line = checker.sayer(IMPORTS_FILE, name), specs.line_of(name)
        entity = checker.entities.get(name)
        if entity is None:
            if name not in checker.unreadable:
                say(line, f"unknown entity {name!r}; known entities: {', '.join(sorted(checker.entities))}")
            continue
        if not isinstance(spec, LineMap):
            say(line, f"the import settings of {name} must be a mapping with keys: {', '.join(_KEYS)}")
            continue
        for key in (key for key in spec if key not in _KEYS):
            say(spec.line_of(key), f"unknown key '{key}'; expected: {', '.join(_KEYS)}")
        start = spec.get("start_processes", True)
        if not isinstance(start, bool):
            say(spec.line_of("start_processes"), "start_processes must be true or false")
        scope = ActionScope(IMPORTS_FILE, name, entity, frozenset(entity.fields))
        actions = load_actions(checker, scope, spec.get("actions"), spec.line_of("actions"), "actions")
        _process_problems(checker, say, name, actions)
        result[name] = ImportSettings(name, _aliases(say, spec, entity.fields), _match_on(say, spec, entity.fields),
                                      _choice(say, spec, "on_match", ON_MATCH), actions, start is not False,
                                      _choice(say, spec, "owner", OWNERS), line,
                                      _date_formats(say, spec, entity.fields))
    return result
