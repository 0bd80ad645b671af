"""Building blocks of the bundle's JSON Schemas (engine/config/schemas.py): closed mappings, texts, lists and
words with the loader's wording (`x-message`, `x-unknown`, `x-required`), and the filter condition."""

from __future__ import annotations

from typing import Any

from engine.filters.model import _FIELD_KEYS as _FILTER_FIELD_KEYS
from engine.filters.model import _LINKED_KEYS as _FILTER_LINKED_KEYS
from engine.filters.model import AGGREGATES as FILTER_AGGREGATES
from engine.filters.model import SYSTEM_FIELDS
from engine.filters.values import EMPTINESS_OPS, EQUALITY_OPS, RANGE_OPS, RELATIVE_OPS, SET_OPS, TEXT_OPS

SNAKE = "^[a-z][a-z0-9_]*$"
CODE = "^[A-Za-z0-9][A-Za-z0-9_.-]*$"
PASCAL = "^[A-Z][A-Za-z0-9]*$"


def _obj(
    properties: dict[str, Any],
    keys: tuple[str, ...] | None = None,
    *,
    required: tuple[str, ...] = (),
    description: str = "",
    unknown: str = "unknown key '{key}'; expected: {expected}",
) -> dict[str, Any]:
    """A closed mapping: `keys` (default: the properties) in the loader's order, any other key refused."""
    order = keys or tuple(properties)
    missing = [key for key in properties if key not in order]
    if missing:
        raise ValueError(f"schema properties not known to the loader: {missing}")
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {key: properties.get(key, {"description": "(see the loader)"}) for key in order},
        "additionalProperties": False,
        "x-unknown": unknown,
    }
    if required:
        schema["required"] = list(required)
    if description:
        schema["description"] = description
    return schema


def _text(description: str, **more: Any) -> dict[str, Any]:
    return {"type": "string", "description": description, **more}


def _flag(description: str) -> dict[str, Any]:
    return {"type": "boolean", "description": description}


def _list_of(item: dict[str, Any], description: str, **more: Any) -> dict[str, Any]:
    """A list; an x-message of the list is also the message of a bad item unless the item has its own."""
    if "x-message" in more and "x-message" not in item:
        item = {**item, "x-message": more["x-message"]}
    return {"type": "array", "items": item, "description": description, **more}


def _words(words: tuple[str, ...], description: str, message: str | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"enum": list(words), "description": description}
    if message:
        schema["x-message"] = message
    return schema


LABEL: dict[str, Any] = {
    "type": "object",
    "description": "A text per locale of the bundle, e.g. {en: Order, ru: Заказ}; every locale in settings is "
    "required.",
    "additionalProperties": {"type": "string"},
    "x-message": "label must be a mapping like {en: ..., ru: ...}",
}
EXPRESSION = _text('An expression over the record\'s fields (docs/rules.md, "Expressions").')
DURATION = _text("An ISO 8601 duration such as P1D or PT4H.")


CONDITION_REF = "#/$defs/condition"
FILTER_FIELD_KEYS = ("field", "op", "value", "descendants")  # the filter model's keys, in the order documented
FILTER_LINKED_KEYS = ("entity", "via", "link_kind", "where", "aggregate", "field", "order_by", "op", "value")


def _condition(description: str) -> dict[str, Any]:
    """A `where`: a reference to the filter condition of the document's $defs."""
    return {"$ref": CONDITION_REF, "description": description}


def condition_schema() -> dict[str, Any]:
    """The filter condition (engine/filters/model.py, docs/filters.md): all / any / not of conditions, a field
    compared with a value, or a condition over linked records. Recursive through $defs.condition."""
    if set(FILTER_FIELD_KEYS) != _FILTER_FIELD_KEYS or set(FILTER_LINKED_KEYS) != _FILTER_LINKED_KEYS:
        raise ValueError("the condition schema's keys differ from the filter model's")
    inner = {"$ref": CONDITION_REF}
    ops = tuple(dict.fromkeys((*EQUALITY_OPS, *EMPTINESS_OPS, *RANGE_OPS, *RELATIVE_OPS, *TEXT_OPS, *SET_OPS)))
    op = _words(
        ops,
        "The operator; which ones apply depends on the field's type (docs/filters.md). A condition "
        "without op is read as eq, with a deprecation warning.",
    )
    value = {
        "description": "The value: a number, text, catalog code, date or date-time; a list for in, not_in, "
        "has_any, has_all and between [from, to]; a number of days for within_last_days and "
        "older_than_days; none for is_empty and is_not_empty."
    }
    system = ", ".join(SYSTEM_FIELDS)
    field = _obj(
        {
            "field": _text(f"A field of the record, or a system field: {system}."),
            "op": op,
            "value": value,
            "descendants": _flag(
                "eq, ne, in, not_in, has_any of a catalog field also match the codes below the given ones."
            ),
        },
        FILTER_FIELD_KEYS,
        required=("field",),
    )
    linked = _obj(
        {
            "entity": _text("The entity of the linked records (required with link_kind).", pattern=PASCAL),
            "via": _text(
                "A reference field: of the linked entity pointing here (with entity), or of this record "
                "(without entity)."
            ),
            "link_kind": _text("A manual link kind of the link catalog (instead of via)."),
            "where": {**inner, "description": "A condition the linked records must meet."},
            "aggregate": _words(FILTER_AGGREGATES, "How the linked records are combined (default exists)."),
            "field": _text("The field of the linked records that sum, min, max and last read."),
            "order_by": _text("last: the field that orders the linked records."),
            "op": {**op, "description": "Compares the aggregate (count, sum, min, max, last; not exists / none)."},
            "value": value,
        },
        FILTER_LINKED_KEYS,
        description='A condition over linked records (docs/filters.md, "Linked records").',
    )
    groups = [
        {
            "type": "object",
            "required": [key],
            "additionalProperties": False,
            "properties": {key: _list_of(inner, f"Conditions of which {word} must hold.", minItems=1)},
        }
        for key, word in (("all", "every one"), ("any", "at least one"))
    ]
    negated = {
        "type": "object",
        "required": ["not"],
        "additionalProperties": False,
        "properties": {"not": {**inner, "description": "A condition that must not hold."}},
    }
    return {
        "description": "A filter condition, the model of entity lists and segments (docs/filters.md): "
        "{field, op, value}, {all: [...]}, {any: [...]}, {not: {...}} or {linked: {...}}.",
        "anyOf": [
            field,
            *groups,
            negated,
            {"type": "object", "required": ["linked"], "additionalProperties": False, "properties": {"linked": linked}},
        ],
    }
