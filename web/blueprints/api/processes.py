"""API: process instances, process versions and deployments of configuration."""

from __future__ import annotations

from flask import Response, url_for
from werkzeug.exceptions import BadRequest

from engine.services import deployments, instances
from web import now, uow
from web.blueprints.api.base import actor, bp, id_value, json_body, only_keys, reply


@bp.post("/instances")
def start_instance() -> Response:
    """Start the newest version of a process: `{"process_id": "...", "record_id": n}`."""
    body = json_body()
    only_keys(body, {"process_id", "record_id"})
    process_id, record_id = body.get("process_id"), body.get("record_id")
    if not isinstance(process_id, str) or not process_id:
        raise BadRequest("'process_id' must be a non-empty string")
    if record_id is not None:
        record_id = id_value(record_id, "record_id", "an integer or null")
    instance = instances.start_process(uow(), actor(), process_id, record_id, now())
    return reply(instance, 201, url_for("api.get_instance", instance_id=instance.id))


@bp.get("/instances/<int:instance_id>")
def get_instance(instance_id: int) -> Response:
    """An instance with every step it took and its tasks."""
    return reply(instances.get_instance(uow(), actor(), instance_id))


@bp.get("/process-versions")
def list_process_versions() -> Response:
    """Every deployed process version with its count of running instances."""
    return reply({"items": deployments.list_process_versions(uow(), actor())})


@bp.post("/deployments")
def deploy() -> Response:
    """Deploy `{"files": {path: text | null}}` merged over the active configuration (null deletes a file)."""
    body = json_body()
    only_keys(body, {"files"})
    files = body.get("files")
    if not isinstance(files, dict) or not files:
        raise BadRequest("'files' must be a non-empty JSON object of bundle paths to file texts")
    bad = sorted(p for p, text in files.items() if text is not None and not isinstance(text, str))
    if bad:
        raise BadRequest(f"file texts must be strings (or null to delete): {', '.join(bad)}")
    merged = deployments.active_files(uow())
    for path, text in files.items():
        if text is None:
            merged.pop(path, None)
        else:
            merged[path] = text
    return reply(deployments.deploy_bundle(uow(), actor(), merged, now()))
