"""OpenAPI part: configured reports and their results (web/blueprints/api/reports.py)."""

from __future__ import annotations

from typing import Any

from web.openapi import Schema, _errors, _nullable, _object, _ok, _op, _param, _ref

TAGS = ("reports",)

SCHEMAS: dict[str, Schema] = {
    "ReportInfo": _object({
        "name": {"type": "string"}, "kind": {"enum": ["grouped", "funnel", "activity"]},
        "title": {"type": "string"}, "description": {"type": "string"},
        "uses_period": {"type": "boolean", "description": "from/to filter the report"},
        "uses_bucket": {"type": "boolean", "description": "bucket (month, quarter, year) groups a period column"},
        "uses_per": {"type": "boolean", "description": "per (user, team) picks the rows of an activity report"}}),
    "ReportList": _object({"items": {"type": "array", "items": _ref("ReportInfo")}}),
    "ReportParams": _object({
        "date_from": _nullable("string", format="date"), "date_to": _nullable("string", format="date"),
        "bucket": {"enum": ["month", "quarter", "year"]}, "team": _nullable("string"),
        "per": {"enum": ["user", "team"]},
        "zone": {"type": "string", "description": "the IANA time zone whose days and months the period is"}}),
    "ReportColumn": _object({
        "key": {"type": "string"}, "label": {"type": "string"},
        "format": {"enum": ["text", "number", "money", "percent", "duration", "login"],
                   "description": "text = a group label (a person by display name); percent = 0..100; duration = "
                                  "hours; login = the login of the person a text column names (last columns)"}}),
    "ReportChart": _object({
        "type": {"enum": ["bar", "stacked", "line", "funnel"]},
        "label_columns": {"type": "array", "items": {"type": "integer"},
                          "description": "indexes of the columns naming a row (joined as the category)"},
        "series": {"type": "array", "items": {"type": "integer"}, "description": "indexes of the columns drawn"}}),
    "ReportResult": _object({
        "info": _ref("ReportInfo"), "params": _ref("ReportParams"),
        "columns": {"type": "array", "items": _ref("ReportColumn")},
        "rows": {"type": "array", "items": {"type": "array", "items": {"type": ["string", "number", "null"]}},
                 "description": "one list of values per row, in column order"},
        "chart": {"oneOf": [_ref("ReportChart"), {"type": "null"}]}}),
}

_PARAMETERS: list[dict[str, Any]] = [
    _param("name", "path", {"type": "string"}, "the report name (crm_model/reports/<name>.yaml)"),
    _param("from", "query", {"type": "string", "format": "date"}, "first day of the period, inclusive"),
    _param("to", "query", {"type": "string", "format": "date"}, "last day of the period, inclusive"),
    _param("bucket", "query", {"enum": ["month", "quarter", "year"], "default": "month"}, "period column size"),
    _param("team", "query", {"type": "string"}, "only records owned by (activity: only users of) this team"),
    _param("per", "query", {"enum": ["user", "team"], "default": "user"}, "activity reports: rows per user or team"),
    _param("tz", "query", {"type": "string", "default": "UTC"}, "days (from, to) and months in this IANA time zone, "
                                                                "like Europe/Moscow"),
]

PATHS: dict[str, Any] = {
    "/reports": {"get": _op(
        "The configured reports", "listReports", "reports",
        {**_ok("Reports by title", _ref("ReportList")), **_errors(403)},
        description="Sales, heads of sales, admins and auditors may read reports.")},
    "/reports/{name}": {"get": _op(
        "One report evaluated", "getReport", "reports",
        {**_ok("Columns, rows and the chart to draw", _ref("ReportResult")), **_errors(403, 404, 422)},
        parameters=_PARAMETERS,
        description="Heads of sales, admins and auditors see every record; a salesperson sees reports over the "
                    "records they own (an activity report: their own row only).")},
}
