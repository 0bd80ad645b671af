"""Edits of bundle YAML files made in the browser: a field of an entity, a value of a catalog.

An edit changes the lines it is about and nothing else — comments, alignment and the order of everything else
stay as the admin or the designer wrote them, so the change reads as a small diff and the files stay theirs. Every
edit is verified by loading the result again: what it wrote must read back as the intended value, and every other
field or value must read back unchanged; otherwise the edit is refused (never a broken file).
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from engine.config.yaml_lines import LineList, LineMap, load_yaml, plain
from engine.errors import ConfigError, ValidationError
from engine.messages import Joined, Message

_ITEM = re.compile(r"^(\s*)- ")


class EditError(ValidationError):
    """An edit that cannot be made safely by the browser; `errors` names the field of the edit form."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__({field: [message]})


def flow(value: Any) -> str:
    """`value` as one line of YAML flow style ({type: string, label: {en: Name, ru: Имя}})."""
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, sort_keys=False, width=1_000_000)
    return text.strip().removesuffix("...").strip()


def _load(text: str, file: str) -> LineMap:
    try:
        data = load_yaml(text, file)
    except ConfigError as error:
        detail = Joined("\n", [Joined(" ", [problem.place(), problem.message]) for problem in error.problems])
        raise EditError("", Message("config.edit_not_yaml", file=file, detail=detail)) from error
    if not isinstance(data, LineMap):
        raise EditError("", Message("config.edit_not_mapping", file=file))
    return data


def _depth(line: str) -> int:
    """How far a line is indented."""
    return len(line) - len(line.lstrip())


def _quiet(line: str) -> bool:
    """A blank or comment-only line: it belongs to no value."""
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def _last_line(lines: list[str], start: int, stop: int) -> int:
    """The last line (1-based) of a value starting at `start` and ending before line `stop`, comments after it
    excluded."""
    end = stop - 1
    while end > start and _quiet(lines[end - 1]):
        end -= 1
    return end


def _block_end(lines: list[str], start: int, indent: int) -> int:
    """The last line (1-based) of the block starting at line `start` whose lines are indented deeper than
    `indent`."""
    stop = start + 1
    while stop <= len(lines) and (_quiet(lines[stop - 1]) or _depth(lines[stop - 1]) > indent):
        stop += 1
    return _last_line(lines, start, stop)


def _next_key_line(data: LineMap, key: str, total: int) -> int:
    """The line of the top-level key after `key`, or one past the end."""
    later = [line for name, line in data.key_lines.items() if line > data.line_of(key)]
    return min(later, default=total + 1)


def _join(lines: list[str]) -> str:
    return "\n".join(lines)


def put_field(text: str, file: str, name: str, spec: dict[str, Any]) -> str:
    """The entity file `text` with field `name` set to `spec` (added after the last field, or replacing the field's
    lines where it stands), verified by reading it back."""
    data = _load(text, file)
    fields = data.get("fields")
    if not isinstance(fields, LineMap) or not fields:
        raise EditError("name", Message("config.edit_no_fields", file=file))
    lines = text.split("\n")
    names = list(fields)
    first = lines[fields.line_of(names[0]) - 1]
    indent = first[:len(first) - len(first.lstrip())]
    aligned = re.match(rf"^\s*{re.escape(names[0])}:(\s*)", first)
    column = len(indent) + len(names[0]) + 1 + (len(aligned[1]) if aligned else 1)
    if name in fields:
        start = fields.line_of(name)
        later = names.index(name) + 1
        stop = fields.line_of(names[later]) if later < len(names) else _next_key_line(data, "fields", len(lines))
        end = _last_line(lines, start, stop)
        own = re.match(rf"^(\s*{re.escape(name)}:)(\s*)", lines[start - 1])
        prefix = own[1] + (own[2] or " ") if own else f"{indent}{name}: "
        lines[start - 1:end] = [prefix + flow(spec)]
    else:
        last = names[-1]
        end = _last_line(lines, fields.line_of(last), _next_key_line(data, "fields", len(lines)))
        pad = " " * max(1, column - len(indent) - len(name) - 1)
        lines.insert(end, f"{indent}{name}:{pad}{flow(spec)}")
    new = _join(lines)
    again = _load(new, file).get("fields")
    expected = {**plain(fields), name: spec}
    if not isinstance(again, LineMap) or plain(again) != expected:
        raise EditError("name", Message("config.edit_field_unsafe", file=file))
    return new


def _find(items: LineList, code: str) -> LineMap | None:
    for item in items:
        if isinstance(item, LineMap):
            if item.get("code") == code:
                return item
            children = item.get("children")
            found = _find(children, code) if isinstance(children, LineList) else None
            if found is not None:
                return found
    return None


def _item_end(lines: list[str], item: LineMap) -> int:
    dash = _ITEM.match(lines[item.line - 1])
    return _block_end(lines, item.line, len(dash[1]) if dash else 0)


def put_value(text: str, file: str, code: str, label: dict[str, str], parent: str | None) -> str:
    """The catalog file `text` with value `code` labelled `label`: relabelled where it stands, or added as the last
    value under `parent` (None: at the top), verified by reading it back."""
    data = _load(text, file)
    values = data.get("values")
    if not isinstance(values, LineList) or not values:
        raise EditError("code", Message("config.edit_no_values", file=file))
    lines = text.split("\n")
    item = _find(values, code)
    if item is not None:
        _relabel(lines, item, label, file)
    else:
        _add(lines, values, {"code": code, "label": label}, parent, file)
    new = _join(lines)
    again = _load(new, file).get("values")
    if not isinstance(again, LineList):
        raise EditError("code", Message("config.edit_value_unsafe", file=file))
    found = _find(again, code)
    if found is None or plain(found.get("label")) != label:
        raise EditError("code", Message("config.edit_value_unsafe", file=file))
    owner = _find(again, parent) if parent is not None and item is None else None
    if parent is not None and item is None and (owner is None or not any(
            isinstance(child, dict) and child.get("code") == code for child in owner.get("children", []))):
        raise EditError("parent", Message("config.edit_parent_unsafe", parent=parent, file=file))
    return new


def _relabel(lines: list[str], item: LineMap, label: dict[str, str], file: str) -> None:
    end = _item_end(lines, item)
    dash = _ITEM.match(lines[item.line - 1])
    if end == item.line and dash and lines[item.line - 1][dash.end():].lstrip().startswith("{"):
        lines[item.line - 1] = f"{dash[0]}{flow({**plain(item), 'label': label})}"
        return
    at = item.line_of("label")
    if "label" in item and at != item.line and _block_end(lines, at, _depth(lines[at - 1])) == at:
        key = re.match(r"^(\s*label:\s*)", lines[at - 1])
        if key:
            lines[at - 1] = key[1] + flow(label)
            return
    raise EditError("code", Message("config.edit_label_unsafe", file=file))


def _add(lines: list[str], values: LineList, new: dict[str, Any], parent: str | None, file: str) -> None:
    if parent is None:
        _append_item(lines, values, new)
        return
    owner = _find(values, parent)
    if owner is None:
        raise EditError("parent", Message("config.edit_no_parent", parent=repr(parent), file=file))
    children = owner.get("children")
    if isinstance(children, LineList) and children:
        _append_item(lines, children, new)
        return
    dash = _ITEM.match(lines[owner.line - 1])
    if dash is None:
        raise EditError("parent", Message("config.edit_parent_written", parent=repr(parent), file=file))
    end = _item_end(lines, owner)
    keys = " " * len(dash[0])
    if end == owner.line:  # a one-line item {code, label}: written out as a block to hold its children
        own = plain(owner)
        block = [f"{dash[0]}code: {flow(own.pop('code'))}"]
        block += [f"{keys}{key}: {flow(value)}" for key, value in own.items()]
        lines[owner.line - 1:end] = [*block, f"{keys}children:", f"{keys}  - {flow(new)}"]
        return
    lines[end:end] = [f"{keys}children:", f"{keys}  - {flow(new)}"]


def _append_item(lines: list[str], items: LineList, new: dict[str, Any]) -> None:
    last = items[-1]
    first_line = lines[items.line_at(0) - 1]
    dash = _ITEM.match(first_line)
    prefix = dash[0] if dash else "  - "
    end = _item_end(lines, last) if isinstance(last, LineMap) else items.line_at(len(items) - 1)
    lines.insert(end, f"{prefix}{flow(new)}")
