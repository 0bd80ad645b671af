"""OpenAPI part: the audit log and a record as of a past moment (web/blueprints/api/audit.py)."""

from __future__ import annotations

from typing import Any

from web.openapi import _TIME, _TIME_OR_NULL, Schema, _errors, _nullable, _object, _ok, _op, _p, _param, _ref

TAGS = ("audit",)

_KINDS = ["field", "step", "event", "merge"]

SCHEMAS: dict[str, Schema] = {
    "AuditEntry": _object({
        "kind": {"enum": _KINDS, "description": "field = a field change, step = a process step, event = an "
                                                "inbound event, merge = two records merged"},
        "id": {"type": "integer", "description": "the row id within its kind"},
        "at": _TIME, "actor": {"type": "string", "description": "who: a login name, process, timer, system"},
        "entity": _nullable("string"), "record_id": _nullable("integer"), "record_title": _nullable("string"),
        "instance_id": _nullable("integer"),
        "subject": {"type": "string", "description": "the field, the step kind, the event name, or merge"},
        "old_value": {"description": "field: the value before; merge: the merged record's id"},
        "new_value": {"description": "field: the value after; merge: the surviving record's id"},
        "source": {"type": "string", "description": "what made the change: edit, claim, a rule, a process "
                                                    "step, merge #N, an event's outcome and detail"},
        "data": {"description": "a step's submitted data, an event's payload, a merge's field choices"},
        "cursor": {"type": "string", "description": "pass as `after` to continue after this entry"}}),
    "AuditPage": _object({"items": {"type": "array", "items": _ref("AuditEntry")}, "limit": {"type": "integer"},
                          "next": _nullable("string", description="cursor of the next (older) page; null on "
                                                                  "the last one")}),
    "AsOfValue": _object({
        "field": {"type": "string"}, "value": {"description": "the value at that moment"},
        "changed_at": _TIME_OR_NULL, "actor": _nullable("string"),
        "source": _nullable("string", description="what set the value: create, edit, merge #N, a process step…"),
        "changed_since": {"type": "boolean"}, "current": {"description": "the value now"}}),
    "RecordAsOf": _object({
        "record_id": {"type": "integer"}, "entity": {"type": "string"}, "title": {"type": "string"},
        "at": _TIME, "created_at": _TIME, "created_by": {"type": "string"}, "owner": _ref("AsOfValue"),
        "values": {"type": "array", "items": _ref("AsOfValue")},
        "changed_since": {"type": "array", "items": {"type": "string"},
                          "description": "fields (and owner) changed after that moment"}}),
}

_FILTERS: list[dict[str, Any]] = [
    _param("user", "query", {"type": "string"}, "only what this login name did"),
    _param("entity", "query", {"type": "string"}, "only entries about records of this entity"),
    _param("record_id", "query", {"type": "integer"}, "only entries about this record"),
    _param("kind", "query", {"type": "string"}, "field, step, event, merge; repeat or comma-separate"),
    _param("from", "query", {"type": "string"}, "from this date (YYYY-MM-DD) or date-time (ISO 8601), inclusive"),
    _param("to", "query", {"type": "string"}, "up to this date (inclusive) or date-time (exclusive)"),
    _param("after", "query", {"type": "string"}, "a `cursor` or `next` from a previous page"),
]

PATHS: dict[str, Any] = {
    "/audit": {"get": _op(
        "The audit log", "auditLog", "audit",
        {**_ok("Entries, newest first", _ref("AuditPage")), **_errors(400, 403)},
        parameters=[*_FILTERS, *_p("limit")],
        description="Auditors and admins see everything; a head of sales sees entries about the records visible "
                    "to them. Keyset-paged: follow `next` with `after`.")},
    "/records/{record_id}/as-of": {"get": _op(
        "A record as it was at a past moment", "recordAsOf", "audit",
        {**_ok("The record then, with the change that set each value", _ref("RecordAsOf")), **_errors(400, 404)},
        parameters=[*_p("record_id"),
                    {**_param("at", "query", {"type": "string", "format": "date-time"},
                              "the moment (ISO 8601; UTC when no offset is given)"), "required": True}],
        description="Replays the record's own field history (not that of records merged into it). 404 also "
                    "when the record did not exist yet at that moment.")},
}
