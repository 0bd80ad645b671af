"""OpenAPI part: finding records by a filter (web/blueprints/api/find.py, docs/filters.md)."""

from __future__ import annotations

from typing import Any

from web.openapi import Schema, _body, _errors, _object, _ok, _op, _ref

TAGS = ("find",)

_CONDITION = {"type": "object", "description": (
    "one of {all: [...]}, {any: [...]}, {not: {...}}, {field, op, value, descendants?} or "
    "{linked: {entity?, via | link_kind, where?, aggregate, field?, order_by?, op?, value?}} (docs/filters.md)")}

_EXACT: Schema = {"type": "boolean", "description": (
    "false: the count is PostgreSQL's planner estimate, given when more than 10,000 records match (counting them "
    "exactly would read every one); SQLite always counts exactly")}

SCHEMAS: dict[str, Schema] = {
    "Filter": _object({
        "entity": {"type": "string", "description": "the entity whose records are found"},
        "where": _CONDITION,
        "sort": {"type": "array", "maxItems": 5, "items": _object(
            {"field": {"type": "string"}, "dir": {"enum": ["asc", "desc"]}}, required=["field"]),
            "description": "default: newest first (id desc); ties are broken by id"}},
        required=["entity"]),
    "FindRequest": _object({
        "filter": _ref("Filter"),
        "limit": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50},
        "offset": {"type": "integer", "minimum": 0, "default": 0}}, required=["filter"]),
    "CountRequest": _object({"filter": _ref("Filter")}, required=["filter"]),
    "FoundRecords": _object({
        "items": {"type": "array", "items": _ref("Record")},
        "total": {"type": "integer", "description": "how many records match in all (see `exact`)"},
        "exact": _EXACT,
        "limit": {"type": "integer"}, "offset": {"type": "integer"}}),
    "RecordCount": _object({"count": {"type": "integer", "description": "how many match (see `exact`)"},
                            "exact": _EXACT,
                            "total": {"type": "integer", "description": "the same as `count` (older clients)"}}),
}

_WHO = ("Only records the token holder may see (salespeople: their own and those in their inbox; heads of sales: "
        "their team's and unowned ones; admins and auditors: all); merged records never match. A filter that "
        "does not fit the deployed configuration answers 422 with one message per JSON path, e.g. "
        "`where.all[1].value`.")

PATHS: dict[str, Any] = {
    "/find": {"post": _op(
        "Find records by a filter", "findRecords", "find",
        {**_ok("A page of matching records in the filter's order, and the total", _ref("FoundRecords")),
         **_errors(400, 403, 404, 422)},
        requestBody=_body(_ref("FindRequest"), "the filter and the page"), description=_WHO)},
    "/find/count": {"post": _op(
        "Count records matching a filter", "countRecords", "find",
        {**_ok("How many match", _ref("RecordCount")), **_errors(400, 403, 404, 422)},
        requestBody=_body(_ref("CountRequest"), "the filter"), description=_WHO)},
}
