"""OpenAPI part: the duplicate review queue and merges (web/blueprints/api/duplicates.py)."""

from __future__ import annotations

from typing import Any

from web.openapi import _TIME, _TIME_OR_NULL, Schema, _body, _errors, _nullable, _object, _ok, _op, _p, _param, _ref

TAGS = ("duplicates",)

_STATUS = {"enum": ["open", "merged", "dismissed", "related", "closed"]}
_COUNTS = {"type": "object", "additionalProperties": {"type": "integer"},
           "description": "rows that belong to the record and would move with it: task, process_instance, "
                          "reminder, outbox, import_row_key, record_link"}

SCHEMAS: dict[str, Schema] = {
    "DuplicatePair": _object({
        "id": {"type": "integer"}, "entity": {"type": "string"},
        "record_a_id": {"type": "integer"}, "record_a_title": {"type": "string"},
        "record_b_id": {"type": "integer"}, "record_b_title": {"type": "string"},
        "score": {"type": "number", "description": "0..100"}, "rule": {"type": "string"},
        "reasons": {"type": "array", "items": {"type": "object"},
                    "description": "why: [{field, how (exact|fuzzy), a, b, score}], maybe `suggest`"},
        "status": _STATUS, "found_by": {"type": "string"}, "found_at": _TIME, "decided_at": _TIME_OR_NULL,
        "decided_by": _nullable("string")}),
    "Merge": _object({
        "id": {"type": "integer"}, "entity": {"type": "string"}, "survivor_id": {"type": "integer"},
        "merged_id": {"type": "integer"}, "merged_title": {"type": "string"}, "pair_id": _nullable("integer"),
        "choices": {"type": "object", "additionalProperties": {"enum": ["survivor", "merged"]}},
        "at": _TIME, "by": {"type": "string"}, "undone_at": _TIME_OR_NULL, "undone_by": _nullable("string")}),
    "DuplicatePairDetail": _object({
        "pair": _ref("DuplicatePair"), "a": _ref("Record"), "b": _ref("Record"),
        "attached_a": _COUNTS, "attached_b": _COUNTS,
        "defaults": {"type": "object", "additionalProperties": {"enum": ["a", "b"]},
                     "description": "per field, the record whose value the compare page picks: the non-empty "
                                    "one, else the more recently written one"},
        "merges": {"type": "array", "items": _ref("Merge")},
        "can_decide": {"type": "boolean"}, "can_merge": {"type": "boolean"}}),
    "MergeRequest": _object({
        "survivor_id": {"type": "integer", "description": "the pair's record that stays; the other is merged"},
        "choices": {"type": "object", "additionalProperties": {"enum": ["survivor", "merged"]},
                    "description": "per field, whose value the survivor keeps (unnamed fields: the survivor's)"},
        "expected_revisions": {"type": "object", "additionalProperties": {"type": "integer"},
                               "description": "record id → the revision you compared (409 when it moved on)"}},
        required=["survivor_id"]),
    "RelatedRequest": _object({"relationship": {"type": "string", "description": "a code of the link catalog "
                                                                                 "(default related)"}},
                              required=[]),
}

PARAMETERS: dict[str, Schema] = {
    "pair_id": _param("pair_id", "path", {"type": "integer"}, "duplicate pair id"),
    "merge_id": _param("merge_id", "path", {"type": "integer"}, "merge id (Merge.id)"),
}

_FILTERS = [
    _param("entity", "query", {"type": "string"}, "only pairs of this entity"),
    _param("status", "query", {"enum": ["open", "decided", "merged", "dismissed", "related", "closed"],
                               "default": "open"},
           "open (by score, highest first), decided (any decision) or one decision (latest first)"),
]

PATHS: dict[str, Any] = {
    "/duplicates": {"get": _op(
        "The duplicate review queue", "listDuplicatePairs", "duplicates",
        {**_ok("Pairs", {"type": "object", "additionalProperties": False, "required": ["items", "limit", "offset"],
                         "properties": {"items": {"type": "array", "items": _ref("DuplicatePair")},
                                        "limit": {"type": "integer"}, "offset": {"type": "integer"}}}),
         **_errors(400, 403, 404, 422)},
        parameters=[*_FILTERS, *_p("limit", "offset")],
        description="Heads of sales see pairs of records their team owns or nobody owns, admins and auditors "
                    "all, salespeople pairs of two records they own.")},
    "/duplicates/{pair_id}": {"get": _op(
        "A pair with both records side by side", "getDuplicatePair", "duplicates",
        {**_ok("The pair", _ref("DuplicatePairDetail")), **_errors(403, 404)}, parameters=_p("pair_id"))},
    "/duplicates/{pair_id}/merge": {"post": _op(
        "Merge the pair's records", "mergeDuplicatePair", "duplicates",
        {**_ok("The merge", _ref("Merge"), "201"), **_errors(400, 403, 404, 409, 422)},
        parameters=_p("pair_id"), requestBody=_body(_ref("MergeRequest"), "the survivor and the field choices"),
        description="Heads of sales and admins. One transaction: the survivor takes the chosen values (history "
                    "source `merge #N`); links, reference fields of other records, tasks, process instances, "
                    "reminders and e-mails move to it; the other record is kept, hidden, as merged into it. "
                    "409 when the pair was decided, a record was merged already or changed since you compared.")},
    "/duplicates/{pair_id}/related": {"post": _op(
        "Not one record but two related ones", "markDuplicatePairRelated", "duplicates",
        {**_ok("The decided pair", _ref("DuplicatePair")), **_errors(400, 403, 404, 409, 422)},
        parameters=_p("pair_id"),
        requestBody={"required": False, "description": "the link kind", "content": {
            "application/json": {"schema": _ref("RelatedRequest")}}},
        description="Links the records (a hand-made link of the kind) and decides the pair as related.")},
    "/duplicates/{pair_id}/dismiss": {"post": _op(
        "Not a duplicate", "dismissDuplicatePair", "duplicates",
        {**_ok("The decided pair", _ref("DuplicatePair")), **_errors(403, 404, 409)}, parameters=_p("pair_id"))},
    "/merges/{merge_id}/undo": {"post": _op(
        "Undo a merge", "undoMerge", "duplicates",
        {**_ok("The undone merge", _ref("Merge")), **_errors(403, 404, 409)}, parameters=_p("merge_id"),
        description="Puts every moved row back, restores the survivor's values (history source `undo merge #N`) "
                    "and reopens the pair. 409 when already undone or the survivor was merged on since.")},
}
