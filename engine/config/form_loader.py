"""Check form files: forms/<key>.json (JSON Schema with x- extensions) and forms/<key>.ui.yaml (UI hints)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any

from jsonschema import Draft202012Validator

from engine.config.checking import Checker, names_or_none, stem, text_or_none
from engine.config.model import Entity, Form
from engine.config.yaml_lines import LineMap, plain
from engine.errors import Problem
from engine.input_limits import MAX_JSON_DEPTH, json_depth
from engine.messages import Message, sentence
from engine.records.schema import field_schema

UI_WIDGETS = ("text", "textarea", "select", "radio", "checkboxes", "date", "hidden")

Note = Callable[[str], None]


def json_key_line(text: str, key: str) -> int | None:
    """The line of the first `"key":` in a JSON text."""
    match = re.search('"' + re.escape(key) + r'"\s*:', text)
    return text.count("\n", 0, match.start()) + 1 if match else None


def _key_line_after(text: str, start: str | None, keys: tuple[str, ...]) -> int | None:
    """The line of the first of `keys` after the key `start` (from the top when None)."""
    begin = re.search('"' + re.escape(start) + r'"\s*:', text) if start else None
    offset = begin.end() if begin else 0
    found = [m.start() for key in keys if (m := re.compile('"' + re.escape(key) + r'"\s*:').search(text, offset))]
    return text.count("\n", 0, min(found)) + 1 if found else None


def _check_label(checker: Checker, path: str, name: str | None, node: dict[str, Any]) -> None:
    """`x-label` is a {locale: text} label as in YAML; the old `title`/`x-title` still load, with a warning."""
    text = checker.files[path]
    pointer = "#/properties/" + name.replace("~", "~0").replace("/", "~1") if name else "#"  # RFC 6901
    if "x-label" in node:
        say = checker.sayer(path, name)
        checker.label(say, _key_line_after(text, name, ("x-label",)), node["x-label"])
    old = [key for key in ("title", "x-title") if key in node]
    if not old:
        return
    written = " and ".join(f'"{key}"' for key in old)
    if "x-label" in node:
        advice = Message("config.form_label_ignored", pointer=pointer, written=written)
    else:
        title, others = node.get("title"), node.get("x-title")
        label = {"en": title if isinstance(title, str) else name or "", **(others if isinstance(others, dict) else {})}
        advice = Message("config.form_label_deprecated", pointer=pointer, written=written,
                         label=json.dumps(label, ensure_ascii=False))
    line = _key_line_after(text, name, ("title", "x-title"))
    checker.warnings.append(Problem(path, line, name, advice))


def load_form(checker: Checker, path: str) -> None:
    """Check one form file and add it to `checker.forms`."""
    text = checker.files[path]
    if json_depth(text) > MAX_JSON_DEPTH:
        checker.sayer(path, None)(1, Message("config.json_too_deep", limit=MAX_JSON_DEPTH))
        return
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as error:
        checker.sayer(path, None)(error.lineno, Message("config.json_invalid", detail=sentence(error.msg, "json")))
        return
    if not isinstance(schema, dict):
        checker.sayer(path, None)(1, Message("config.form_not_object"))
        return
    for violation in Draft202012Validator(Draft202012Validator.META_SCHEMA).iter_errors(schema):
        where = [str(part) for part in violation.absolute_path]
        prop = where[where.index("properties") + 1] if "properties" in where[:-1] else None
        line = json_key_line(text, prop or where[-1]) if where else 1
        detail = sentence(violation.message, "jsonschema")
        message = Message("config.form_json_schema", at="/".join(where), detail=detail)
        checker.sayer(path, prop)(line, message)
    entity_name = schema.get("x-entity")
    entity = checker.entities.get(entity_name) if isinstance(entity_name, str) else None
    if (
        entity_name is not None
        and entity is None
        and (not isinstance(entity_name, str) or entity_name not in checker.unreadable)
    ):
        known = names_or_none(sorted(checker.entities))
        say = checker.sayer(path, "x-entity")
        say(json_key_line(text, "x-entity"), Message("config.unknown_entity", entity=repr(entity_name), known=known))
    properties = schema.get("properties", {})
    if schema.get("type", "object") != "object" or not isinstance(properties, dict):
        checker.sayer(path, None)(1, Message("config.form_type_object"))
        return
    _check_label(checker, path, None, schema)
    for name, prop in properties.items():
        if isinstance(prop, dict):
            _check_label(checker, path, name, prop)
        note = partial(checker.sayer(path, name), json_key_line(text, name))
        _check_property(checker, note, name, prop, entity, entity_name is not None)
    for part in (schema, schema.get("then"), schema.get("else")):
        required = part.get("required", []) if isinstance(part, dict) else []
        for name in (name for name in required if name not in properties):
            say = checker.sayer(path, str(name))
            say(json_key_line(text, "required"), Message("config.form_required_unknown", field=name))
    key = stem(path, ".json")
    checker.forms[key] = Form(key, schema, {}, entity.name if entity else None, path)


def _check_property(checker: Checker, note: Note, name: str, prop: Any, entity: Entity | None, skip: bool) -> None:
    if not isinstance(prop, dict):
        note(Message("config.form_field_object"))
        return
    marker = prop.get("x-variable")
    if marker is not None and not isinstance(marker, bool):
        note(Message("config.form_variable_flag"))
    catalog = prop.get("x-catalog")
    if catalog is not None and text_or_none(catalog) not in checker.catalogs:
        note(Message("config.form_catalog", catalog=repr(catalog)))
    if marker is True or (skip and entity is None):  # an unknown x-entity is reported once
        return
    if entity is not None and name in entity.fields:
        expected = field_schema(entity.fields[name], checker.catalogs)["type"]
        if prop.get("type", expected) != expected:
            note(Message("config.form_field_type", name=name, entity=entity.name))
        return
    if entity is not None:
        note(Message("config.form_field_unknown", name=name, entity=entity.name))
    else:
        note(Message("config.form_field_no_entity", name=name))


def _hint_element(data: Any, where: list[Any]) -> str | None:
    """The element a UI hints problem names: order, fields, or the field hinted."""
    return str(where[1]) if len(where) > 1 and where[0] == "fields" else str(where[0]) if where else None


def load_ui(checker: Checker, path: str) -> None:
    """Check one UI hints file and attach the hints to its form."""
    key = stem(path, ".ui.yaml")
    if f"forms/{key}.json" not in checker.files:
        checker.sayer(path, key)(1, Message("config.ui_hints_no_form", key=key))
        return
    data, bad = checker.document(path, _hint_element)
    form = checker.forms.get(key)
    if data is None or form is None:
        return
    properties = form.schema.get("properties", {})
    order = [] if any(where[:1] == ("order",) for where in bad) else data.get("order", [])
    for name in (name for name in order if name not in properties):
        checker.sayer(path, str(name))(data.line_of("order"), Message("config.ui_hints_field", name=name))
    hints = LineMap(data.line) if ("fields",) in bad else data.get("fields", LineMap(data.line))
    for name in (name for name in hints if name not in properties):
        checker.sayer(path, name)(hints.line_of(name), Message("config.ui_hints_field", name=name))
    checker.forms[key] = replace(form, ui=plain(data))
