"""JSON Schemas of the automation files — pipelines, shared final actions, rules, reports — and of the actions
they (and imports) run: structure and wording only; what names must exist, expressions and cycles are checked by
automation_loader.py, action_loader.py and report_loader.py."""

from __future__ import annotations

from typing import Any

from engine.config.action_loader import CREATE_KEYS, EMAIL_KEYS, PROCESS_ID, TASK_KEYS, USERNAME
from engine.config.automation import ACTION_KINDS, AGGREGATES, TRIGGER_KINDS
from engine.config.automation_loader import (
    _FINAL_KEYS,
    _LINKED_KEYS,
    _PIPELINE_KEYS,
    _RULE_KEYS,
    _STAGE_KEYS,
    SHARED_FINAL_KEYS,
    TRIGGER_HINT,
)
from engine.config.report_loader import (
    ACTIVITY_KEYS,
    ACTIVITY_SOURCES,
    AGGREGATE_MEASURES,
    ARITHMETIC,
    MEASURE_KEYS,
    REPORT_KEYS,
)
from engine.config.schema_blocks import (
    CODE,
    CONDITION_REF,
    EXPRESSION,
    SNAKE,
    _condition,
    _flag,
    _list_of,
    _obj,
    _text,
    _words,
    condition_schema,
)
from engine.store.report_spec import CHART_TYPES, FORMATS

SET_MESSAGE = "{key} needs a mapping of field: value"
COMPUTE_MESSAGE = 'compute needs a mapping of field: "expression"'


def _arguments_of(kind: str, keys: tuple[str, ...], properties: dict[str, Any], description: str) -> dict[str, Any]:
    """The mapping an action takes: its keys, in the wording of the action's own checks."""
    schema = _obj(
        properties, keys, unknown=f"{kind}: unknown key '{{key}}'; expected: {{expected}}", description=description
    )
    schema["x-message"] = f"{kind} needs a mapping with keys: {', '.join(keys)}"
    return schema


def _values(message: str, description: str) -> dict[str, Any]:
    return {"type": "object", "minProperties": 1, "description": description, "x-message": message}


def action_arguments() -> dict[str, Any]:
    """The argument of each action by its name (docs/rules.md, "Actions")."""
    territory = _text(
        "A territory code (the code field of a Territory record).",
        pattern=CODE,
        **{"x-message": "a territory action needs a territory code, not {value!r}"},
    )
    task = _arguments_of(
        "create_task",
        TASK_KEYS,
        {
            "title": {
                "description": "The task's title: text, or a text per locale {en: ..., ru: ...}.",
                "anyOf": [{"type": "string", "pattern": "\\S"}, {"type": "object"}],
                "x-message": "create_task needs a title: text or {en: ..., ru: ...}",
            },
            "assignee": _text(
                "owner (the record's owner) or a username.",
                pattern=f"^{USERNAME.pattern}$",
                **{"x-message": "assignee must be owner or a username, not {value!r}"},
            ),
            "candidate_groups": _list_of(
                {"type": "string", "pattern": "\\S"},
                "Roles or teams whose members may claim the task.",
                minItems=1,
                **{"x-message": "candidate_groups must be a non-empty list of group names"},
            ),
            "due": _text("When the task is due, from its creation: an ISO 8601 duration such as P1D."),
        },
        "Create a task in the inbox.",
    )
    task["required"] = ["title"]
    task["x-required"] = {"title": "create_task needs a title: text or {en: ..., ru: ...}"}
    task["allOf"] = [
        {
            "anyOf": [{"required": ["assignee"]}, {"required": ["candidate_groups"]}],
            "x-message": "create_task needs an assignee (owner or a username) or candidate_groups",
        }
    ]
    created = _arguments_of(
        "create_record",
        CREATE_KEYS,
        {
            "entity": _text("The entity of the new record (PascalCase)."),
            "set": _values("create_record set needs a mapping of field: value", "Literal values of its fields."),
            "compute": _values(COMPUTE_MESSAGE, "Its fields computed by expressions over this record."),
            "link": {
                "const": "origin",
                "description": "origin: the new record is linked to this one.",
                "x-message": "create_record: link must be origin, not {value!r}",
            },
        },
        "Create a record of another entity, linked to this one.",
    )
    return {
        "set": _values(SET_MESSAGE, "Literal values: {field: value}, checked against the field types."),
        "compute": _values(COMPUTE_MESSAGE, 'Expressions: {field: "expression"} (docs/rules.md, "Expressions").'),
        "start_process": _text(
            "A BPMN process id started on the record.",
            pattern=f"^{PROCESS_ID.pattern}$",
            **{"x-message": "start_process needs a process id, not {value!r}"},
        ),
        "create_task": task,
        "send_email": _arguments_of(
            "send_email",
            EMAIL_KEYS,
            {
                "template": _text("A template name: templates/<template>.<locale>.txt."),
                "to": _text("An email field of the record."),
            },
            "Send an e-mail from a template.",
        ),
        "join_territory": {**territory, "description": "Give the record to the territory's manager."},
        "leave_territory": {**territory, "description": "Take the record from the territory's manager."},
        "create_record": created,
    }


def _actions(description: str) -> dict[str, Any]:
    kinds = ", ".join(ACTION_KINDS)
    return {
        **_list_of(
            {
                "type": "object",
                "minProperties": 1,
                "maxProperties": 1,
                "propertyNames": {
                    "enum": list(ACTION_KINDS),
                    "x-message": f"unknown action {{value!r}}; actions: {kinds}",
                },
                "properties": action_arguments(),
                "description": f'One action, a mapping with one key: {kinds} (docs/rules.md, "Actions").',
                "x-message": f"an action is a mapping with one key; actions: {kinds}",
            },
            description,
        ),
        "x-message": "{key} must be a list of actions like [{set: {field: value}}]",
    }


def _final_actions_list(description: str) -> dict[str, Any]:
    """A final action's actions: a non-empty list of actions."""
    return {
        "allOf": [_actions(description), {"minItems": 1, "x-message": "a final action needs actions: [...]"}],
        "description": description,
    }


def _coded_item(what: str, properties: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """A stage or an inline final action: a mapping with a text code."""
    item = _obj(
        {
            "code": _text(f"The {what}'s code.", pattern=CODE, **{"x-message": f"a {what} needs a text code"}),
            **properties,
        },
        keys,
        required=("code",),
    )
    item.update({"x-message": f"a {what} needs a text code", "x-required": {"code": f"a {what} needs a text code"}})
    return item


def pipeline_schema() -> dict[str, Any]:
    stage = _coded_item(
        "stage",
        {
            "label": {"description": "The stage's name per locale."},
            "final": {**_flag("The pipeline ends here."), "x-message": "final must be true or false"},
            "on_enter": _actions("Actions run when a record enters the stage."),
        },
        _STAGE_KEYS,
    )
    stage["description"] = "One stage; its code is a value of the stage field's catalog."
    final = _coded_item(
        "final action",
        {
            "label": {"description": "The final action's name per locale."},
            "requires": {"description": "Fields that must have a value first."},
            "actions": _final_actions_list("What the final action does."),
        },
        _FINAL_KEYS,
    )
    final["required"] = ["code", "actions"]
    final["x-required"]["actions"] = "a final action needs actions: [...]"
    shared = {
        "type": "string",
        "description": "The code of a shared final action: crm_model/final_actions/<code>.yaml.",
    }
    schema = _obj(
        {
            "pipeline": _text(
                "The pipeline's code, the file's name.", pattern=CODE, **{"x-message": "pipeline: <code> is required"}
            ),
            "label": {"description": "The pipeline's name per locale."},
            "entity": {"description": "The entity the pipeline moves (PascalCase)."},
            "type_field": {"description": "The enum field whose value picks this pipeline (a request type)."},
            "stage_field": {"description": "The enum (or string) field holding the stage."},
            "stages": _list_of(
                stage,
                "The stages in order; at least one is final.",
                minItems=1,
                **{"x-message": "stages must be a non-empty list of {code, label, final?, on_enter?}"},
            ),
            "final_actions": {
                **_list_of(
                    {"if": {"type": "string"}, "then": shared, "else": final},
                    "Ways to end the pipeline, such as conversion or disqualification: written "
                    "here, or the code of a shared one.",
                ),
                "x-message": "final_actions must be a list",
            },
        },
        _PIPELINE_KEYS,
        required=("pipeline", "stages"),
        description="A pipeline: crm_model/pipelines/<code>.yaml.",
    )
    schema["x-required"] = {
        "pipeline": "pipeline: <code> is required",
        "stages": "stages must be a non-empty list of {code, label, final?, on_enter?}",
    }
    return schema


def final_action_schema() -> dict[str, Any]:
    schema = _obj(
        {
            "final_action": _text(
                "The final action's code, the file's name; pipelines list it by this code.",
                pattern=CODE,
                **{"x-message": "final_action: <code> is required"},
            ),
            "label": {"description": "The final action's name per locale."},
            "entity": {"description": "The entity of the pipelines that may use it (PascalCase)."},
            "requires": {"description": "Fields that must have a value first."},
            "actions": _final_actions_list("What the final action does."),
        },
        SHARED_FINAL_KEYS,
        required=("final_action", "actions"),
        description="A final action shared by pipelines: crm_model/final_actions/<code>.yaml.",
    )
    schema["x-required"] = {
        "final_action": "final_action: <code> is required",
        "actions": "a final action needs actions: [...]",
    }
    return schema


def _trigger() -> dict[str, Any]:
    """One trigger: the word created, or a mapping with one key."""
    linked = {}
    for kind, keys in _LINKED_KEYS.items():
        parts = {
            "entity": {"description": "The linked entity (PascalCase)."},
            "via": {"description": "Its reference field pointing at this record."},
            "fields": {"description": "Only changes of these fields of the linked entity count (a list)."},
        }
        spec = _obj(
            {key: parts[key] for key in keys}, keys, unknown=f"{kind}: unknown key '{{key}}'; expected: {{expected}}"
        )
        spec["x-message"] = f"{kind} needs a mapping with keys: {', '.join(keys)}"
        linked[kind] = spec
    return {
        "description": f"A trigger: {', '.join(TRIGGER_KINDS)} (created is a word, the others a mapping with one key).",
        "anyOf": [
            {"const": "created"},
            {
                "type": "object",
                "minProperties": 1,
                "maxProperties": 1,
                "propertyNames": {"enum": [kind for kind in TRIGGER_KINDS if kind != "created"]},
            },
        ],
        "properties": {
            "changed": {"description": "The fields (or owner) whose change counts (a list)."},
            "schedule": {"description": "Every this long: an ISO 8601 duration such as P1D."},
            **linked,
        },
        "x-message": f"unknown trigger {{value!r}}; triggers: {TRIGGER_HINT}",
    }


def _aggregate() -> dict[str, Any]:
    """One `let` name: count, sum, min or max over linked records."""
    exactly = f"'{{key}}' needs exactly one of {', '.join(AGGREGATES)}, like {{count: Entity, via: field}}"
    closed = []
    for function in AGGREGATES:
        keys = (function, "via", "where") if function == "count" else (function, "of", "via", "where")
        alone = {"required": [function], "properties": {other: False for other in AGGREGATES if other != function}}
        closed.append({"if": alone, "then": {"properties": dict.fromkeys(keys, True), "additionalProperties": False}})
    return {
        "type": "object",
        "description": f"One of {', '.join(AGGREGATES)} over linked records, e.g. {{count: Order, via: customer, "
        "where: \"state == 'paid'\"}.",
        "properties": {
            "count": {"description": "count: the linked entity whose records are counted."},
            "sum": {"description": "sum: the number field of the linked records added up (with of)."},
            "min": {"description": "min: the number or date field whose smallest value is taken (with of)."},
            "max": {"description": "max: the number or date field whose largest value is taken (with of)."},
            "of": {"description": "sum, min, max: the linked entity."},
            "via": {"description": "The linked entity's reference field pointing at this record."},
            "where": {
                "description": "Which linked records count: an expression over their fields, or a filter "
                "condition (docs/filters.md).",
                "anyOf": [EXPRESSION, {"$ref": CONDITION_REF}],
            },
        },
        "oneOf": [{"required": [function]} for function in AGGREGATES],
        "allOf": closed,
        "x-message": exactly,
    }


def rule_schema() -> dict[str, Any]:
    hint = f"on: needs a list of triggers: {TRIGGER_HINT}"
    trigger = _trigger()
    name = "rule: <name> is required, in snake_case"
    schema = _obj(
        {
            "rule": _text("The rule's name, the file's name.", pattern=SNAKE, **{"x-message": name}),
            "label": {"description": "The rule's name per locale."},
            "entity": {"description": "The entity whose records the rule watches (PascalCase)."},
            "on": {
                "description": "When the rule runs: one trigger or a list.",
                "if": {"type": ["string", "object"]},
                "then": trigger,
                "else": {**_list_of(trigger, "Triggers.", minItems=1), "x-message": hint},
            },
            "let": {
                "type": "object",
                "additionalProperties": _aggregate(),
                "propertyNames": {
                    "pattern": SNAKE,
                    "x-message": "let name '{value}' must be snake_case and not a "
                    "field of {@entity} or a built-in name",
                },
                "description": "Named aggregates of linked records the condition and actions may use.",
                "x-message": "let must map names to {count: Entity, via: field, ...}",
            },
            "when": {
                **EXPRESSION,
                "x-message": 'when {value!r}: must be an expression in quotes, like "amount > 1000"',
            },
            "where": {
                **_condition(
                    "A filter condition over the record (docs/filters.md), evaluated by SQL as entity "
                    "lists evaluate it; with when, both must hold. A field is tested in one of them."
                ),
                "type": "object",
                "x-message": "where must be a filter condition such as {field: region, op: eq, value: moscow} or "
                "{all: [...]}; an expression goes in when:",
            },
            "actions": _actions("Actions when the condition holds."),
            "else": _actions("Actions when it does not."),
        },
        _RULE_KEYS,
        required=("rule", "on"),
        description="A rule: crm_model/rules/<name>.yaml.",
    )
    schema["x-required"] = {"rule": name, "on": hint}
    needs = "a rule needs actions: [...] (or else: [...])"
    # neither written: the rule's line; one written empty (and the other not written or empty too): its line
    schema["allOf"] = [
        {"anyOf": [{"required": ["actions"]}, {"required": ["else"]}], "x-message": needs},
        {
            "if": {"not": {"required": ["else"], "properties": {"else": {"minItems": 1}}}},
            "then": {"properties": {"actions": {"minItems": 1, "x-message": needs}}},
        },
        {
            "if": {"not": {"required": ["actions"]}},
            "then": {"properties": {"else": {"minItems": 1, "x-message": needs}}},
        },
    ]
    schema["$defs"] = {"condition": condition_schema()}
    return schema


def _operands(description: str) -> dict[str, Any]:
    # that it names two measures defined above it is checked by report_loader.py, whose message names them
    return {
        "type": "array",
        "items": {"type": "string"},
        "description": description,
        "x-message": "{key} needs two measures defined above it, like [paid, orders]",
    }


def _measure(
    keys: tuple[str, ...], sources: tuple[str, ...], properties: dict[str, Any], description: str
) -> dict[str, Any]:
    """A measure of a grouped or an activity report: exactly one of `sources`, and its options."""
    measure = _obj(properties, keys, description=description)
    measure["x-message"] = "a measure must be a mapping like {label: {...}, count: true}"
    measure["allOf"] = [
        {
            "if": {"type": "object"},  # a measure that is no mapping gets one message
            "then": {
                "oneOf": [{"required": [source]} for source in sources],
                "x-message": f"a measure needs exactly one of: {', '.join(sources)}",
            },
        }
    ]
    return measure


def _measures() -> dict[str, dict[str, Any]]:
    """The measure of each kind of report that has measures."""
    shared = {
        "label": {"description": "The measure's name per locale."},
        "where": _condition("Which records the measure counts (of the linked entity with linked): a filter condition."),
        "format": _words(
            FORMATS,
            "How values are shown (default: money for money fields, percent for ratios, else number).",
            f"unknown format {{value!r}}; formats: {', '.join(FORMATS)}",
        ),
    }
    linked_message = "linked must be {entity: <Name>, via: <its reference field naming this entity>}"
    linked = _obj(
        {
            "entity": {"description": "The linked entity (PascalCase)."},
            "via": {"description": "Its reference field pointing at the grouped record."},
        },
        required=("entity", "via"),
        unknown=linked_message,
        description="Count the records of another entity that point at the grouped record.",
    )
    linked.update(
        {
            "x-message": linked_message,
            "x-required": {"entity": linked_message, "via": linked_message},
            "x-unknown-at": "mapping",
        }
    )
    grouped = _measure(
        MEASURE_KEYS,
        (*AGGREGATE_MEASURES, *ARITHMETIC),
        {
            **shared,
            "linked": linked,
            "count": {
                "const": True,
                "description": "count: true counts the records.",
                "x-message": "write count: true",
            },
            "count_distinct": {"description": "Counts the different values of this field (or reference.field)."},
            "sum": {"description": "Adds up this number field of the counted record."},
            "avg": {"description": "Averages this number field of the counted record."},
            "ratio": _operands("[a, b]: measure a divided by measure b, both defined above."),
            "difference": _operands("[a, b]: measure a minus measure b, both defined above."),
        },
        "A measure of a grouped report: one aggregate, or arithmetic of measures above it.",
    )
    activity = _measure(
        ACTIVITY_KEYS,
        ACTIVITY_SOURCES,
        {
            **shared,
            "by": _words(
                ("owner", "created_by"),
                "records: whose records they are (default owner).",
                "by must be owner or created_by",
            ),
            "records": {"description": "Records of this entity per user."},
            "claims": {"description": "Records of this entity claimed from a queue per user."},
            "tasks": _words(("done", "overdue"), "Tasks done or overdue per user.", "tasks must be done or overdue"),
            "ratio": _operands("[a, b]: measure a divided by measure b, both defined above."),
        },
        "A measure of an activity report: what people did, or a ratio of measures above it.",
    )
    return {"grouped": grouped, "activity": activity}


def report_schema() -> dict[str, Any]:
    keys = tuple(dict.fromkeys(key for kind in REPORT_KEYS.values() for key in kind))
    name = "report: <name> is required, in snake_case"
    measures_message = "measures must be a non-empty mapping of name: {label, ...}"
    chart_message = f"chart must be {{type: {'|'.join(CHART_TYPES)}, measures: [...]}}"
    chart = _obj(
        {
            "type": _words(
                CHART_TYPES,
                "The chart's type (default bar).",
                f"unknown chart type {{value!r}}; types: {', '.join(CHART_TYPES)}",
            ),
            "measures": _list_of(
                {"type": "string"},
                "The measures drawn (default: the first); "
                "report_loader.py checks that they are measures of the report.",
                **{"x-message": "chart measures must be a list of measure names"},
            ),
        },
        unknown=chart_message,
        description="The chart drawn above the table.",
    )
    chart.update({"x-message": chart_message, "x-unknown-at": "mapping"})
    dimension = _obj(
        {
            "field": {"description": "A field, a system field or reference.field."},
            "bucket": {
                **_flag("Group a date or datetime field by the period the user picks."),
                "x-message": "bucket must be true or false",
            },
            "label": {"description": "The column's name per locale (default: the field's label)."},
        },
        required=("field",),
    )
    dimension.update(
        {
            "type": ["string", "object"],
            "x-required": {"field": "a group_by item needs field: <name>"},
            "description": "A field name, or {field, bucket, label}.",
            "x-message": "a group_by item is a field name or {field, bucket, label}",
        }
    )
    measures = _measures()
    properties: dict[str, Any] = {
        "report": _text("The report's name, the file's name.", pattern=SNAKE, **{"x-message": name}),
        "label": {"description": "The report's name per locale."},
        "description": {"description": "What the report shows, per locale."},
        "kind": _words(
            tuple(REPORT_KEYS),
            "grouped (measures by groups), funnel (stages reached) or activity (what people did).",
            f"kind must be one of: {', '.join(REPORT_KEYS)}",
        ),
        "chart": chart,
        "entity": {"description": "The entity counted (PascalCase)."},
        "period": {"description": "The date or datetime field (or system field) the period filter applies to."},
        "where": _condition("Which records count at all: a filter condition (docs/filters.md)."),
        "group_by": _list_of(
            dimension,
            "Fields (or reference.field, or system fields of the filter model) to group "
            "by, with optional date buckets.",
            minItems=1,
            **{"x-message": "group_by must be a non-empty list of fields"},
        ),
        "measures": {
            "type": "object",
            "minProperties": 1,
            "description": "The measures by snake_case name (grouped: "
            f"{', '.join(MEASURE_KEYS)}; activity: {', '.join(ACTIVITY_KEYS)}).",
            "propertyNames": {"pattern": SNAKE, "x-message": "measure names must be snake_case"},
            "x-message": measures_message,
        },
        "stage_field": {"description": "The stage field a funnel follows."},
        "split_by": {"description": "One funnel per value of this enum field."},
        "stages": _list_of(
            {"type": "string"},
            "The stages shown, in order (default: the catalog's).",
            **{"x-message": "{key} must be a list of stage codes"},
        ),
        "exclude": _list_of(
            {"type": "string"}, "Stages left out of the funnel.", **{"x-message": "{key} must be a list of stage codes"}
        ),
    }
    schema = _obj(
        properties,
        keys,
        required=("report", "kind"),
        unknown=f"unknown key '{{key}}'; expected: {', '.join(sorted(keys))}",
        description="A report: crm_model/reports/<name>.yaml (docs/reports.md).",
    )
    schema["x-required"] = {"report": name, "kind": f"kind must be one of: {', '.join(REPORT_KEYS)}"}
    needed = {"grouped": ("group_by", "measures"), "activity": ("measures",), "funnel": ()}
    messages = {"group_by": "group_by must be a non-empty list of fields", "measures": measures_message}
    schema["allOf"] = []
    for kind, allowed in REPORT_KEYS.items():
        then: dict[str, Any] = {
            "propertyNames": {
                "not": {"enum": [key for key in keys if key not in allowed]},
                "x-message": f"'{{value}}' does not apply to a {kind} report; keys: {', '.join(allowed)}",
            }
        }
        if needed[kind]:
            then.update({"required": list(needed[kind]), "x-required": {key: messages[key] for key in needed[kind]}})
        if kind in measures:
            then["properties"] = {"measures": {"additionalProperties": {"$ref": f"#/$defs/{kind}_measure"}}}
        schema["allOf"].append({"if": {"properties": {"kind": {"const": kind}}, "required": ["kind"]}, "then": then})
    measure_defs = {f"{kind}_measure": {**measure, "x-at": "measures.<name>"} for kind, measure in measures.items()}
    schema["$defs"] = {"condition": condition_schema(), **measure_defs}
    return schema
