"""OpenAPI part: segments (saved filters), their records, mass actions and exports (web/blueprints/api/segments.py)."""

from __future__ import annotations

from typing import Any

from web.openapi import _TIME, Schema, _body, _errors, _list_of, _object, _ok, _op, _p, _param, _ref

TAGS = ("segments",)

_FILTER = {"type": "object", "description": "a filter {entity, where, sort} as in docs/filters.md; validated "
                                            "against the deployed configuration (422 keyed filter.<JSON path>)"}

SCHEMAS: dict[str, Schema] = {
    "Segment": _object({
        "id": {"type": "integer"}, "entity": {"type": "string"}, "name": {"type": "string"},
        "description": {"type": "string"}, "filter": _FILTER,
        "created_by": {"type": "string"}, "created_at": _TIME, "updated_at": _TIME}),
    "NewSegment": _object({
        "entity": {"type": "string"}, "name": {"type": "string", "maxLength": 200, "description": "unique per entity"},
        "filter": _FILTER, "description": {"type": "string", "maxLength": 2000, "default": ""}},
        required=["entity", "name", "filter"]),
    "SegmentChange": _object({
        "name": {"type": "string", "maxLength": 200}, "filter": _FILTER,
        "description": {"type": "string", "maxLength": 2000, "default": ""}}, required=["name", "filter"]),
    "SegmentRecords": _object({"items": {"type": "array", "items": _ref("Record")}, "total": {"type": "integer"},
                               "exact": {"type": "boolean", "description": "false: `total` is an estimate (as in "
                                                                           "FoundRecords)"},
                               "limit": {"type": "integer"}, "offset": {"type": "integer"}}),
    "MassAction": {
        "description": "assign = new owner (head of sales, admin); tag / untag = add / remove a code of a "
                       "multi_enum field (`tags` unless `field` names another); set = a field to a value (null "
                       "clears it); start = a process that runs on the segment's entity (records already in it are "
                       "skipped). `dry_run` reports what would happen and changes nothing.",
        "oneOf": [
            _object({"action": {"const": "assign"}, "to": {"type": "string", "description": "login name"},
                     "dry_run": {"type": "boolean"}}, required=["action", "to"]),
            _object({"action": {"enum": ["tag", "untag"]}, "code": {"type": "string"},
                     "field": {"type": "string"}, "dry_run": {"type": "boolean"}}, required=["action", "code"]),
            _object({"action": {"const": "set"}, "field": {"type": "string"}, "value": {},
                     "dry_run": {"type": "boolean"}}, required=["action", "field", "value"]),
            _object({"action": {"const": "start"}, "process": {"type": "string", "description": "process id"},
                     "dry_run": {"type": "boolean"}}, required=["action", "process"]),
        ]},
    "ActionSummary": _object({
        "action": {"enum": ["assign", "tag", "untag", "set", "start"]},
        "records": {"type": "integer", "description": "records the segment found for you"},
        "changed": {"type": "integer"},
        "skipped": {"type": "integer", "description": "records that needed no change"},
        "errors": {"type": "array", "items": {"type": "string"},
                   "description": "per-record problems (only with dry_run: otherwise any problem is a 422 and "
                                  "nothing changes)"},
        "dry_run": {"type": "boolean"}}),
}

PARAMETERS: dict[str, Any] = {
    "segment_id": _param("segment_id", "path", {"type": "integer"}, "segment id (Segment.id)"),
}

_EXPORT = {"200": {"description": "The records as a file download (Content-Disposition: attachment)",
                   "content": {"text/csv": {"schema": {"type": "string"}},
                               "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                                   "schema": {"type": "string", "contentMediaType": "application/octet-stream"}}}}}

PATHS: dict[str, Any] = {
    "/segments": {
        "get": _op("Segments", "listSegments", "segments",
                   {**_ok("Segments by entity and name", _list_of("Segment")), **_errors(403)},
                   parameters=[_param("entity", "query", {"type": "string"}, "only this entity's segments")],
                   description="Everyone who reads records (sales, heads of sales, admins, auditors) sees every "
                               "segment; what a segment finds is still limited by record visibility."),
        "post": _op("Save a filter as a segment", "createSegment", "segments",
                    {**_ok("The segment", _ref("Segment"), "201", location=True),
                     **_errors(400, 403, 404, 422)},
                    requestBody=_body(_ref("NewSegment"), "entity, unique name, filter, description"),
                    description="Sales, heads of sales and admins.")},
    "/segments/{segment_id}": {
        "get": _op("A segment", "getSegment", "segments", {**_ok("The segment", _ref("Segment")), **_errors(403, 404)},
                   parameters=_p("segment_id")),
        "put": _op("Change a segment", "updateSegment", "segments",
                   {**_ok("The changed segment", _ref("Segment")), **_errors(400, 403, 404, 422)},
                   parameters=_p("segment_id"), requestBody=_body(_ref("SegmentChange"), "name, filter, description"),
                   description="Its creator or an admin."),
        "delete": _op("Remove a segment", "deleteSegment", "segments",
                      {"204": {"description": "Removed; its records stay as they are"}, **_errors(403, 404)},
                      parameters=_p("segment_id"), description="Its creator or an admin.")},
    "/segments/{segment_id}/records": {"get": _op(
        "The segment's records", "segmentRecords", "segments",
        {**_ok("One page in the filter's order, with the total", _ref("SegmentRecords")), **_errors(400, 403, 404)},
        parameters=_p("segment_id", "limit", "offset"),
        description="Only records the token holder may see.")},
    "/segments/{segment_id}/actions": {"post": _op(
        "A mass action on the segment's records", "segmentAction", "segments",
        {**_ok("What changed", _ref("ActionSummary")), **_errors(400, 403, 404, 422)},
        parameters=_p("segment_id"), requestBody=_body(_ref("MassAction"), "the action"),
        description="One transaction, at most 5000 records (more: 422, narrow the segment). Each change is an "
                    "ordinary record write: field history, rules. If any record refuses, nothing changes and 422 "
                    "lists the records under `fields.records`.")},
    "/segments/{segment_id}/export": {"get": _op(
        "Export the segment's records", "exportSegment", "segments",
        {**_EXPORT, **_errors(400, 403, 404, 422)},
        parameters=[*_p("segment_id"),
                    _param("format", "query", {"enum": ["csv", "xlsx"], "default": "csv"}, "file format"),
                    _param("columns", "query", {"type": "string"},
                           "comma-separated fields and system columns (id, title, owner, created_at, updated_at); "
                           "default: all")],
        description="CSV is UTF-8 with a BOM; catalog codes appear as labels in the token holder's language, "
                    "references as titles. XLSX has typed cells (numbers, dates). Streamed in batches.")},
}
