"""The `timeline` section of an entity file: how its records appear on the timeline of the records they reference,
and the optional one-step `log` form shown on those records' cards (docs/cards.md)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.config.checking import Checker, Path_, Say, either, value_problems
from engine.config.model import Field, Label, LogForm, TimelineSource
from engine.config.yaml_lines import LineMap, plain
from engine.messages import Message
from engine.records.schema import check_field_values

TIMELINE_KEYS = ("kind_field", "at", "text", "log")
LOG_KEYS = ("label", "title", "set", "fields", "next_task")
TASK_KEYS = ("title", "due")
_TEXT_TYPES = ("string", "text")
_DATE_TYPES = ("date", "datetime")


def _field(say: Say, line: int | None, fields: Mapping[str, Field], key: str, value: Any,
           types: tuple[str, ...] | None) -> str | None:
    """A field name of the entity, of one of `types` when given; None (and a problem) otherwise."""
    if value is None:
        return None
    field = fields.get(value) if isinstance(value, str) else None
    if field is None:
        say(line, Message("config.timeline_field", key=key, value=repr(value), fields=", ".join(fields)))
        return None
    if types is not None and field.type not in types:
        say(line, Message("config.timeline_field_type", key=key, value=repr(value), types=either(types),
                          type=field.type))
        return None
    return field.name


def load_timeline(checker: Checker, path: str, entity: str, value: Any, fields: Mapping[str, Field],
                  bad: set[Path_] | None = None) -> TimelineSource | None:
    """The entity's timeline section, checked against the fields; its structure was checked by the entity's schema,
    whose bad paths in it are `bad`. Problems name the file, line and `Entity.timeline...` key."""
    bad = bad or set()
    if value is None or () in bad:
        return None
    say = checker.sayer(path, f"{entity}.timeline")
    if not any(f.type == "reference" for f in fields.values()):
        say(value.line, Message("config.timeline_no_reference", entity=entity))
    kind = _field(say, value.line_of("kind_field"), fields, "kind_field", value.get("kind_field"), ("enum",))
    at = _field(say, value.line_of("at"), fields, "at", value.get("at"), _DATE_TYPES)
    text = _field(say, value.line_of("text"), fields, "text", value.get("text"), None)
    log_bad = {where[1:] for where in bad if where[:1] == ("log",)}
    log = _log(checker, path, entity, value.get("log"), fields, log_bad) if "log" in value else None
    return TimelineSource(kind, at, text, log)


def _log(checker: Checker, path: str, entity: str, value: Any, fields: Mapping[str, Field],
         bad: set[Path_]) -> LogForm | None:
    say = checker.sayer(path, f"{entity}.timeline.log")
    if () in bad:
        return None
    count = len(checker.problems)
    label: Label = checker.label(say, value.line_of("label"), value.get("label"))
    title: Label = checker.label(say, value.line_of("title"), value.get("title"))
    preset = {} if ("set",) in bad else plain(value.get("set") or {})
    for name in (n for n in preset if n not in fields):
        say(value.line_of("set"), Message("config.timeline_set_field", name=repr(name), entity=entity))
    problems = check_field_values(fields, {k: v for k, v in preset.items() if k in fields}, checker.catalogs,
                                  checker.settings)
    for name, messages in problems.items():
        say(value.line_of("set"), Message("config.timeline_set_value", name=name, value=repr(preset[name]),
                                          problems=value_problems(messages, "; ")))
    asked = [] if any(where[:1] == ("fields",) for where in bad) else value.get("fields", [])
    for name in asked:
        _field(say, value.line_of("fields"), fields, "fields:", name, None)
    task = value.get("next_task")
    if any(where[:1] == ("next_task",) for where in bad) or not isinstance(task, LineMap):
        return None
    task_title = _field(say, task.line_of("title"), fields, "next_task.title", task.get("title"), _TEXT_TYPES)
    task_due = _field(say, task.line_of("due"), fields, "next_task.due", task.get("due"), _DATE_TYPES)
    if len(checker.problems) > count or bad or task_title is None or task_due is None:
        return None
    return LogForm(label, title, preset, tuple(str(n) for n in asked), task_title, task_due)
