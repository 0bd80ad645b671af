"""The import wizard: upload a file, map its columns, preview, run (in a worker process), report, rejects;
resume or rerun an import whose worker died."""

from __future__ import annotations

import os
import threading
import uuid
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, flash, jsonify, redirect, render_template, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.utils import secure_filename

from engine.errors import FlowError, NotFound, ValidationError
from engine.imports.mapping import SKIP
from engine.imports.worker import spawn
from engine.services.access import require
from engine.services.imports import (
    IMPORT_READERS,
    IMPORTERS,
    MATCH_POLICIES,
    MODES,
    can_change_job,
    configure_job,
    create_job,
    get_job,
    job_rejects,
    list_jobs,
    list_profiles,
    preview_job,
    rejects_csv,
    restart_job,
    save_profile,
    settings_for,
)
from web import nav, now, uow
from web.auth import actor, login_required
from web.i18n import engine_message, problem_message, t
from web.people import expect_people
from web.present import bundle_of

bp = Blueprint("imports", __name__, url_prefix="/imports")
nav.add("imports.index", "imports.nav", *IMPORT_READERS)
REPORT_REJECTS = 200
WORKERS = "flowcrm.import_workers"


def upload_dir() -> Path:
    """Where uploaded files are kept for their jobs (IMPORT_UPLOADS, else the instance folder's imports/)."""
    folder = Path(current_app.config.get("IMPORT_UPLOADS") or os.path.join(current_app.instance_path, "imports"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def start_run(job_id: int, *, resume: bool = False) -> None:
    """Run a configured job in a worker process of its own (limited memory and CPU time): this process only
    starts it, and a thread reaps it when it ends (the process is kept for tests to wait on)."""
    worker = spawn(current_app.config["DATABASE_URL"], job_id, resume=resume)
    current_app.extensions.setdefault(WORKERS, {})[job_id] = worker
    threading.Thread(target=worker.wait, name=f"import-{job_id}-reaper", daemon=True).start()


def parse_upload() -> None:
    """Parse the request's form and files now, so that an upload beyond the request size limit answers 413
    naming that limit (MAX_CONTENT_LENGTH) and the way around it."""
    try:
        request.files  # noqa: B018 - reading it parses the body
    except RequestEntityTooLarge as exc:
        limit = int(current_app.config.get("MAX_CONTENT_LENGTH") or 0) / (1024 * 1024)
        raise RequestEntityTooLarge(t("imports.too_large", mb=f"{limit:g}")) from exc


def _messages(exc: ValidationError) -> list[str]:
    return [f"{key}: {engine_message(m)}" if key and key not in ("file", "") else engine_message(m)
            for key, messages in exc.errors.items() for m in messages]


@bp.get("")
@login_required
def index() -> Any:
    """Import jobs the user may see, newest first."""
    who = actor()
    jobs = list_jobs(uow(), who)
    expect_people(j.created_by for j in jobs)  # named in one statement
    return render_template("imports/index.html", jobs=jobs,
                           can_import=who.has(*IMPORTERS))


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new() -> Any:
    """Upload a file and choose the entity (and optionally a saved mapping profile and reading options)."""
    who = actor()
    require(who, *IMPORTERS, action="import records")
    bundle = bundle_of(uow())
    if request.method == "POST":
        parse_upload()
    form = {k: request.form.get(k, "") for k in ("entity", "encoding", "delimiter", "sheet", "profile")}
    errors: list[str] = []
    if request.method == "POST":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            errors.append(t("imports.no_file"))
        elif form["entity"] not in bundle.entities:
            errors.append(t("imports.no_entity"))
        else:
            name = secure_filename(upload.filename) or "upload"
            path = upload_dir() / f"{uuid.uuid4().hex}-{name}"
            upload.save(path)
            try:
                job = create_job(uow(), who, form["entity"], upload.filename, path, now(),
                                 encoding=form["encoding"] or None, delimiter=form["delimiter"] or None,
                                 sheet=form["sheet"] or None, profile=form["profile"] or None)
            except (ValidationError, NotFound) as exc:
                path.unlink(missing_ok=True)
                errors += _messages(exc) if isinstance(exc, ValidationError) else [str(exc)]
            else:
                return redirect(url_for("imports.mapping", job_id=job.id))
    return render_template("imports/new.html", entities=list(bundle.entities.values()), form=form, errors=errors,
                           profiles=list_profiles(uow(), who)), 422 if errors else 200


def _posted_mapping(headers: list[str]) -> dict[str, str]:
    return {h: request.form.get(f"map-{i}") or SKIP for i, h in enumerate(headers)}


@bp.route("/<int:job_id>/mapping", methods=["GET", "POST"])
@login_required
def mapping(job_id: int) -> Any:
    """Columns → fields as selects, the first rows converted, mode and dry run; preview again or run."""
    who = actor()
    job = get_job(uow(), who, job_id)
    if not can_change_job(uow(), who, job_id):
        return redirect(url_for("imports.job", job_id=job_id))
    chosen, errors, status = dict(job.mapping), [], 200
    mode, dry_run, on_match = job.mode, job.dry_run, job.on_match or ""
    if request.method == "POST":
        chosen = _posted_mapping(job.headers)
        mode, dry_run = request.form.get("mode", ""), request.form.get("dry_run") == "on"
        on_match = request.form.get("on_match", "")
        try:
            if mode not in MODES:
                raise ValidationError({"mode": [t("imports.choose_mode")]})
            if request.form.get("action") != "preview":
                configure_job(uow(), who, job_id, chosen, mode, dry_run, on_match=on_match or None)
                profile = request.form.get("profile_name", "").strip()
                if profile:
                    save_profile(uow(), who, job.entity, profile, chosen, now())
                    flash(t("imports.profile_saved", name=profile), "success")
                start_run(job_id)
                return redirect(url_for("imports.job", job_id=job_id))
        except ValidationError as exc:
            errors, status = _messages(exc), 422
    try:
        preview = preview_job(uow(), who, job_id, chosen)
    except FlowError as exc:
        preview, status = [], 422
        errors.append(str(exc))
    bundle = bundle_of(uow())
    return render_template("imports/mapping.html", job=job, bundle=bundle, entity=bundle.entities.get(job.entity),
                           chosen=chosen, preview=preview, errors=errors, mode=mode, dry_run=dry_run,
                           modes=MODES, on_match=on_match, policies=MATCH_POLICIES,
                           setting=settings_for(bundle, job.entity).on_match), status


@bp.get("/<int:job_id>")
@login_required
def job(job_id: int) -> Any:
    """The job's progress while it runs, then its report with the rejected rows."""
    who = actor()
    found = get_job(uow(), who, job_id)
    rejects = job_rejects(uow(), who, job_id, limit=REPORT_REJECTS) if found.counts["rejected"] else []
    return render_template("imports/job.html", job=found, rejects=rejects, limit=REPORT_REJECTS,
                           can_change=can_change_job(uow(), who, job_id),
                           entity=bundle_of(uow()).entities.get(found.entity))


@bp.post("/<int:job_id>/resume")
@login_required
def resume(job_id: int) -> Any:
    """Resume a failed import (valid rows only: after the rows its dead run committed)."""
    return _restart(job_id, resume=True)


@bp.post("/<int:job_id>/rerun")
@login_required
def rerun(job_id: int) -> Any:
    """Run an import again over every row (rows imported before are skipped)."""
    return _restart(job_id, resume=False)


def _restart(job_id: int, *, resume: bool) -> Any:
    try:
        restart_job(uow(), actor(), job_id, resume=resume)
    except ValidationError as exc:
        for message in _messages(exc):
            flash(message, "error")
    else:
        start_run(job_id, resume=resume)
        flash(t("imports.resumed" if resume else "imports.rerun_started"), "success")
    return redirect(url_for("imports.job", job_id=job_id))


@bp.get("/<int:job_id>/progress.json")
@login_required
def progress(job_id: int) -> Response:
    """Status and counts of a job, for the progress page to poll."""
    found = get_job(uow(), actor(), job_id)
    return jsonify({"status": found.status, "processed_rows": found.processed_rows, "total_rows": found.total_rows,
                    "counts": found.counts, "message": found.message})


@bp.get("/<int:job_id>/rejects.csv")
@login_required
def rejects(job_id: int) -> Response:
    """The rejected rows with an errors column in the user's language, in the source file's delimiter and
    encoding, labelled with that encoding."""
    found = rejects_csv(uow(), actor(), job_id, errors_header=t("imports.errors_column"), reason=problem_message)
    response = Response(found.data, headers={"Content-Disposition":
                                             f"attachment; filename=\"{secure_filename(found.name)}\""})
    response.headers["Content-Type"] = f"text/csv; charset={found.charset}"
    return response
