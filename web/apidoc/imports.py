"""OpenAPI part: imports of records from CSV/XLSX files (web/blueprints/api/imports.py)."""

from __future__ import annotations

from typing import Any

from web.openapi import Schema, _errors, _nullable, _object, _ok, _op, _param, _ref

TAGS = ("imports",)

_COUNT = {"type": "integer", "minimum": 0}
_TIME = {"type": "string", "format": "date-time"}

SCHEMAS: dict[str, Schema] = {
    "ImportJob": _object({
        "id": {"type": "integer"}, "entity": {"type": "string"}, "filename": {"type": "string"},
        "status": {"enum": ["pending", "running", "done", "failed", "rejected"],
                   "description": "rejected = all or nothing and a row was refused: nothing was written"},
        "dry_run": {"type": "boolean"}, "mode": {"enum": ["all_or_nothing", "valid_only"]},
        "total_rows": _COUNT, "processed_rows": _COUNT,
        "counts": _object({"created": _COUNT, "updated": _COUNT, "merged": _COUNT, "skipped": _COUNT,
                           "rejected": _COUNT}),
        "message": _nullable("string"), "created_by": {"type": "string"}, "created_at": _TIME,
        "finished_at": _nullable("string", format="date-time"),
        "headers": {"type": "array", "items": {"type": "string"}, "description": "the file's column names"},
        "mapping": {"type": "object", "additionalProperties": {"type": "string"},
                    "description": "column -> field, or skip"}}),
    "ImportReject": _object({
        "row_number": {"type": "integer", "description": "the row as the file shows it (header = row 1)"},
        "values": {"type": "object", "additionalProperties": {"type": "string"}},
        "errors": {"type": "array", "items": _object({"column": {"type": "string"}, "reason": {"type": "string"}})}}),
    "ImportRejectList": _object({"items": {"type": "array", "items": _ref("ImportReject")}}),
    "NewImport": _object({
        "file": {"type": "string", "contentMediaType": "application/octet-stream",
                 "description": "CSV (any of , ; tab |; UTF-8, UTF-8 with BOM or cp1251) or XLSX"},
        "entity": {"type": "string", "description": "entity of the records, e.g. Contact"},
        "mapping": {"type": "string", "description": "a saved mapping profile of the entity"},
        "columns": {"type": "string", "description": "JSON object column -> field (or skip) over the guess"},
        "mode": {"enum": ["all_or_nothing", "valid_only"], "default": "all_or_nothing"},
        "dry_run": {"enum": ["true", "false"], "default": "false"},
        "encoding": {"type": "string"}, "delimiter": {"type": "string"}, "sheet": {"type": "string"}},
        required=["file", "entity"]),
}

_JOB_ID = [_param("job_id", "path", {"type": "integer"}, "import job id (ImportJob.id)")]

PATHS: dict[str, Any] = {
    "/imports": {"post": _op(
        "Import records from a file", "startImport", "imports",
        {**_ok("The job, started in the background; poll it", _ref("ImportJob"), "202", location=True),
         **_errors(400, 403, 404, 422)},
        requestBody={"required": True, "description": "the file and how to import it",
                     "content": {"multipart/form-data": {"schema": _ref("NewImport")}}},
        description="Salespeople (their own jobs), heads of sales and admins. Columns are mapped by their names "
                    "(field names, en/ru labels, aliases of crm_model/imports.yaml), then the profile, then "
                    "`columns`. An unreadable file or an unknown field answers 422 before anything runs.")},
    "/imports/{job_id}": {"get": _op(
        "An import job", "getImport", "imports",
        {**_ok("Status, progress and counts", _ref("ImportJob")), **_errors(403, 404)},
        parameters=_JOB_ID)},
    "/imports/{job_id}/rejects": {"get": _op(
        "Rejected rows of an import", "listImportRejects", "imports",
        {**_ok("Rows in file order with the reasons per column", _ref("ImportRejectList")), **_errors(403, 404)},
        parameters=_JOB_ID)},
}
