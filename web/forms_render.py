"""A resolved form JSON Schema (task forms, entity schemas) to HTML widgets, and HTML posts back to values.

The widgets are plain data; templates/_form.html draws them. Labels follow the request's locale: `title` is
`x-label` ({en: ..., ru: ...}, as a YAML `label`), else the old `title` (English) with `x-title` (the other
languages); enum labels come from `x-enum-labels`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from werkzeug.datastructures import MultiDict

from web.i18n import engine_message, error_message
from web.zones import input_value, read_input

_DECIMAL = re.compile(r"^-?\d+(\.\d+)?$")
_INTEGER = re.compile(r"^[+-]?\d+$")
_LOCAL_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$")
_TRUE = ("true", "on", "1", "yes")


@dataclass
class Option:
    value: str
    label: str
    selected: bool = False


@dataclass
class Widget:
    """One input: `kind` is text, email, tel, url, date, datetime, integer, decimal, textarea, checkbox,
    select, radio, checkboxes or hidden."""

    name: str
    label: str
    kind: str
    value: str = ""
    options: list[Option] = field(default_factory=list)
    required: bool = False
    errors: list[str] = field(default_factory=list)
    attrs: dict[str, Any] = field(default_factory=dict)
    suffix: str = ""
    help: str = ""


def localized(node: Mapping[str, Any], locale: str, fallback: str = "") -> str:
    """The label of a schema node: `x-label[locale]`, `x-label.en`, then the old `x-title[locale]` / `title`."""
    label = node.get("x-label")
    if isinstance(label, Mapping) and (label.get(locale) or label.get("en")):
        return str(label.get(locale) or label["en"])
    others = node.get("x-title") or {}
    if locale != "en" and isinstance(others, Mapping) and others.get(locale):
        return str(others[locale])
    return str(node.get("title") or fallback)


def _types(prop: Mapping[str, Any]) -> list[str]:
    declared = prop.get("type", [])
    return [declared] if isinstance(declared, str) else list(declared)


def field_kind(prop: Mapping[str, Any], hint: Mapping[str, Any]) -> str:
    """The widget for a property: the UI hint wins, then the entity field type, then the JSON type."""
    widget, ftype, fmt, types = hint.get("widget"), prop.get("x-field-type"), prop.get("format"), _types(prop)
    if widget == "hidden":
        return "hidden"
    if "array" in types:
        return "select" if widget == "select" else "checkboxes"
    if "enum" in prop or ftype == "enum":
        return "radio" if widget == "radio" else "select"
    if ftype == "reference":
        return "reference"
    kinds = [(widget == "textarea" or ftype == "text", "textarea"),
             (widget == "date" or ftype == "date" or fmt == "date", "date"),
             (ftype == "datetime" or fmt == "date-time", "datetime"),
             ("boolean" in types, "checkbox"),
             (ftype in ("money", "decimal") or "number" in types, "decimal"),
             ("integer" in types, "integer"),
             (ftype == "email" or fmt == "email", "email"),
             (ftype == "phone", "tel"),
             (ftype == "url" or fmt in ("uri", "url"), "url")]
    return next((kind for matches, kind in kinds if matches), "text")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _local_datetime(value: Any) -> str:
    """A stored ISO datetime as the `YYYY-MM-DDTHH:MM` in the user's zone that a datetime-local input shows."""
    return input_value(value if isinstance(value, datetime) else _text(value))


def _options(prop: Mapping[str, Any], locale: str, chosen: list[str]) -> list[Option]:
    codes = prop.get("enum") or (prop.get("items") or {}).get("enum") or []
    labels = prop.get("x-enum-labels") or (prop.get("items") or {}).get("x-enum-labels") or {}
    result = []
    for code in codes:
        names = labels.get(code) or {}
        text = names.get(locale) or names.get("en") or str(code)
        result.append(Option(str(code), str(text), str(code) in chosen))
    return result


def ordered_names(schema: Mapping[str, Any], ui: Mapping[str, Any]) -> list[str]:
    """Property names in the UI hints' order, then the schema's."""
    properties = list((schema.get("properties") or {}).keys())
    order = [name for name in ui.get("order") or [] if name in properties]
    return order + [name for name in properties if name not in order]


def build_widgets(schema: Mapping[str, Any], ui: Mapping[str, Any], values: Mapping[str, Any],
                  errors: Mapping[str, list[str]], *, locale: str, currency: str = "",
                  titles: Mapping[int, str] | None = None) -> list[Widget]:
    """The inputs of a form, pre-filled with `values` (stored JSON values or what was just posted). A reference
    field is a search-as-you-type picker of its entity's records; `titles` names its current value."""
    properties: Mapping[str, Any] = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    hints: Mapping[str, Any] = ui.get("fields") or {}
    widgets = []
    for name in ordered_names(schema, ui):
        prop = properties[name] if isinstance(properties[name], Mapping) else {}
        hint = hints.get(name) or {}
        kind = field_kind(prop, hint)
        value = values.get(name)
        chosen = [_text(v) for v in value] if isinstance(value, list) else [_text(value)]
        widget = Widget(name, localized(prop, locale, name), kind, _text(value), required=name in required,
                        errors=[engine_message(m, locale) for m in errors.get(name, [])],
                        help=engine_message(str(prop["description"]), locale) if prop.get("description") else "")
        if kind in ("select", "radio", "checkboxes"):
            widget.options = _options(prop, locale, chosen)
            widget.attrs["multiple"] = "array" in _types(prop)
        elif kind == "reference":
            widget.attrs["entity"] = str(prop.get("x-entity") or "")
            number = widget.value.strip().lstrip("#")
            known = (titles or {}).get(int(number)) if number.isdigit() else None
            widget.attrs["title"] = known or (f"#{number}" if number else "")
        elif kind == "datetime":
            widget.value = _local_datetime(value) if value not in (None, "") else ""
        elif kind == "decimal":
            widget.suffix = currency if prop.get("x-field-type") == "money" else ""
        if "maxLength" in prop:
            widget.attrs["maxlength"] = prop["maxLength"]
        for key in ("minimum", "maximum"):
            if key in prop:
                widget.attrs[key[:3]] = prop[key]
        if "rows" in hint:
            widget.attrs["rows"] = hint["rows"]
        widgets.append(widget)
    return widgets


def unplaced_errors(errors: Mapping[str, list[str]], widgets: list[Widget], locale: str) -> list[str]:
    """Messages that belong to no visible input (the whole form, or a field it does not show)."""
    shown = {w.name for w in widgets if w.kind != "hidden"}
    return [f"{name}: {engine_message(m, locale)}" if name else error_message(m, locale)
            for name, messages in errors.items() if name not in shown for m in messages]


def submitted_values(schema: Mapping[str, Any], ui: Mapping[str, Any], form: MultiDict[str, str]) -> dict[str, Any]:
    """What the browser posted for the form's properties: strings, or lists for multi-value fields."""
    properties: Mapping[str, Any] = schema.get("properties") or {}
    hints: Mapping[str, Any] = ui.get("fields") or {}
    values: dict[str, Any] = {}
    for name, prop in properties.items():
        prop = prop if isinstance(prop, Mapping) else {}
        kind = field_kind(prop, hints.get(name) or {})
        posted = [v for v in form.getlist(name)]
        if kind == "checkboxes" or "array" in _types(prop):
            values[name] = [v for v in posted if v != ""]
        elif kind == "checkbox":
            if posted:  # a hidden "false" precedes the checkbox, so an unticked box still posts
                values[name] = "true" if any(v.lower() in _TRUE for v in posted) else "false"
        elif posted:
            text = posted[-1]
            moment = read_input(text) if kind == "datetime" and _LOCAL_DATETIME.match(text.strip()) else None
            if moment is not None:  # entered in the user's zone, stored in UTC
                text = moment.isoformat()
            values[name] = text
    return values


def _json_value(prop: Mapping[str, Any], raw: Any) -> Any:
    types = _types(prop)
    if isinstance(raw, list):
        return [v for v in raw if v != ""]
    text = str(raw).strip()
    if text == "":
        return None
    if "boolean" in types:
        return text.lower() in _TRUE
    if "integer" in types and _INTEGER.match(text):
        return int(text)
    if "number" in types:
        candidate = re.sub(r"[\s\u00a0\u202f]", "", text).replace(",", ".")
        return candidate if _DECIMAL.match(candidate) else text
    return text


def record_values(schema: Mapping[str, Any], raw: Mapping[str, Any]) -> dict[str, Any]:
    """Posted strings as the JSON values a record takes (numbers, booleans, lists); blanks become None."""
    properties: Mapping[str, Any] = schema.get("properties") or {}
    return {name: _json_value(properties.get(name) or {}, value) for name, value in raw.items()}
