"""JSON Schemas of the bundle's YAML files: published for editors (`flowcrm schema export DIR`), used by the loader
to check structure, and the source of the configuration reference (docs/configuration-reference.md).

A schema says what a file may hold: keys, types, patterns, closed lists of words. What a schema cannot say — that a
field names a catalog that exists, that an expression parses, that rules do not cycle — stays in the loaders.
Keys the loaders know are taken from their constants, so a key added to a loader cannot be missing here.

Two extension keywords carry the loader's wording, so a schema error reads as the hand-written check did:
`x-message` on a subschema (with `{value}`), and `x-unknown` on an object (with `{key}` and `{expected}`).
"""

from __future__ import annotations

import json
import re
from pathlib import PurePosixPath
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from engine.config.automation_schemas import _actions, final_action_schema, pipeline_schema, report_schema, rule_schema
from engine.config.boards import _COLUMN as _BOARD_COLUMN
from engine.config.boards import _TOP as _BOARD_TOP
from engine.config.duplicates_loader import _COMPARE, _FIELD, _KEY, _ONLY, _RULE, _TOP, _UNLESS
from engine.config.duplicates_model import (
    COMPARE_AS,
    COMPARISONS,
    MATCH_KINDS,
    NORMALIZERS,
    ON_CREATE,
    SCORERS,
    SUGGESTIONS,
)
from engine.config.events_loader import _CORRELATE_KEYS, _START_KEYS
from engine.config.form_loader import UI_WIDGETS
from engine.config.import_loader import _KEYS as _IMPORT_KEYS
from engine.config.import_loader import ON_MATCH, OWNERS
from engine.config.model import FIELD_OPTIONS, FIELD_TYPES, OPTION_TYPES
from engine.config.process_labels import _KEYS as PROCESS_LABEL_KEYS
from engine.config.schema_blocks import (
    CODE,
    CONDITION_REF,
    LABEL,
    PASCAL,
    SNAKE,
    _flag,
    _list_of,
    _obj,
    _text,
    _words,
    condition_schema,
)
from engine.config.timeline_loader import LOG_KEYS, TASK_KEYS, TIMELINE_KEYS
from engine.config.yaml_lines import LineMap, line_of_path
from engine.messages import Message, Templated
from engine.processes.bindings import BINDING_KINDS

DIALECT = "https://json-schema.org/draft/2020-12/schema"
BASE_ID = "https://flowcrm.example/schemas/"  # an identifier only; nothing is fetched from it
SETTINGS_KEYS = ("default_region", "default_locale", "currency", "locales", "link_catalog", "teams", "working_hours",
                 "timezone")
EVENT_PATH = r"^(data(\.[A-Za-z_][A-Za-z0-9_]*)+|business_key)$"
EVENTS_MESSAGE = "events must be a mapping of event name: {correlate: ...} or {start: ...}"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CATALOG_KEYS = ("catalog", "label", "values")
VALUE_KEYS = ("code", "label", "children")
ENTITY_KEYS = ("entity", "label", "title_field", "fields", "timeline")

# bundle path pattern -> kind; the first match wins
KINDS: tuple[tuple[str, str], ...] = (
    ("crm_model/settings.yaml", "settings"),
    ("crm_model/events.yaml", "events"),
    ("crm_model/imports.yaml", "imports"),
    ("crm_model/catalogs/*.yaml", "catalog"),
    ("crm_model/entities/*.yaml", "entity"),
    ("crm_model/pipelines/*.yaml", "pipeline"),
    ("crm_model/final_actions/*.yaml", "final_action"),
    ("crm_model/rules/*.yaml", "rule"),
    ("crm_model/reports/*.yaml", "report"),
    ("crm_model/duplicates/*.yaml", "duplicates"),
    ("forms/*.ui.yaml", "form_hints"),
    ("processes/labels.yaml", "process_labels"),
    ("processes/bindings.yaml", "bindings"),
    ("crm_model/boards/*.yaml", "board"),
)


def kind_of(path: str) -> str | None:
    """The kind of a bundle file by its relative POSIX path, or None for a file no schema describes."""
    pure = PurePosixPath(path)
    return next((kind for pattern, kind in KINDS if pure.match(pattern) and len(pure.parts) == pattern.count("/") + 1),
                None)


# --- the kinds ---------------------------------------------------------------------------------------------------

def settings_schema() -> dict[str, Any]:
    return _obj({
        "default_region": _text("Country code for phone numbers typed without one (ISO 3166, e.g. RU)."),
        "default_locale": _text("The locale of new users and of texts with no choice (one of locales)."),
        "currency": _text("ISO 4217 code of money fields, e.g. RUB.", pattern="^[A-Z]{3}$",
                          **{"x-message": "currency {value!r} must be an ISO 4217 code such as RUB"}),
        "locales": _list_of({"type": "string", "minLength": 1}, "The locales every label must have, e.g. [en, ru].",
                            minItems=1, **{"x-message": "locales must be a list like [en, ru]"}),
        "link_catalog": _text("The catalog whose values name the types of links between records.", pattern=SNAKE,
                              **{"x-message": "link_catalog {value!r} must be a catalog name in snake_case"}),
        "teams": _list_of({"oneOf": [{"type": "string", "pattern": SNAKE},
                                     _obj({"name": {"type": "string", "pattern": SNAKE}, "label": LABEL},
                                          required=("name",))]},
                          "Team names BPMN candidate groups and lanes may name besides the roles; a team may be "
                          "written as {name, label} to be shown by its label.",
                          **{"x-message": "teams must be a list of snake_case team names like [north, call_center] "
                                          "or {name: north, label: {en: ..., ru: ...}}"}),
        "working_hours": {
            **_obj({
                "timezone": _text("IANA time zone of the business calendar, e.g. Europe/Moscow (default UTC)."),
                "days": _list_of({"enum": list(DAYS)}, "Working days (default mon–fri).", minItems=1,
                                 **{"x-message": f"days must be a list of {', '.join(DAYS)}"}),
                "start": {"type": ["string", "integer"], "description": "Start of the working day, \"09:00\"."},
                "end": {"type": ["string", "integer"], "description": "End of the working day, \"18:00\"."},
            }, unknown="working_hours must be a mapping of timezone, days, start, end"),
            "x-unknown-at": "mapping",
            "description": "The business calendar BPMN timers count in with working_hours(N).",
            "x-message": "working_hours must be a mapping of timezone, days, start, end",
        },
        "timezone": _text("IANA time zone dates are shown and entered in for users who chose none (default: the "
                          "working hours' zone, else UTC)."),
    }, SETTINGS_KEYS, description="Bundle-wide settings: crm_model/settings.yaml.")


def catalog_schema() -> dict[str, Any]:
    value: dict[str, Any] = _obj({
        "code": _text("The stored code, unique in the whole tree.", pattern=CODE,
                      **{"x-message": "a value needs a text code like client{quote}"}),
        "label": LABEL,
        "children": {"$ref": "#/$defs/values", "description": "Values under this one (a tree)."},
    }, VALUE_KEYS, required=("code",))
    value["description"] = "One value of the catalog."
    value["x-message"] = "a value needs a text code like client"
    value["x-required"] = {"code": "a value needs a text code like client"}
    schema = _obj({
        "catalog": _text("The catalog's name, the file's name: crm_model/catalogs/<catalog>.yaml.", pattern=SNAKE,
                         **{"x-message": "catalog: <name> is required, in snake_case"}),
        "label": LABEL,
        "values": {"$ref": "#/$defs/values"},
    }, CATALOG_KEYS, required=("catalog", "values"), description="A catalog: crm_model/catalogs/<name>.yaml.")
    schema["x-required"] = {"catalog": "catalog: <name> is required, in snake_case",
                            "values": "values must be a non-empty list of {code, label}"}
    schema["$defs"] = {"values": {**_list_of(value, "The values, each {code, label, children}.", minItems=1),
                                  "x-message": "{key} must be a non-empty list of {code, label}"}}
    return schema


def timeline_schema() -> dict[str, Any]:
    """The `timeline` section of an entity file (checked against the entity's fields by timeline_loader.py)."""
    next_task = "next_task must be {title: <text field>, due: <date field>}: every entry ends with a next step"
    task = _obj({"title": _text("A text field of the entry: the next step's title."),
                 "due": _text("A date field of the entry: when the next step is due.")}, TASK_KEYS,
                required=TASK_KEYS, unknown=next_task)
    task.update({"x-message": next_task, "x-required": dict.fromkeys(TASK_KEYS, next_task),
                 "description": "The next step every entry ends with.", "x-unknown-at": "mapping"})
    log = _obj({"label": LABEL, "title": LABEL,
                "set": {"type": "object", "description": "Literal values every logged record gets.",
                        "x-message": "set must be a mapping of field: value"},
                "fields": _list_of({"type": "string"}, "The fields asked in the form.",
                                   **{"x-message": "fields must be a list of field names like [result, agreed]"}),
                "next_task": task}, LOG_KEYS, required=("next_task",),
               unknown="unknown key '{key}'; valid keys: {expected}")
    log.update({"x-required": {"next_task": next_task},
                "description": "The one-step log form on the referenced records' cards.",
                "x-message": f"log must be a mapping of {', '.join(LOG_KEYS)}"})
    timeline = _obj({"kind_field": _text("An enum field: the kind of entry (call, meeting, ...)."),
                     "at": _text("A date or datetime field: when it happened."),
                     "text": _text("A field shown as the entry's text."), "log": log}, TIMELINE_KEYS,
                    unknown="unknown key '{key}'; valid keys: {expected}")
    timeline.update({"description": "How this entity's records appear on the timeline of the records they reference, "
                                    "and the one-step log form on those cards (docs/cards.md).",
                     "x-message": f"timeline must be a mapping of {', '.join(TIMELINE_KEYS)}"})
    return timeline


def entity_schema() -> dict[str, Any]:
    options: dict[str, Any] = {
        "type": _words(FIELD_TYPES, "The field's type.", "unknown field type {value!r}; valid types: "
                       + ", ".join(FIELD_TYPES)),
        "label": LABEL,
        "required": {**_flag("A value is required on every write."), "x-message": "required must be true or false"},
        "default": {"description": "The value of a new record when none is given (checked against the type)."},
        "max_length": {"type": "integer", "minimum": 1, "description": "Longest text accepted (string, text).",
                       "x-message": "max_length must be a positive whole number"},
        "min": {"type": ["number", "string"], "description": "Smallest number accepted (a number or a numeral)."},
        "max": {"type": ["number", "string"], "description": "Largest number accepted (a number or a numeral)."},
        "catalog": _text("The catalog of an enum or multi_enum field."),
        "entity": _text("The entity a reference field points to.", pattern=PASCAL),
        "leaf_only": {**_flag("Only leaves of a tree catalog may be chosen."),
                      "x-message": "leaf_only must be true or false"},
        "searchable": {**_flag("Build an index so filters on this field stay fast."),
                       "x-message": "searchable must be true or false"},
    }
    for option, types in OPTION_TYPES.items():
        if option in options:
            options[option]["description"] += f" Applies to: {', '.join(types)}."
    field = _obj(options, FIELD_OPTIONS, required=("type",),
                 unknown="unknown option '{key}'; valid options: {expected}")
    field["description"] = "One field of the card."
    field["x-message"] = "a field must be a mapping like {type: string, label: {...}}"
    field["x-required"] = {"type": "type is required; valid types: " + ", ".join(FIELD_TYPES)}
    schema = _obj({
        "entity": _text("The entity's name in PascalCase; the file is crm_model/entities/<snake_name>.yaml.",
                        pattern=PASCAL, **{"x-message": "entity: <Name> is required (PascalCase)"}),
        "label": LABEL,
        "title_field": _text("The field whose value titles a record (lists, links, search)."),
        "fields": {"type": "object", "minProperties": 1,
                   "propertyNames": {"pattern": SNAKE, "x-message": "field names must be snake_case"},
                   "additionalProperties": field, "description": "The card's fields by snake_case name.",
                   "x-message": "fields must be a non-empty mapping of name: {type, label, ...}"},
        "timeline": timeline_schema(),
    }, ENTITY_KEYS, required=("entity", "fields"), description="An entity: crm_model/entities/<name>.yaml.")
    schema["x-required"] = {"entity": "entity: <Name> is required (PascalCase)",
                            "fields": "fields must be a non-empty mapping of name: {type, label, ...}"}
    return schema


def _one_of(words: tuple[str, ...], description: str, name: str) -> dict[str, Any]:
    return _words(words, description, f"{name} {{value!r}} must be one of: {', '.join(words)}")


def _between(low: float, high: float, message: str, description: str = "", **more: Any) -> dict[str, Any]:
    return {"type": "number", "minimum": low, "maximum": high, "x-message": message, "description": description,
            **more}


def _joined_field(description: str) -> dict[str, Any]:
    """`field:` naming one field (its existence is checked by the loader) or a non-empty list of fields."""
    message = "field must name a field or be a non-empty list of fields, like [first_name, last_name]"
    return {"description": description, "if": {"type": "array"},
            "then": {"minItems": 1, "items": {"type": "string", "x-message": message}, "x-message": message}}


def _fuzzy_field(keys: tuple[str, ...], description: str) -> dict[str, Any]:
    options = {"field": {"description": "The field compared."},
                  "scorer": _words(SCORERS, "How two values are scored (default token_align).",
                                   f"unknown scorer {{value!r}}; use one of: {', '.join(SCORERS)}"),
                  "weight": {"type": "number", "exclusiveMinimum": 0, "maximum": 1000, "description": "Its share "
                             "of the score.", "x-message": "weight {value!r} must be a positive number"},
                  "compare_as": _one_of(COMPARE_AS, "Normalize both values like this first.", "compare_as"),
                  "required": {**_flag("A pair with this field empty on either side does not match."),
                               "x-message": "required must be true or false"},
                  "below": _between(0, 100, "unless_fuzzy needs below: <a score from 0 to 100>", "The exact rule "
                                    "does not apply when the score is below.")}
    field = _obj({key: options[key] for key in keys}, keys)
    field.update({"description": description, "x-message": "a fuzzy field must be a mapping like {field: full_name, "
                  "scorer: token_align}"})
    return field


def _rule_kinds() -> list[dict[str, Any]]:
    """What each kind of duplicate rule requires, and the keys that belong to the other kinds."""
    block = _list_of({"type": "string"}, "Keys that put candidates in one block.", minItems=1,
                     **{"x-message": "block must be a non-empty list of key names, like [name_initials]"})
    unless = _fuzzy_field(_UNLESS, "exact: no pair when this fuzzy comparison scores below `below`.")
    unless["required"] = ["below"]
    unless["x-required"] = {"below": "unless_fuzzy needs below: <a score from 0 to 100>"}
    compare = _obj({"field": _joined_field("The field compared, or a list of fields joined by spaces."),
                    "as": _one_of(COMPARISONS, "The comparison.", "as"),
                    "days": {"type": "integer", "minimum": 1, "description": "date: the 'within N days' level.",
                             "x-message": "days must be a whole number of at least 1"}},
                   _COMPARE, required=("as",))
    compare.update({"x-message": "a comparison must be a mapping like {field: birth_date, as: date}",
                    "x-required": {"as": "as None must be one of: " + ", ".join(COMPARISONS)},
                    "allOf": [{"if": {"required": ["days"], "not": {"properties": {"as": {"const": "date"}}}},
                               "then": {"properties": {"days": {"not": {}, "x-message": "days applies to a date "
                                                                                        "comparison only"}}}}]})
    fields_message = "fields must be a non-empty list of {field, scorer, weight}"
    compare_message = "compare must be a non-empty list of {field, as}, like {field: full_name, as: name}"
    score = "score must be a number from 0 to 100"
    threshold = "threshold must be a number from 0 to 100"
    probability = ("threshold of a probabilistic rule is a match probability between 0 and 1 (exclusive), like "
                   "0.95")
    then = {
        "exact": {"required": ["score"], "x-required": {"score": score},
                  "properties": {"score": _between(0, 100, score), "unless_fuzzy": unless}},
        "fuzzy": {"required": ["block", "threshold", "fields"],
                  "x-required": {"block": block["x-message"], "threshold": threshold, "fields": fields_message},
                  "properties": {"block": block, "threshold": _between(0, 100, threshold),
                                 "score": _between(0, 100, "score (the most a pair of this rule scores) must be a "
                                                           "number from 0 to 100"),
                                 "fields": _list_of(_fuzzy_field(_FIELD, "One field compared."), "", minItems=1,
                                                    **{"x-message": fields_message})}},
        "probabilistic": {"required": ["block", "compare"],
                          "x-required": {"block": block["x-message"], "compare": compare_message},
                          "properties": {"block": block,
                                         "score": _between(0, 100, "score (the most a pair of this rule scores) "
                                                                   "must be a number from 0 to 100"),
                                         "threshold": _between(0, 1, probability, exclusiveMinimum=0,
                                                               exclusiveMaximum=1),
                                         "compare": _list_of(compare, "", minItems=1,
                                                             **{"x-message": compare_message})}},
    }
    others = {key for keys in _ONLY.values() for key in keys}
    kinds = []
    for kind, mine in _ONLY.items():
        foreign = sorted(others - {*mine, *(("score",) if kind == "exact" else ())})
        article = "an" if kind == "exact" else "a"
        kinds.append({"if": {"properties": {"match": {"const": kind}}, "required": ["match"]},
                      "then": {**then[kind], "propertyNames": {"not": {"enum": foreign},
                                                               "x-message": f"'{{value}}' does not apply to "
                                                                            f"{article} {kind} rule"}}})
    return kinds


def duplicates_schema() -> dict[str, Any]:
    rule_message = "a rule needs name: <snake_case> and match: exact | fuzzy"
    keys_message = "keys must map key names to {field, normalize}, like phone: {field: phone, normalize: phone}"
    key = _obj({"field": _joined_field("The field the key is built from, or a list of fields joined by spaces."),
                "normalize": _words(NORMALIZERS, "How the value is normalized into the key.",
                                    f"unknown normalize {{value!r}}; use one of: {', '.join(NORMALIZERS)}"),
                "max_block": {"type": "integer", "minimum": 2, "description": "Largest block compared pairwise.",
                              "x-message": "max_block must be a whole number of at least 2"}},
               _KEY, required=("normalize",))
    key.update({"x-message": "a key must be a mapping like {field: phone, normalize: phone}",
                "x-required": {"normalize": f"unknown normalize None; use one of: {', '.join(NORMALIZERS)}"}})
    rule = _obj({
        "name": _text("The rule's name.", pattern=SNAKE, **{"x-message": rule_message}),
        "match": _one_of(MATCH_KINDS, "exact: equal keys; fuzzy: field scores over a threshold; probabilistic: "
                         "match weights learned by EM (docs/duplicates.md).", "match"),
        "key": {"description": "exact: the key that must be equal."},
        "score": {"description": "The pair's score (exact, required) or cap (fuzzy, probabilistic: the most a pair of "
                  "this rule scores, so that exact rules outrank it; default 100), 0-100."},
        "block": {"description": "fuzzy, probabilistic: keys that put candidates in one block."},
        "fields": {"description": "fuzzy: the fields compared and their weights."},
        "threshold": {"description": "fuzzy: the lowest score that makes a pair (0-100); probabilistic: the lowest "
                      "match probability (0-1, default 0.95)."},
        "compare": {"description": "probabilistic: the fields compared, each with its comparison."},
        "unless_fuzzy": {"description": "exact: no pair when a fuzzy comparison scores below `below`."},
        "suggest": _one_of(SUGGESTIONS, "What the review queue suggests for the pair.", "suggest"),
        "on_create": _one_of(ON_CREATE, "This rule's policy when a record is created or changed.", "on_create"),
        "label": {**LABEL, "description": "The rule's name per locale, shown to reviewers (default: its name)."},
    }, _RULE, required=("name", "match"))
    rule.update({"x-message": rule_message, "allOf": _rule_kinds(),
                 "x-required": {"name": rule_message, "match": f"match None must be one of: {', '.join(MATCH_KINDS)}"}})
    scan_message = ("scan must be {every: <period>, retrain_after: <decisions>}, like {every: 1d} or "
                    "{every: P1D, retrain_after: 20}")
    scan = _obj({"every": {"description": "A positive period: 1d, 12h, 30m or an ISO 8601 duration (P1D)."},
                 "retrain_after": {"type": "integer", "minimum": 1, "description": "Reviewers' decisions (merged, "
                                   "dismissed, related pairs) since a probabilistic rule was trained after which the "
                                   "worker retrains it (default 20).", "x-message": "retrain_after {value!r} must be "
                                   "a whole number of reviewers' decisions, at least 1"}},
                unknown=scan_message)
    scan.update({"x-message": scan_message, "x-unknown-at": "mapping", "minProperties": 1,
                 "description": "How often the worker re-checks every record, and when it retrains probabilistic "
                                "rules on reviewers' decisions."})
    schema = _obj({
        "entity": {"description": "The entity whose duplicates are found (PascalCase)."},
        "on_create": _one_of(ON_CREATE, "What a matching create or update does.", "on_create"),
        "keys": {"type": "object", "minProperties": 1, "additionalProperties": key,
                 "propertyNames": {"pattern": SNAKE, "x-message": "key names must be snake_case"},
                 "description": "Match keys by name.", "x-message": keys_message},
        "rules": _list_of(rule, "The rules, exact and fuzzy.", minItems=1,
                          **{"x-message": "rules must be a non-empty list of {name, match, ...}"}),
        "scan": scan,
        "max_block": {"type": "integer", "minimum": 2, "description": "Largest block compared pairwise.",
                      "x-message": "max_block must be a whole number of at least 2"},
    }, _TOP, required=("keys", "rules"), description="Duplicate rules: crm_model/duplicates/<entity>.yaml "
                                                     "(docs/duplicates.md).")
    schema["x-required"] = {"keys": keys_message, "rules": "rules must be a non-empty list of {name, match, ...}"}
    return schema


def imports_schema() -> dict[str, Any]:
    entities_message = "entities must map an entity name to its import settings"
    spec = _obj({
        "aliases": {"type": "object", "description": "Extra header words that mean a field.",
                    "additionalProperties": _list_of({"type": "string", "pattern": "\\S"}, "Words.", minItems=1,
                                                     **{"x-message": "aliases: {key} must be a non-empty list of "
                                                                     "header words"}),
                    "x-message": "aliases must map a field to a list of header words, like phone: [tel, mobile]"},
        "match_on": _list_of({"type": "string"}, "Fields whose equal value makes a row an existing record.",
                             **{"x-message": "match_on must be a list of field names, like [email, phone]"}),
        "on_match": _words(ON_MATCH, "What a row matching an existing record does: update_empty fills empty fields "
                           "(a row that disagrees goes to review), update (overwrite, its older name) takes the "
                           "file's values, skip leaves the record, review keeps the row as a record of its own with "
                           "an open pair in the duplicate queue (docs/imports.md).",
                           f"on_match must be one of {', '.join(ON_MATCH)}, not {{value!r}}"),
        "date_formats": {"type": "object", "description": "A date field's format in files (strptime), e.g. "
                         "{born: '%Y%m%d'}.",
                         "additionalProperties": {"type": "string", "pattern": "%",
                                                  "x-message": "date_formats: {key}: {value!r} is not a date format "
                                                               "like %Y%m%d or %d.%m.%Y"},
                         "x-message": "date_formats must map a date field to a format, like birthday: '%Y%m%d'"},
        "actions": _actions("Rule actions run on every created record."),
        "start_processes": {**_flag("Start the entity's start-on-create processes for created records."),
                            "x-message": "start_processes must be true or false"},
        "owner": _words(OWNERS, "importer (the importing user owns created records) or none.",
                        f"owner must be one of {', '.join(OWNERS)}, not {{value!r}}"),
    }, _IMPORT_KEYS)
    spec["description"] = "How files of one entity are imported."
    spec["x-message"] = f"the import settings of {{key}} must be a mapping with keys: {', '.join(_IMPORT_KEYS)}"
    schema = _obj({"entities": {"type": "object", "minProperties": 1, "additionalProperties": spec,
                                "description": "Import settings per entity.", "x-message": entities_message}},
                  required=("entities",), description="How files are imported: crm_model/imports.yaml "
                                                       "(docs/imports.md).")
    schema["x-required"] = {"entities": entities_message}
    return schema


def events_schema() -> dict[str, Any]:
    either = "an event is either {correlate: {message, business_key}} or {start: {entity, fields}}"
    start = _obj({"entity": _text("The entity created."),
                  "fields": {"type": "object", "minProperties": 1,
                             "additionalProperties": {"type": "string", "pattern": EVENT_PATH,
                                                      "x-message": "{key}: {value!r} must be a payload path like "
                                                                   "data.subject, or business_key"},
                             "description": "Field: path in the event's data, e.g. data.email (or business_key).",
                             "x-message": "fields must map record fields to payload paths, like title: data.subject"},
                  "process": _text("A process to start on the new record.", minLength=1,
                                   **{"x-message": "process must be a process id"})}, _START_KEYS)
    start["x-required"] = {"fields": "fields must map record fields to payload paths, like title: data.subject"}
    start["required"] = ["fields"]
    correlate = _obj({"message": _text("The BPMN message delivered.", minLength=1,
                                       **{"x-message": "correlate needs message: <the name of a bpmn:message>"}),
                      "business_key": _text("The path in the event whose value names the instance (default "
                                            "record_id).", **{"x-message": "business_key {value!r} must be "
                                                              "record_id or a field of an entity"})},
                     _CORRELATE_KEYS, required=("message",))
    correlate["x-required"] = {"message": "correlate needs message: <the name of a bpmn:message>"}
    forms = [{"type": "object", "required": [kind], "maxProperties": 1, "x-message": either,
              "x-required": {kind: either}, "properties": {kind: {**body, "x-message": f"{kind} must be a mapping"}}}
             for kind, body in (("correlate", correlate), ("start", start))]
    event = {"description": "One inbound event: start (create a record) or correlate (deliver a BPMN message).",
             "anyOf": forms}
    schema = _obj({"events": {"type": "object", "minProperties": 1, "additionalProperties": event,
                              "propertyNames": {"pattern": SNAKE,
                                                "x-message": "event names must be snake_case, like client_replied"},
                              "description": "Events accepted at POST /api/v1/events/<name>.",
                              "x-message": EVENTS_MESSAGE}},
                  required=("events",), description="Inbound events: crm_model/events.yaml.")
    schema["x-required"] = {"events": EVENTS_MESSAGE}
    return schema


def form_hints_schema() -> dict[str, Any]:
    message = f"hints must be a mapping; widget one of: {', '.join(UI_WIDGETS)}"
    hint = {"type": "object", "description": "How one form field is shown.", "x-message": message,
            "properties": {"widget": _words(UI_WIDGETS, "The input shown.", message),
                           "rows": {"type": "integer", "minimum": 1, "description": "Rows of a textarea."}}}
    return _obj({"order": _list_of({"type": "string"}, "Form fields in the order shown.",
                                   **{"x-message": "order must be a list of form field names"}),
                 "fields": {"type": "object", "additionalProperties": hint, "description": "Hints by field.",
                            "x-message": "fields must map names to {widget: ...}"}},
                description="Field order and widgets of a task form: forms/<key>.ui.yaml beside forms/<key>.json.")


def board_schema() -> dict[str, Any]:
    def names(description: str) -> dict[str, Any]:
        return _list_of({"type": "string"}, description, **{"x-message": "{key} must be a list of field names of "
                                                                          "{@entity}"})

    column = _obj({"code": _text("A stage code (a value of the stage field's catalog).",
                                 **{"x-message": "a column must be a mapping like {code: won}"}),
                   "via": {"description": "The pipeline final action entering this column runs (e.g. "
                                          "convert_to_deal)."},
                   "requires": names("Fields that must be filled before a card enters.")},
                  _BOARD_COLUMN, required=("code",))
    column["description"] = "One column, in order."
    column["x-message"] = "a column must be a mapping like {code: won}"
    column["x-required"] = {"code": "a column must be a mapping like {code: won}"}
    schema = _obj({
        "board": _text("The board's name, the file's name.", pattern=SNAKE,
                       **{"x-message": "board: <name> is required, in snake_case"}),
        "label": LABEL,
        "entity": {"description": "The entity whose records are the cards (PascalCase)."},
        "stage_field": {"description": "The enum field whose value is a card's column."},
        "amount_field": {"description": "A money, decimal or integer field summed per column and shown on cards."},
        "filters": names("Enum fields offered as filters above the board."),
        "card_fields": names("More fields shown on each card."),
        "columns": _list_of(column, "The columns (default: the stage field's catalog values).", minItems=1,
                            **{"x-message": "columns must be a non-empty list of {code, via?, requires?}"}),
    }, _BOARD_TOP, required=("board",),
        description="A pipeline board (kanban): crm_model/boards/<name>.yaml (docs/boards.md).")
    schema["x-required"] = {"board": "board: <name> is required, in snake_case"}
    return schema


def process_labels_schema() -> dict[str, Any]:
    # the texts are checked against the bundle's locales by engine/config/process_labels.py
    label = {"description": "A text per locale of the bundle, e.g. {en: Order, ru: Заказ}."}
    process = _obj({"label": {**label, "description": "The process's name per locale."},
                    "elements": {"type": "object", "additionalProperties": label,
                                 "description": "The name of each step (flow node) by its BPMN id, per locale.",
                                 "x-message": "elements must map element ids to labels"}},
                   PROCESS_LABEL_KEYS)
    process["description"] = "One process: its name and its steps' names."
    process["x-message"] = f"expected a mapping with keys: {', '.join(PROCESS_LABEL_KEYS)}"
    return {"type": "object", "additionalProperties": process,
            "description": "The names people see of each process (by BPMN process id) and its steps, in every "
                           "locale: processes/labels.yaml (docs/i18n.md)."}


def bindings_schema() -> dict[str, Any]:
    """processes/bindings.yaml (docs/camunda.md): what a Camunda service implementation runs as here."""
    entry_message = f"expected a mapping with one of: {', '.join(BINDING_KINDS)}"
    bindings_message = "expected `bindings:` with a mapping of implementation names to a binding"

    def name(key: str, description: str) -> dict[str, Any]:
        return _text(description, pattern="\\S", **{"x-message": f"send_email.{key}: expected a name, got {{value!r}}"})

    email = _obj({"template": name("template", "The template: templates/<template>.<locale>.txt."),
                  "to": name("to", "The record field holding the address.")}, required=("template", "to"),
                 unknown="send_email: unknown key '{key}'; expected: {expected}",
                 description="Send a templated e-mail to an address field of the instance's record.")
    email.update({"x-message": "send_email: expected {template: <template>, to: <record field>}",
                  "x-required": {key: f"send_email.{key}: expected a name, got None" for key in ("template", "to")}})
    entry = _obj({
        "topic": _text("An external task topic a worker fetches (on /engine-rest), not an expression.",
                       pattern="^(?![\\s\\S]*[$#]\\{)[\\s\\S]*\\S",
                       **{"x-message": "topic: expected a plain topic name, got {value!r}"}),
        "send_email": email,
        "set": {"type": "object", "minProperties": 1, "description": "Literal values of fields of the record.",
                "additionalProperties": {"type": ["string", "number", "boolean"],
                                         "x-message": "set.{key}: expected a value, got {value!r}"},
                "x-message": "set: expected a mapping of record fields to values"},
        "compute": {"type": "object", "minProperties": 1, "description": "Fields of the record computed by expressions "
                    "(the engine's Python dialect, or JUEL ${...}).",
                    "additionalProperties": {"type": "string", "pattern": "\\S",
                                             "x-message": "compute.{key}: expected an expression in quotes, got "
                                                          "{value!r}"},
                    "x-message": "compute: expected a mapping of record fields to expressions"},
    }, BINDING_KINDS)
    entry.update({"minProperties": 1, "x-message": entry_message, "x-unknown-at": "key",
                  "description": "One implementation name (a Java class, a delegate expression, an expression or a "
                                 "connector id): a topic, or actions run when the task is reached.",
                  "allOf": [{"if": {"required": ["topic"]},
                             "then": {"maxProperties": 1, "x-line": "value",
                                      "x-message": "`topic` cannot be combined with actions: a worker or the engine "
                                                   "runs the task, not both"}}]})
    schema = _obj({"bindings": {"type": "object", "additionalProperties": entry, "x-message": bindings_message,
                                "description": "Bindings by implementation name."}},
                  required=("bindings",), description="Service implementations bound to topics or actions: "
                                                      "processes/bindings.yaml (docs/camunda.md).")
    schema["x-required"] = {"bindings": bindings_message}
    return schema


_BUILDERS = {
    "settings": settings_schema, "catalog": catalog_schema, "entity": entity_schema, "pipeline": pipeline_schema,
    "final_action": final_action_schema,
    "rule": rule_schema, "report": report_schema, "duplicates": duplicates_schema, "imports": imports_schema,
    "events": events_schema, "form_hints": form_hints_schema, "process_labels": process_labels_schema,
    "board": board_schema, "bindings": bindings_schema,
}


def schema_of(kind: str) -> dict[str, Any]:
    """The full JSON Schema document of one kind of bundle file."""
    body = _BUILDERS[kind]()
    pattern = next(pattern for pattern, name in KINDS if name == kind)
    return {"$schema": DIALECT, "$id": f"{BASE_ID}{kind}.schema.json", "title": f"flowcrm {kind} ({pattern})",
            **body}


def all_schemas() -> dict[str, dict[str, Any]]:
    """Every kind's schema by kind."""
    return {kind: schema_of(kind) for _, kind in KINDS}


def schema_text(kind: str) -> str:
    """The schema as the JSON text `flowcrm schema export` writes."""
    return json.dumps(schema_of(kind), ensure_ascii=False, indent=2) + "\n"


# --- checking a loaded file ----------------------------------------------------------------------------------------

_VALIDATORS: dict[str, Draft202012Validator] = {}


def _validator(kind: str) -> Draft202012Validator:
    """The loader's validator of a kind: its schema with a `where` condition left to the filter model's parser,
    which checks it as entity lists and segments are checked (one condition model, one wording)."""
    if kind not in _VALIDATORS:
        schema = schema_of(kind)
        if "condition" in schema.get("$defs", {}):
            schema = {**schema, "$defs": {**schema["$defs"], "condition": {}}}
        _VALIDATORS[kind] = Draft202012Validator(schema)
    return _VALIDATORS[kind]


def _node(data: Any, path: list[Any]) -> Any:
    """The loaded value at `path` (None when the path leaves the document)."""
    node = data
    for step in path:
        inside = step in node if isinstance(node, dict) else isinstance(step, int) and step < len(node)
        if not isinstance(node, dict | list) or not inside:
            return None
        node = node[step]
    return node


def message_templates() -> set[str]:
    """Every English message template the schemas carry (x-message, x-unknown, x-required): what a translation of
    the configuration messages covers."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("x-message", "x-unknown") and isinstance(value, str):
                    found.add(value)
                elif key == "x-required" and isinstance(value, dict):
                    found.update(str(each) for each in value.values())
                else:
                    walk(value)
        elif isinstance(node, list):
            for each in node:
                walk(each)

    walk(all_schemas())
    return found


def _top_values(template: str, data: Any) -> dict[str, str]:
    """The values of `template`'s {@name} slots: the file's top-level value of `name` (e.g. the entity a board
    shows)."""
    return {f"@{name}": str(data.get(name) if isinstance(data, dict) else None)
            for name in re.findall(r"\{@([a-z_]+)\}", template)}


def _message(error: ValidationError, data: Any, key: Any = None) -> str:
    """The loader's wording of an error: x-message of the failing subschema, else a plain sentence."""
    schema = error.schema if isinstance(error.schema, dict) else {}
    if key is None:  # the name of the nearest mapping member (a list item's message names its list)
        key = next((step for step in reversed(error.absolute_path) if isinstance(step, str)), "")
    if error.validator == "required":
        missing = re.findall(r"'([^']+)' is a required property", error.message)
        name = missing[0] if missing else ""
        required = schema.get("x-required", {}).get(name)
        return Templated(str(required), **_top_values(str(required), data)) if required else Message(
            "config.required", name=name)
    template = schema.get("x-message")
    if template:
        value = error.instance
        quote = "; put it in quotes" if value is not None and not isinstance(value, str | dict | list) else ""
        return Templated(str(template), value=value, key=key, quote=quote, **_top_values(str(template), data))
    return _plain_message(error)


_PLAIN = {  # jsonschema's own wording by validator → a message code with the same English text
    "type": ("config.not_of_type", "expected"), "enum": ("config.not_one_of", "expected"),
    "pattern": ("config.no_match", "pattern"), "minimum": ("config.below_minimum", "limit"),
    "maximum": ("config.above_maximum", "limit"),
}


def _plain_message(error: ValidationError) -> str:
    """jsonschema's sentence for a subschema without x-message, prefixed with where it is; as a coded Message
    (so it reads in the admin's language) when its English is exactly jsonschema's."""
    where = ".".join(str(step) for step in error.absolute_path)
    english = f"{where}: {error.message}" if where else error.message
    code, name = _PLAIN.get(str(error.validator), ("", ""))
    if not code:
        return english
    expected = error.validator_value
    if error.validator == "type":
        expected = ", ".join(repr(kind) for kind in (expected if isinstance(expected, list) else [expected]))
    else:
        expected = repr(expected)
    coded = Message(code, where=f"{where}: " if where else "", value=repr(error.instance), **{name: expected})
    return coded if coded == english else english


def _best_branch(error: ValidationError) -> list[ValidationError]:
    """The errors of the anyOf/oneOf branch the value fits best: fewest errors about the value itself (its shape),
    then fewest errors, then the one that got furthest into the value."""
    branches: dict[Any, list[ValidationError]] = {}
    for each in error.context or ():
        branches.setdefault(each.relative_schema_path[0] if each.relative_schema_path else 0, []).append(each)
    depth = len(error.absolute_path)
    return min(branches.values(), key=lambda errors: (sum(len(e.absolute_path) == depth for e in errors),
                                                      len(errors), -max(len(e.absolute_path) for e in errors)))


def _problems_of(error: ValidationError, data: Any) -> list[tuple[int | None, list[Any], str]]:
    path = list(error.absolute_path)
    own = error.schema if isinstance(error.schema, dict) else {}
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = list(own.get("properties", {}))
        template = own.get("x-unknown")
        found: list[tuple[int | None, list[Any], str]] = []
        for extra in (key for key in error.instance if key not in known):
            instance = error.instance
            at_key = isinstance(instance, LineMap) and own.get("x-unknown-at") != "mapping"
            line = instance.line_of(extra) if isinstance(instance, LineMap) and at_key else line_of_path(data, path)
            message = (Templated(str(template), key=extra, expected=", ".join(known)) if template else
                       Message("config.unknown_key", key=extra, expected=", ".join(known)))
            found.append((line, [*path, extra], message))
        return found
    if error.validator in ("anyOf", "oneOf") and error.context and not own.get("x-message"):
        return [problem for each in _best_branch(error) for problem in _problems_of(each, data)]
    schema_path = list(error.absolute_schema_path)
    if len(schema_path) >= 2 and schema_path[-2] == "propertyNames":
        container = _node(data, path)
        key: Any = error.instance  # the property name
        line = container.line_of(key) if isinstance(container, LineMap) else line_of_path(data, path)
        return [(line, [*path, key], _message(error, data, key))]
    if error.validator == "required":  # the problem is the missing member: its path, at its mapping's line
        missing = re.findall(r"'([^']+)' is a required property", error.message)
        return [(line_of_path(data, path), [*path, *missing[:1]], _message(error, data))]
    node = _node(data, path)
    if own.get("x-line") == "value" and isinstance(node, LineMap):  # the line the mapping starts on, not its key's
        return [(node.line, path, _message(error, data))]
    return [(line_of_path(data, path), path, _message(error, data))]


def structure_problems(kind: str, data: Any) -> list[tuple[int | None, list[Any], str]]:
    """(line, path, message) of every structural problem of a loaded file, in document order."""
    found = [problem for error in _validator(kind).iter_errors(data) for problem in _problems_of(error, data)]
    found = list({(line, tuple(path), message): (line, path, message) for line, path, message in found}.values())
    return sorted(found, key=lambda item: (item[0] or 0, [str(step) for step in item[1]]))


# --- publishing ------------------------------------------------------------------------------------------------------

HEADER = "# yaml-language-server: $schema="


def header_for(path: str, schemas_dir: str) -> str | None:
    """The first line that points an editor at the schema of a bundle file (`schemas_dir` relative to the bundle
    root), or None for a file no schema describes."""
    kind = kind_of(path)
    if kind is None:
        return None
    up = "../" * path.count("/")
    return f"{HEADER}{up}{schemas_dir.rstrip('/')}/{kind}.schema.json"


def with_header(text: str, header: str) -> str:
    """`text` whose first line is `header`, replacing an earlier schema line."""
    lines = text.split("\n")
    if lines and lines[0].startswith(HEADER):
        lines = lines[1:]
    return "\n".join([header, *lines])


def _kind_of_value(schema: dict[str, Any]) -> str:
    if "enum" in schema:
        return " \\| ".join(f"`{word}`" for word in schema["enum"])
    if "const" in schema:
        const = schema["const"]
        return f"`{const if isinstance(const, str) else json.dumps(const)}`"
    kind = schema.get("type")
    if isinstance(kind, list):
        return " or ".join(kind)
    if kind == "array":
        return f"list of {_kind_of_value(schema.get('items', {}))}"
    if schema.get("$ref") == CONDITION_REF:
        return "filter condition (see the end of this page)"
    if "anyOf" in schema and {"$ref": CONDITION_REF} in schema["anyOf"]:
        return "string (expression) or filter condition"
    if "$ref" in schema:
        return "list (see below)"
    return str(kind or "any")


def _rows(schema: dict[str, Any], prefix: str, defs: dict[str, Any], depth: int = 0) -> list[str]:
    rows: list[str] = []
    if "$ref" in schema:
        schema = {**defs.get(schema["$ref"].rsplit("/", 1)[-1], {}), **{k: v for k, v in schema.items() if k != "$ref"}}
    if schema.get("type") == "array" and isinstance(schema.get("items"), dict) and depth < 4:
        return _rows(schema["items"], f"{prefix}[]", defs, depth + 1)
    required = set(schema.get("required", []))
    for key, sub in schema.get("properties", {}).items():
        sub = sub if isinstance(sub, dict) else {}
        shown = {**defs.get(sub["$ref"].rsplit("/", 1)[-1], {}), **sub} if "$ref" in sub else sub
        name = f"{prefix}{key}"
        mark = " (required)" if key in required else ""
        text = str(shown.get("description", "")).replace("|", "\\|").replace("\n", " ")
        rows.append(f"| `{name}`{mark} | {_kind_of_value(shown)} | {text} |")
        if depth < 4 and key != "label" and (shown.get("properties") or shown.get("type") == "array"
                                               or isinstance(shown.get("additionalProperties"), dict)):
            rows.extend(_rows(shown, f"{name}.", defs, depth + 1))
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict) and extra.get("properties") and depth < 4:
        rows.extend(_rows(extra, f"{prefix}<name>.", defs, depth + 1))
    return rows


def reference_markdown() -> str:
    """The configuration reference (docs/configuration-reference.md), generated from the schemas."""
    out = ["# Configuration reference", "",
           "Generated from the JSON Schemas of the bundle's YAML files by `flowcrm schema export DIR --docs FILE`;",
           "do not edit by hand (a test compares it with the schemas). The schemas themselves are in `schemas/`;",
           "each shipped YAML file names its schema on its first line, so an editor with the YAML language server",
           "completes keys and flags mistakes as you type. The loader checks the same structure and then what a",
           "schema cannot say (names that must exist, expressions, cycles) — see docs/rules.md, docs/reports.md,",
           "docs/duplicates.md, docs/imports.md.", ""]
    for pattern, kind in KINDS:
        schema = schema_of(kind)
        out += [f"## {kind}: `{pattern}`", "", str(schema.get("description", "")), "",
                "| key | value | meaning |", "|---|---|---|", *_rows(schema, "", schema.get("$defs", {})), ""]
        for part in (part for part in schema.get("$defs", {}).values() if "x-at" in part):  # e.g. report measures
            out += [f"### {part['description']}", "", "| key | value | meaning |", "|---|---|---|",
                    *_rows(part, f"{part['x-at']}.", schema.get("$defs", {})), ""]
    condition = condition_schema()
    field, *_, linked = condition["anyOf"]
    out += ["## filter condition (`where` of reports and rules)", "", str(condition["description"]), "",
            "| key | value | meaning |", "|---|---|---|", *_rows(field, "", {}),
            "| `all` / `any` | list of filter condition | Every one / at least one of the conditions holds. |",
            "| `not` | filter condition | The condition does not hold. |", *_rows(linked, "", {}), ""]
    return "\n".join(out)
