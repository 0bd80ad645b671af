"""Check crm_model/imports.yaml: per entity, header aliases, how a row finds an existing record, what a match
does, and the actions run on every record an import creates."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.config.action_loader import ActionScope, load_actions
from engine.config.automation import Action
from engine.config.checking import Checker, Path_, Say, broken
from engine.config.yaml_lines import LineMap
from engine.messages import Message

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


def date_format_problem(fmt: object) -> Message | None:
    """Why `fmt` is not a usable strptime format of a date column (None when it is)."""
    from datetime import datetime

    if not isinstance(fmt, str) or "%" not in fmt:
        return Message("config.import_date_format", format=repr(fmt))
    sample = datetime(2026, 3, 1, 13, 45, 30)
    try:
        datetime.strptime(sample.strftime(fmt), fmt)
    except ValueError:
        return Message("config.import_date_format_unreadable", format=repr(fmt))
    return None


def _date_formats(say: Say, spec: LineMap, fields: Mapping[str, object], bad: set[Path_]) -> dict[str, str]:
    raw = LineMap(spec.line) if ("date_formats",) in bad else spec.get("date_formats", LineMap(spec.line))
    formats: dict[str, str] = {}
    for name, fmt in raw.items():
        if getattr(fields.get(name), "type", None) not in DATE_TYPES:
            say(raw.line_of(name), Message("config.import_date_field", field=repr(name)))
        elif ("date_formats", name) in bad:
            continue
        elif (problem := date_format_problem(fmt)) is not None:
            say(raw.line_of(name), Message("config.import_date_format_of", field=name, problem=problem))
        else:
            formats[name] = str(fmt)
    return formats


def _aliases(say: Say, spec: LineMap, fields: Mapping[str, object], bad: set[Path_]) -> dict[str, tuple[str, ...]]:
    raw = LineMap(spec.line) if ("aliases",) in bad else spec.get("aliases", LineMap(spec.line))
    aliases: dict[str, tuple[str, ...]] = {}
    for name, words in raw.items():
        if name not in fields:
            say(raw.line_of(name), Message("config.import_alias_field", field=repr(name), fields=", ".join(fields)))
        elif not any(where[:2] == ("aliases", name) for where in bad):
            aliases[name] = tuple(str(w) for w in words)
    return aliases


def _match_on(say: Say, spec: LineMap, fields: Mapping[str, object], bad: set[Path_]) -> tuple[str, ...]:
    raw = [] if broken(bad, "match_on") else spec.get("match_on", [])
    usable = [name for name in raw if name in fields and getattr(fields[name], "type", "") in _MATCHABLE]
    for name in (name for name in raw if name not in usable):
        say(spec.line_of("match_on"), Message("config.import_match_on", field=repr(name), types=", ".join(_MATCHABLE)))
    return tuple(usable)


def _process_problems(checker: Checker, say: Say, entity: str, actions: tuple[Action, ...]) -> None:
    from engine.config.events_loader import _process_entities

    facts = _process_entities(checker)
    for action in actions:
        if action.kind != "start_process" or facts is None or not isinstance(action.args, str):
            continue
        if action.args not in facts:
            say(action.line, Message("config.import_process_unknown", process=repr(action.args),
                                     known=", ".join(sorted(facts))))
        elif facts[action.args] not in (None, entity) and facts[action.args] in checker.entities:
            say(action.line, Message("config.import_process_entity", process=action.args,
                                     runs_on=facts[action.args], entity=entity))


def _entity_element(data: Any, where: list[Any]) -> str | None:
    """The element an imports.yaml problem names: the entity, else none."""
    return str(where[1]) if len(where) > 1 and where[0] == "entities" else None


def load_imports(checker: Checker) -> dict[str, ImportSettings]:
    """Check crm_model/imports.yaml: its structure by its schema, then against the entities and processes."""
    data, bad = checker.document(IMPORTS_FILE, _entity_element)
    if data is None or ("entities",) in bad:
        return {}
    specs = data.get("entities", {})
    result: dict[str, ImportSettings] = {}
    for name, spec in specs.items():
        say, line = checker.sayer(IMPORTS_FILE, name), specs.line_of(name)
        entity = checker.entities.get(name)
        if entity is None:
            if name not in checker.unreadable:
                known = ", ".join(sorted(checker.entities))
                say(line, Message("config.unknown_entity", entity=repr(name), known=known))
            continue
        mine = {where[2:] for where in bad if where[:2] == ("entities", name)}
        if () in mine:
            continue  # not a mapping: reported
        good = {key: spec[key] for key in spec if not any(where[:1] == (key,) for where in mine)}
        scope = ActionScope(IMPORTS_FILE, name, entity, frozenset(entity.fields))
        actions = load_actions(checker, scope, spec.get("actions"), bad, ("entities", name, "actions"))
        _process_problems(checker, say, name, actions)
        result[name] = ImportSettings(name, _aliases(say, spec, entity.fields, mine),
                                      _match_on(say, spec, entity.fields, mine), good.get("on_match", ON_MATCH[0]),
                                      actions, good.get("start_processes", True) is not False,
                                      good.get("owner", OWNERS[0]), line,
                                      _date_formats(say, spec, entity.fields, mine))
    return result
