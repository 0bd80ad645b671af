"""OpenAPI part: a record's timeline, logging on it in one step, reference choices (web/blueprints/api/cards.py)."""

from __future__ import annotations

from typing import Any

from web.openapi import _ANY, _TIME, Schema, _body, _errors, _nullable, _object, _ok, _op, _p, _param, _ref

TAGS = ("cards",)

SCHEMAS: dict[str, Schema] = {
    "TimelineEntry": _object({
        "kind": {"type": "string", "description": "field (a field change), step (a process step), task (a task "
                                                  "done), email (an e-mail queued), or a kind from the bundle: a "
                                                  "code of an entity's timeline kind_field catalog (call, "
                                                  "meeting…) or the name of an entity without one (Comment)"},
        "at": {**_TIME, "description": "when it was stored: the timeline's order"},
        "actor": _nullable("string"), "title": {"type": "string"},
        "text": _nullable("string", description="a referencing record's text field, an e-mail's address, a "
                                                "step's kind"),
        "record_id": _nullable("integer", description="the referencing record this entry is (a call…)"),
        "entity": _nullable("string"),
        "happened_at": {**_ANY, "description": "that record's own date of when it happened, if any"},
        "field": _nullable("string", description="field changes: the field (link:<kind> for links)"),
        "old_value": _ANY, "new_value": _ANY,
        "source": _nullable("string", description="a change's source, a step's process, an e-mail's status"),
        "element": _nullable("string", description="a step's or a task's BPMN element id, or a rule's task's "
                                                  "\"rule <name>\""),
        "labels": _nullable("object", description="a task's title per locale ({en, ru}) when its maker (a rule, a "
                                                  "reminder) gave several"),
        "cursor": {"type": "string", "description": "pass as `after` to continue after this entry"}}),
    "TimelinePage": _object({
        "items": {"type": "array", "items": _ref("TimelineEntry")}, "limit": {"type": "integer"},
        "next": _nullable("string", description="cursor of the next (older) page; null on the last one"),
        "titles": {"type": "object", "additionalProperties": {"type": "string"},
                   "description": "record id -> title of the records the changes name (that still exist), opened or "
                                  "not: a reference reads as its record's title"}}),
    "LoggedEntry": _object({
        "record": _ref("Record"), "task_id": {"type": "string"}, "task_title": {"type": "string"},
        "task_due_at": _TIME}),
    "Choices": _object({"items": {"type": "array", "items": _object({"id": {"type": "integer"},
                                                                     "title": {"type": "string"}})}}),
}

PATHS: dict[str, Any] = {
    "/records/{record_id}/timeline": {"get": _op(
        "The activity timeline of a record", "recordTimeline", "cards",
        {**_ok("Entries, newest first", _ref("TimelinePage")), **_errors(400, 404)},
        parameters=[*_p("record_id"),
                    _param("kind", "query", {"type": "string"}, "only these kinds; repeat or comma-separate"),
                    _param("after", "query", {"type": "string"}, "a `cursor` or `next` from a previous page"),
                    _param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 200, "default": 30},
                           "entries per page")],
        description="Field changes, process steps, tasks done, e-mails and the records that reference this one "
                    "(as entity `timeline` sections declare), keyset-paged: each source reads `limit` + 1 rows. "
                    "An unknown kind or cursor is a 400 naming it.")},
    "/records/{record_id}/log/{entity}": {"post": _op(
        "Log on a record in one step (log a call)", "logOnRecord", "cards",
        {**_ok("The stored record and its next task", _ref("LoggedEntry"), "201", location=True),
         **_errors(400, 403, 404, 409, 422)},
        parameters=_p("record_id", "entity"),
        requestBody=_body({"type": "object", "description": "the fields the entity's timeline.log form asks, "
                                                             "its next_task title and due fields included"},
                          "the form's fields, every one required"),
        description="Stores a record of the entity (the form's preset values, the asked fields, a reference to "
                    "this record) and a task for you named by the next-task fields, due on their date (today or "
                    "later): every entry ends with a next step. A field the form does not ask is a 422, not "
                    "dropped. 404 when the entity offers no log form on this record's entity.")},
    "/records/{entity}/choices": {"get": _op(
        "Records to pick for a reference field", "recordChoices", "cards",
        {**_ok("Matching records you may see", _ref("Choices")), **_errors(400, 403, 404)},
        parameters=[*_p("entity"), _param("q", "query", {"type": "string"}, "text in the title, or a number"),
                    _param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
                           "how many")],
        description="Titles containing the text in any case (those starting with it first), or the record "
                    "with that number; only records the token holder may see.")},
}
