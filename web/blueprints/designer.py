"""Process designer's page: deployed process versions, and deploying uploaded configuration."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, flash, jsonify, redirect, render_template, request, url_for

from engine.errors import ConfigError, NotFound, Problem
from engine.processes.deployed import active_bundle
from engine.services.access import DEPLOYERS, require
from engine.services.deployments import deploy_bundle, get_process_version, list_process_versions
from web import now, uow
from web.auth import actor, login_required
from web.bundle_upload import uploaded_files
from web.i18n import problem_line, t
from web.people import expect_people
from web.present import labelled_diagram

bp = Blueprint("designer", __name__, url_prefix="/designer")


def _active_files() -> dict[str, str]:
    try:
        return dict(active_bundle(uow())[0].files)
    except NotFound:  # nothing deployed yet: the upload is the whole bundle
        return {}


def render_designer(problems: list[Problem] | None = None, status: int = 200) -> tuple[str, int]:
    """Versions with running counts; the upload form for those who may deploy; the last deploy's problems."""
    who = actor()
    versions = list_process_versions(uow(), who)
    expect_people(v.deployed_by for v in versions)  # named in one statement
    return render_template("designer/index.html", versions=versions, problems=problems or [],
                           can_deploy=who.has(*DEPLOYERS), files=sorted(_active_files())), status


@bp.get("")
@login_required
def index() -> tuple[str, int]:
    """The deployed process versions."""
    return render_designer()


@bp.post("")
@login_required
def deploy() -> Any:
    """Merge the uploads onto the active configuration (or replace it) and deploy; list every problem."""
    who = actor()
    require(who, *DEPLOYERS, action="deploy configuration")
    uploads = [f for f in request.files.getlist("files") if f.filename]
    if not uploads:
        return render_designer([Problem("", None, None, t("designer.no_files"))], status=422)
    files, problems = uploaded_files(uploads)
    if problems:
        return render_designer(problems, status=422)
    merged = files if request.form.get("replace") else {**_active_files(), **files}
    warnings: list[Problem] = []
    try:
        report = deploy_bundle(uow(), who, merged, now(), warnings=warnings)
    except ConfigError as exc:
        return render_designer(exc.problems, status=422)
    if warnings:
        flash(t("camunda.warnings", n=len(warnings)), "warning")
        for warning in warnings:
            flash(problem_line(warning), "warning")
    if report.new_versions:
        names = ", ".join(f"{v.name} v{v.version}" for v in report.new_versions)
        flash(t("designer.deployed", versions=names), "success")
    elif report.config_changed:
        flash(t("designer.deployed_config"), "success")
    else:
        flash(t("designer.unchanged"), "info")
    return redirect(url_for("designer.index"))


@bp.get("/versions/<int:version_id>")
@login_required
def version(version_id: int) -> str:
    """One process version drawn as a diagram (bpmn-js reads the XML route below)."""
    view, _ = get_process_version(uow(), actor(), version_id)
    view = next((v for v in list_process_versions(uow(), actor()) if v.id == version_id), view)  # with its count
    return render_template("designer/version.html", version=view)


@bp.get("/versions/<int:version_id>/diagram.json")
@login_required
def version_diagram(version_id: int) -> Response:
    """The version's BPMN XML to draw, its names in the user's language (the .bpmn download stays as deployed)."""
    view, xml = get_process_version(uow(), actor(), version_id)
    return jsonify({"process_id": view.process_id, "version": view.version,
                    "xml": labelled_diagram(xml, view.process_id)})


@bp.get("/versions/<int:version_id>.bpmn")
@login_required
def version_xml(version_id: int) -> Response:
    """The BPMN XML of one process version, as deployed."""
    view, xml = get_process_version(uow(), actor(), version_id)
    response = Response(xml, mimetype="application/xml")
    response.headers["Content-Disposition"] = f'inline; filename="{view.process_id}-v{view.version}.bpmn"'
    return response
