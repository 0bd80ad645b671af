"""/engine-rest/process-definition/key/{key}/start: start a process with Camunda-typed variables."""

from __future__ import annotations

from flask import Response, jsonify, request

from engine.services.rest_starts import start_by_key
from web import now, uow
from web.blueprints.engine_rest.base import BASE, actor, body, bp, field
from web.blueprints.engine_rest.variables import plain_all, typed_all


@bp.post("/process-definition/key/<key>/start")
def start(key: str) -> Response:
    """Start the newest version of process `key`; Camunda's ProcessInstanceWithVariablesDto."""
    data = body()
    variables = plain_all("variables", data.get("variables"))
    business_key = field(data, "businessKey", str)
    instance = start_by_key(uow(), actor(), key, business_key, variables, now())
    result = {
        "links": [
            {
                "method": "GET",
                "href": f"{request.host_url.rstrip('/')}{BASE}/process-instance/{instance.id}",
                "rel": "self",
            }
        ],
        "id": str(instance.id),
        "definitionId": f"{instance.process_id}:{instance.version}",
        "businessKey": business_key,
        "caseInstanceId": None,
        "ended": instance.status != "running",
        "suspended": False,
        "tenantId": None,
    }
    if field(data, "withVariablesInReturn", bool, default=False):
        result["variables"] = typed_all(variables)
    return jsonify(result)
