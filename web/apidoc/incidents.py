"""OpenAPI part: incidents, job items parked after their retries (web/blueprints/api/incidents.py)."""

from __future__ import annotations

from typing import Any

from web.openapi import _TIME, _TIME_OR_NULL, Schema, _errors, _nullable, _object, _ok, _op, _p, _param, _ref

TAGS = ("incidents",)

_KINDS = ["timer", "reminder", "outbox", "rule", "scan"]

SCHEMAS: dict[str, Schema] = {
    "Incident": _object(
        {
            "id": {"type": "integer"},
            "kind": {
                "enum": _KINDS,
                "description": "the job kind: a BPMN timer, a reminder, an e-mail of the outbox, "
                "a scheduled rule or a scheduled duplicate scan",
            },
            "job_key": {
                "type": "string",
                "description": "the job row: timer, reminder or outbox id; rule or scan schedule name",
            },
            "instance_id": _nullable("integer"),
            "task_id": _nullable("string"),
            "record_id": _nullable("integer"),
            "error": {"type": "string", "description": "the last error, naming what failed"},
            "attempts": {"type": "integer", "description": "failed attempts before the job was parked"},
            "created_at": _TIME,
            "resolved_at": _TIME_OR_NULL,
            "resolved_by": _nullable("string", description="who retried it"),
        }
    ),
    "IncidentPage": _object(
        {
            "items": {"type": "array", "items": _ref("Incident")},
            "total": {"type": "integer"},
            "limit": {"type": "integer"},
            "offset": {"type": "integer"},
        }
    ),
}

PARAMETERS: dict[str, Schema] = {
    "incident_id": _param("incident_id", "path", {"type": "integer"}, "incident id (Incident.id)"),
}

PATHS: dict[str, Any] = {
    "/incidents": {
        "get": _op(
            "Incidents: background jobs parked after their retries",
            "listIncidents",
            "incidents",
            {**_ok("Incidents, newest first", _ref("IncidentPage")), **_errors(400, 403, 422)},
            parameters=[
                _param("kind", "query", {"enum": _KINDS}, "only this job kind"),
                _param("state", "query", {"enum": ["open", "resolved"]}, "open or resolved ones only"),
                _param(
                    "instance_id",
                    "query",
                    {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
                    "only incidents of this process instance",
                ),
                *_p("limit", "offset"),
            ],
            description="Admins, designers and auditors. A job item (timer, reminder, e-mail, scheduled rule or scan) "
            "that failed, was retried with backoff FLOWCRM_JOB_RETRIES times and failed again is parked "
            "as an incident: it is not run again until retried; every other job goes on.",
        )
    },
    "/incidents/{incident_id}/retry": {
        "post": _op(
            "Retry an incident's job",
            "retryIncident",
            "incidents",
            {**_ok("The resolved incident", _ref("Incident")), **_errors(403, 404, 409)},
            parameters=_p("incident_id"),
            description="Admins and designers. Resolves the incident (who, when) and makes its job due now with its "
            "attempts counted afresh; the next worker tick runs it. The instance's history gets an "
            "`incident_retried` step. 409 when it was already resolved.",
        )
    },
}
