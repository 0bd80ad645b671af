"""OpenAPI part: the Camunda 7 REST protocol at /engine-rest (web/blueprints/engine_rest; docs/external-tasks.md)."""

from __future__ import annotations

from typing import Any

from web.openapi import Schema, _body, _json, _nullable, _object, _ok, _op, _param, _ref

TAGS = ("engine-rest",)
_SERVERS = [{"url": "/engine-rest", "description": "Camunda 7 compatible base path"}]
_WHO = "Bearer token of a user with the `worker` role (a service account) or `admin` (permission `engine_rest.call`). "
_VARIABLE = _object(
    {
        "value": {"description": "the value; Json values as JSON text or as JSON, Dates as yyyy-MM-dd'T'HH:mm:ss.SSSZ"},
        "type": {
            "enum": ["String", "Integer", "Short", "Long", "Double", "Boolean", "Json", "Date", "Null"],
            "description": "Camunda's value type; without it the JSON value is taken as it is",
        },
        "valueInfo": {"type": "object"},
    },
    required=["value"],
    closed=False,
)
_VARIABLES: Schema = {"type": "object", "additionalProperties": _ref("CamundaVariable")}


def _error(*codes: int) -> dict[str, Any]:
    what = {
        400: "InvalidRequestException (a field named in the message) or BadUserRequestException (the task's lock "
        "belongs to another worker, or to none)",
        401: "AuthenticationException: no or unknown token",
        403: "AuthorizationException: the token's user lacks engine_rest.call",
        404: "InvalidRequestException: no such external task (a wrong id, or a task already completed or "
        "cancelled by a boundary event)",
        500: "ProcessEngineException: the process could not go on",
    }
    return {
        str(c): {"description": what[c], "content": _json(_ref("CamundaError"))} for c in sorted({401, 403, *codes})
    }


def _no_content(summary: str, op_id: str, body: Schema | None, description: str, *codes: int) -> dict[str, Any]:
    extra: dict[str, Any] = {"requestBody": _body(body, "the worker and what it reports")} if body else {}
    return _op(
        summary,
        op_id,
        "engine-rest",
        {"204": {"description": "Done"}, **_error(*codes)},
        parameters=[_param("id", "path", {"type": "string"}, "the external task id")],
        description=_WHO + description,
        **extra,
    )


_TASK = {
    "id": {"type": "string"},
    "topicName": {"type": "string"},
    "workerId": _nullable("string"),
    "lockExpirationTime": _nullable("string", description="yyyy-MM-dd'T'HH:mm:ss.SSSZ (UTC)"),
    "retries": _nullable("integer", description="null until a worker reports a failure; 0: an incident"),
    "errorMessage": _nullable("string"),
    "priority": {"type": "integer", "description": "camunda:taskPriority"},
    "processInstanceId": {"type": "string"},
    "executionId": {"type": "string"},
    "activityId": {"type": "string"},
    "activityInstanceId": {"type": "string"},
    "processDefinitionKey": {"type": "string"},
    "processDefinitionId": {"type": "string"},
    "processDefinitionVersionTag": {"type": "null"},
    "businessKey": _nullable("string", description="the record id of the instance, when it runs on a record"),
    "tenantId": {"type": "null"},
    "suspended": {"type": "boolean"},
    "createTime": {"type": "string"},
}

SCHEMAS: dict[str, Schema] = {
    "CamundaError": _object({"type": {"type": "string"}, "message": {"type": "string"}}),
    "CamundaVariable": _VARIABLE,
    "ExternalTask": _object(_TASK),
    "LockedExternalTask": _object(
        {
            **_TASK,
            "errorDetails": _nullable("string"),
            "variables": _VARIABLES,
            "extensionProperties": {"type": "object"},
        }
    ),
    "FetchAndLock": _object(
        {
            "workerId": {"type": "string"},
            "maxTasks": {"type": "integer", "minimum": 0, "maximum": 100},
            "usePriority": {"type": "boolean", "description": "highest camunda:taskPriority first"},
            "asyncResponseTimeout": {
                "type": "integer",
                "minimum": 0,
                "description": "long polling: wait up to this many milliseconds (at most 60000) for a task",
            },
            "topics": {
                "type": "array",
                "items": _object(
                    {
                        "topicName": {"type": "string"},
                        "lockDuration": {"type": "integer", "minimum": 1, "description": "milliseconds"},
                        "variables": {"type": "array", "items": {"type": "string"}, "description": "only these"},
                        "businessKey": {"type": "string"},
                        "processDefinitionKey": {"type": "string"},
                        "processDefinitionKeyIn": {"type": "array", "items": {"type": "string"}},
                    },
                    required=["topicName", "lockDuration"],
                    closed=False,
                ),
            },
        },
        required=["workerId", "maxTasks"],
        closed=False,
    ),
    "CompleteExternalTask": _object(
        {"workerId": {"type": "string"}, "variables": _VARIABLES, "localVariables": _VARIABLES},
        required=["workerId"],
    ),
    "ExternalTaskFailure": _object(
        {
            "workerId": {"type": "string"},
            "errorMessage": {"type": "string"},
            "errorDetails": {"type": "string"},
            "retries": {"type": "integer", "minimum": 0},
            "retryTimeout": {"type": "integer", "minimum": 0, "description": "milliseconds before a refetch"},
        },
        required=["workerId", "retries"],
    ),
    "ExternalTaskBpmnError": _object(
        {
            "workerId": {"type": "string"},
            "errorCode": {"type": "string"},
            "errorMessage": {"type": "string"},
            "variables": _VARIABLES,
        },
        required=["workerId", "errorCode"],
    ),
    "ExtendLock": _object({"workerId": {"type": "string"}, "newDuration": {"type": "integer", "minimum": 0}}),
}

_QUERY = [
    _param("topicName", "query", {"type": "string"}, "tasks of this topic"),
    _param("workerId", "query", {"type": "string"}, "tasks locked by this worker"),
    _param("locked", "query", {"enum": ["true", "false"]}, "only tasks locked now"),
    _param("notLocked", "query", {"enum": ["true", "false"]}, "only tasks free now"),
    _param("withRetriesLeft", "query", {"enum": ["true", "false"]}, "only tasks that are not incidents"),
    _param("noRetriesLeft", "query", {"enum": ["true", "false"]}, "only incidents"),
    _param("processInstanceId", "query", {"type": "string"}, "tasks of this instance"),
    _param("processDefinitionKey", "query", {"type": "string"}, "tasks of this process"),
    _param("activityId", "query", {"type": "string"}, "tasks of this BPMN element"),
    _param("businessKey", "query", {"type": "string"}, "tasks of instances on this record id"),
    _param("externalTaskId", "query", {"type": "string"}, "one task"),
]

PATHS: dict[str, Any] = {
    "/external-task/fetchAndLock": {
        "servers": _SERVERS,
        "post": _op(
            "Fetch and lock external tasks",
            "fetchAndLock",
            "engine-rest",
            {
                **_ok("The locked tasks (possibly none)", {"type": "array", "items": _ref("LockedExternalTask")}),
                **_error(400),
            },
            requestBody=_body(_ref("FetchAndLock"), "the worker, how many tasks, the topics"),
            description=_WHO + "Locks up to maxTasks free tasks of the topics for lockDuration (per topic); a "
            "task whose lock expired is free again (at least once). With asyncResponseTimeout the call waits, "
            "looking every 0.25 s, until a task appears or the time is up.",
        ),
    },
    "/external-task/{id}/complete": {
        "servers": _SERVERS,
        "post": _no_content(
            "Complete an external task",
            "completeExternalTask",
            _ref("CompleteExternalTask"),
            "variables go into the process; localVariables stay on the task (instance history).",
            400,
            404,
            500,
        ),
    },
    "/external-task/{id}/failure": {
        "servers": _SERVERS,
        "post": _no_content(
            "Report a failure",
            "handleExternalTaskFailure",
            _ref("ExternalTaskFailure"),
            "Retries left: fetchable again after retryTimeout. Retries 0: an incident (kind "
            "external) on /admin/incidents and the instance page; retrying it sets retries to 1.",
            400,
            404,
        ),
    },
    "/external-task/{id}/bpmnError": {
        "servers": _SERVERS,
        "post": _no_content(
            "Throw a BPMN error",
            "handleExternalTaskBpmnError",
            _ref("ExternalTaskBpmnError"),
            "An error boundary event on the task with that errorCode (or none) catches it; when "
            "none does, the task becomes an incident naming the code.",
            400,
            404,
            500,
        ),
    },
    "/external-task/{id}/extendLock": {
        "servers": _SERVERS,
        "post": _no_content(
            "Extend a lock",
            "extendExternalTaskLock",
            _ref("ExtendLock"),
            "Only the worker holding an unexpired lock.",
            400,
            404,
        ),
    },
    "/external-task/{id}/unlock": {
        "servers": _SERVERS,
        "post": _no_content("Unlock an external task", "unlockExternalTask", None, "Whoever holds it.", 404),
    },
    "/external-task": {
        "servers": _SERVERS,
        "get": _op(
            "External tasks",
            "listExternalTasks",
            "engine-rest",
            {**_ok("Matching tasks, oldest first", {"type": "array", "items": _ref("ExternalTask")}), **_error(400)},
            parameters=[
                *_QUERY,
                _param("firstResult", "query", {"type": "integer", "minimum": 0}, "skip this many"),
                _param("maxResults", "query", {"type": "integer", "minimum": 0}, "at most this many"),
            ],
            description=_WHO,
        ),
    },
    "/external-task/count": {
        "servers": _SERVERS,
        "get": _op(
            "Count external tasks",
            "countExternalTasks",
            "engine-rest",
            {**_ok("How many match", _object({"count": {"type": "integer"}})), **_error(400)},
            parameters=_QUERY,
            description=_WHO,
        ),
    },
    "/external-task/{id}": {
        "servers": _SERVERS,
        "get": _op(
            "One external task",
            "getExternalTask",
            "engine-rest",
            {**_ok("The task", _ref("ExternalTask")), **_error(404)},
            parameters=[_param("id", "path", {"type": "string"}, "the external task id")],
            description=_WHO,
        ),
    },
}

SCHEMAS["StartProcessByKey"] = _object(
    {
        "variables": _VARIABLES,
        "businessKey": {"type": "string", "description": "the id of the record the process runs on (flowcrm.entity)"},
        "withVariablesInReturn": {"type": "boolean", "description": "echo the start variables, typed"},
    },
    required=[],
    closed=False,
)
SCHEMAS["ProcessInstanceWithVariables"] = _object(
    {
        "links": {"type": "array", "items": {"type": "object"}},
        "id": {"type": "string", "description": "the process instance id"},
        "definitionId": {"type": "string", "description": "process id:version"},
        "businessKey": _nullable("string"),
        "caseInstanceId": {"type": "null"},
        "ended": {"type": "boolean"},
        "suspended": {"type": "boolean"},
        "tenantId": {"type": "null"},
        "variables": _VARIABLES,
    },
    required=["id", "definitionId", "businessKey", "ended", "suspended"],
)
PATHS["/process-definition/key/{key}/start"] = {
    "servers": _SERVERS,
    "post": _op(
        "Start a process by its id",
        "startProcessByKey",
        "engine-rest",
        {**_ok("The started instance", _ref("ProcessInstanceWithVariables")), **_error(400, 404)},
        parameters=[_param("key", "path", {"type": "string"}, "the BPMN process id")],
        requestBody=_body(_ref("StartProcessByKey"), "start variables (Camunda-typed) and the business key"),
        description=_WHO + "Starts the newest deployed version with the variables as its start data. The business "
        "key is the record id for a process on an entity (required there, refused for a process without one).",
    ),
}

SCHEMAS["CorrelationMessage"] = _object(
    {
        "messageName": {"type": "string"},
        "businessKey": {"type": "string", "description": "the record id the waiting instance runs on"},
        "processInstanceId": {"type": "string"},
        "correlationKeys": {**_VARIABLES, "description": "variables the waiting task must hold with these values"},
        "processVariables": {**_VARIABLES, "description": "set on the instance with the message"},
        "all": {"type": "boolean", "description": "reach every matching instance, not exactly one"},
        "resultEnabled": {"type": "boolean", "description": "answer 200 with the results instead of 204"},
    },
    required=["messageName"],
    closed=False,
)
PATHS["/message"] = {
    "servers": _SERVERS,
    "post": _op(
        "Correlate a message",
        "correlateMessage",
        "engine-rest",
        {
            "200": {
                "description": "With resultEnabled: one result per instance reached or started",
                "content": _json({"type": "array", "items": {"type": "object"}}),
            },
            "204": {"description": "Delivered"},
            **_error(400),
        },
        requestBody=_body(_ref("CorrelationMessage"), "the message and how to find its instance"),
        description=_WHO + "Delivers the message to the instance waiting for it (matched by businessKey, "
        "processInstanceId, correlationKeys); more than one match needs `all`. When none waits, the processes "
        "whose start event catches the message are started (a process on an entity needs its record id as "
        "businessKey). 400 MismatchingMessageCorrelationException when nothing or too much matches.",
    ),
}

SCHEMAS["Signal"] = _object(
    {"name": {"type": "string"}, "variables": _VARIABLES},
    required=["name"],
    closed=False,
)
PATHS["/signal"] = {
    "servers": _SERVERS,
    "post": _op(
        "Broadcast a signal",
        "throwSignal",
        "engine-rest",
        {"204": {"description": "Delivered to every waiting instance (possibly none)"}, **_error(400)},
        requestBody=_body(_ref("Signal"), "the signal name and variables"),
        description=_WHO + "Every running instance with a signal catch event (intermediate or boundary) waiting "
        "for the signal gets the variables and goes on. Signal start events are not started by it.",
    ),
}
