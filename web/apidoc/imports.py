"""OpenAPI part: imports of records from CSV/XLSX files (web/blueprints/api/imports.py)."""

from __future__ import annotations

from typing import Any

from web.openapi import Schema, _errors, _json, _nullable, _object, _ok, _op, _param, _ref

TAGS = ("imports",)

_COUNT = {"type": "integer", "minimum": 0}
_TIME = {"type": "string", "format": "date-time"}

_JOB_REQUIRED = ["id", "entity", "filename", "status", "dry_run", "mode", "total_rows", "processed_rows", "counts",
                 "message", "created_by", "created_at", "finished_at", "headers", "mapping", "on_match",
                 "date_formats"]  # code and params only beside a coded message

SCHEMAS: dict[str, Schema] = {
    "ImportJob": _object({
        "id": {"type": "integer"}, "entity": {"type": "string"}, "filename": {"type": "string"},
        "status": {"enum": ["pending", "running", "done", "failed", "rejected"],
                   "description": "rejected = all or nothing and a row was refused: nothing was written; failed = "
                                  "the file or mapping was refused, or the worker process died (killed, out of "
                                  "memory or CPU time: the message says which) — resume or rerun it"},
        "dry_run": {"type": "boolean"}, "mode": {"enum": ["all_or_nothing", "valid_only"]},
        "total_rows": _COUNT, "processed_rows": _COUNT,
        "counts": {**_object({"created": _COUNT, "updated": _COUNT, "merged": _COUNT, "skipped": _COUNT,
                              "rejected": _COUNT, "review": _COUNT, "rule_pairs": _COUNT}),
                   "description": "review = rows that matched a record and became records of their own "
                                      "with an open duplicate pair (on_match review, or update_empty and the row "
                                      "disagreed with a filled field); rule_pairs = duplicate pairs the entity's "
                                      "rules (fuzzy, probabilistic, any a scan applies) opened in the review queue "
                                      "for the records the import created (a dry run: would open)"},
        "message": {**_nullable("string"), "description": "why the job failed or wrote nothing, in the language of "
                                                          "Accept-Language, else the token holder's"},
        "code": {"type": "string", "description": "the message's code in engine/messages (render it in any "
                                                  "catalog language with params); absent for an uncoded message"},
        "params": {"type": "object", "additionalProperties": {"type": "string"}},
        "created_by": {"type": "string"}, "created_at": _TIME,
        "finished_at": _nullable("string", format="date-time"),
        "headers": {"type": "array", "items": {"type": "string"}, "description": "the file's column names"},
        "mapping": {"type": "object", "additionalProperties": {"type": "string"},
                    "description": "column -> field, or skip"},
        "on_match": {**_nullable("string"), "description": "the job's on_match; null: the entity's setting"},
        "date_formats": {"type": "object", "additionalProperties": {"type": "string"},
                         "description": "column -> strptime date format"}}, required=_JOB_REQUIRED),
    "ImportReject": _object({
        "row_number": {"type": "integer", "description": "the row as the file shows it (header = row 1)"},
        "values": {"type": "object", "additionalProperties": {"type": "string"}},
        "errors": {"type": "array", "items": _object({"column": {"type": "string"}, "reason": {"type": "string"}})}}),
    "ImportRejectList": _object({"items": {"type": "array", "items": _ref("ImportReject")}}),
    "NewImport": _object({
        "file": {"type": "string", "contentMediaType": "application/octet-stream",
                 "description": "CSV (any of , ; tab |; UTF-8, UTF-8 with BOM, UTF-16/UTF-32, cp1251) or XLSX, "
                                "within the limits of docs/imports.md (size, rows, columns, cell and line length; "
                                "XLSX: unpacked size, compression ratio, no DOCTYPE/ENTITY)"},
        "entity": {"type": "string", "description": "entity of the records, e.g. Contact"},
        "mapping": {"type": "string", "description": "a saved mapping profile of the entity"},
        "columns": {"type": "string", "description": "JSON object column -> field (or skip) over the guess"},
        "mode": {"enum": ["all_or_nothing", "valid_only"], "default": "all_or_nothing"},
        "dry_run": {"enum": ["true", "false"], "default": "false"},
        "on_match": {"enum": ["update_empty", "update", "overwrite", "skip", "review"],
                     "description": "what a row matching an existing record does (default: the entity's "
                                    "crm_model/imports.yaml setting); docs/imports.md"},
        "date_formats": {"type": "string",
                         "description": "JSON object column -> strptime date format, like {\"Born\": \"%Y%m%d\"}"},
        "encoding": {"type": "string"}, "delimiter": {"type": "string"}, "sheet": {"type": "string"}},
        required=["file", "entity"]),
}

_JOB_ID = [_param("job_id", "path", {"type": "integer"}, "import job id (ImportJob.id)")]



def _restart(summary: str, operation: str, description: str) -> dict[str, Any]:
    return _op(summary, operation, "imports",
               {**_ok("The job, started in a new worker process; poll it", _ref("ImportJob"), "202", location=True),
                **_errors(403, 404, 422)},
               parameters=_JOB_ID, description=f"{description} The job's author or an admin.")


PATHS: dict[str, Any] = {
    "/imports": {"post": _op(
        "Import records from a file", "startImport", "imports",
        {**_ok("The job, started in a worker process; poll it", _ref("ImportJob"), "202", location=True),
         **_errors(400, 403, 404, 422),
         "413": {"description": "The upload is larger than a request may be (MAX_CONTENT_LENGTH, 16 MB by default; "
                                "the message names it): import bigger files with `flowcrm import`",
                 "content": _json(_ref("Error"))}},
        requestBody={"required": True, "description": "the file and how to import it",
                     "content": {"multipart/form-data": {"schema": _ref("NewImport")}}},
        description="Salespeople (their own jobs), heads of sales and admins. Columns are mapped by their names "
                    "(field names, en/ru labels, aliases of crm_model/imports.yaml), then the profile, then "
                    "`columns`. An unreadable file, a file beyond a limit (the message names the file, the row or "
                    "member and the limit's setting) or an unknown field answers 422 before anything runs. The "
                    "import runs in a worker process of its own with a memory and CPU limit.")},
    "/imports/{job_id}": {"get": _op(
        "An import job", "getImport", "imports",
        {**_ok("Status, progress and counts", _ref("ImportJob")), **_errors(403, 404)},
        parameters=_JOB_ID)},
    "/imports/{job_id}/resume": {"post": _restart(
        "Resume a failed import", "resumeImport",
        "Only a failed job (its worker died, or its file or mapping was refused) resumes. valid_only: the rows "
        "its dead run committed are kept and the run continues after them (counts and rejects carried over); "
        "all_or_nothing and dry runs committed nothing and run every row again. 422 when the job did not fail.")},
    "/imports/{job_id}/rerun": {"post": _restart(
        "Run an import again", "rerunImport",
        "Every row runs again with fresh counts and rejects; rows imported before are skipped by their content "
        "hash, so nothing is written twice. 422 while the job runs or once it has run for real.")},
    "/imports/{job_id}/rejects": {"get": _op(
        "Rejected rows of an import", "listImportRejects", "imports",
        {**_ok("Rows in file order with the reasons per column", _ref("ImportRejectList")), **_errors(403, 404)},
        parameters=_JOB_ID)},
}
