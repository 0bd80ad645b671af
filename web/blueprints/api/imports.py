"""API: upload a file to import (run in a worker process), poll the job, read its rejected rows; resume or rerun
an import whose worker died."""

from __future__ import annotations

import json
import uuid

from flask import Response, request, url_for
from werkzeug.exceptions import BadRequest
from werkzeug.utils import secure_filename

from engine.messages import coded
from engine.messages.reading import read_back
from engine.services.imports import MODES, ImportJobView, create_job, get_job, job_rejects, restart_job
from web import now, uow
from web.blueprints.api.base import actor, bp, reply, to_json
from web.blueprints.imports import parse_upload, start_run, upload_dir
from web.i18n import SHOWN_AREAS, error_message

_FIELDS = {"entity", "mapping", "columns", "mode", "dry_run", "encoding", "delimiter", "sheet", "on_match",
           "date_formats"}


def _columns(raw: str | None, name: str = "columns", what: str = "field name (or \"skip\")") -> dict[str, str]:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise BadRequest(f"'{name}' must be a JSON object of column -> {what}: {exc}") from exc
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise BadRequest(f"'{name}' must be a JSON object of column name -> {what}")
    return value


def _job(job: ImportJobView, status: int = 200, location: str | None = None) -> Response:
    """A job as JSON: its `message` in the reader's language (Accept-Language, else the token holder's), with the
    message's `code` and `params` beside it when the engine coded it (as other API problems do)."""
    body = to_json(job)
    if job.message:
        body["message"] = error_message(job.message)
        body.update(coded(read_back(job.message, SHOWN_AREAS)))
    return reply(body, status, location)


@bp.post("/imports")
def start_import() -> Response:
    """Upload a file (multipart/form-data) and start importing it in a worker process: 202 with the job."""
    parse_upload()
    unknown = sorted(set(request.form) - _FIELDS)
    if unknown:
        raise BadRequest(f"unknown field(s) {', '.join(unknown)}; expected: file, {', '.join(sorted(_FIELDS))}")
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise BadRequest("send the file to import as the multipart field 'file'")
    entity = request.form.get("entity", "")
    if not entity:
        raise BadRequest("'entity' names the entity of the records, e.g. Contact")
    mode = request.form.get("mode", "all_or_nothing")
    if mode not in MODES:
        raise BadRequest(f"'mode' must be one of {', '.join(MODES)}")
    dry_run = request.form.get("dry_run", "false").lower()
    if dry_run not in ("true", "false"):
        raise BadRequest("'dry_run' must be true or false")
    path = upload_dir() / f"{uuid.uuid4().hex}-{secure_filename(upload.filename) or 'upload'}"
    upload.save(path)
    try:
        job = create_job(uow(), actor(), entity, upload.filename, path, now(),
                         encoding=request.form.get("encoding") or None,
                         delimiter=request.form.get("delimiter") or None, sheet=request.form.get("sheet") or None,
                         profile=request.form.get("mapping") or None, mapping=_columns(request.form.get("columns")),
                         mode=mode, dry_run=dry_run == "true", on_match=request.form.get("on_match") or None,
                         date_formats=_columns(request.form.get("date_formats"), "date_formats",
                                               "date format like %Y%m%d"))
    except Exception:
        path.unlink(missing_ok=True)
        raise
    start_run(job.id)
    return _job(job, 202, location=url_for("api.import_status", job_id=job.id))


@bp.get("/imports/<int:job_id>")
def import_status(job_id: int) -> Response:
    """An import job: status, progress and outcome counts."""
    return _job(get_job(uow(), actor(), job_id))


@bp.get("/imports/<int:job_id>/rejects")
def import_rejects(job_id: int) -> Response:
    """The rejected rows of an import job, in file order."""
    return reply({"items": job_rejects(uow(), actor(), job_id)})


@bp.post("/imports/<int:job_id>/resume")
def resume_import(job_id: int) -> Response:
    """Resume a failed import in a new worker (valid_only: after the rows its dead run committed): 202."""
    job = restart_job(uow(), actor(), job_id, resume=True)
    start_run(job_id, resume=True)
    return _job(job, 202, location=url_for("api.import_status", job_id=job_id))


@bp.post("/imports/<int:job_id>/rerun")
def rerun_import(job_id: int) -> Response:
    """Run an import again over every row in a new worker (rows imported before are skipped): 202."""
    job = restart_job(uow(), actor(), job_id, resume=False)
    start_run(job_id)
    return _job(job, 202, location=url_for("api.import_status", job_id=job_id))
