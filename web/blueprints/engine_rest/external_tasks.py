"""/engine-rest/external-task: fetchAndLock (long polling), complete, failure, bpmnError, extendLock, unlock, and
the list, count and get of external tasks, in Camunda 7's request and response shapes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Response, jsonify, request

from engine.services import external_tasks as service
from engine.services.external_tasks import ExternalTaskView, FetchRequest, TopicRequest
from web import now, uow
from web.blueprints.engine_rest.base import BadRequest, actor, body, bp, field, no_content
from web.blueprints.engine_rest.variables import plain_all, typed_all


def camunda_time(moment: datetime | None) -> str | None:
    """A timestamp as Camunda writes it: 2026-03-01T10:00:00.000+0000."""
    if moment is None:
        return None
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def task_json(task: ExternalTaskView, *, locked: bool = False) -> dict[str, Any]:
    """Camunda's ExternalTaskDto (LockedExternalTaskDto with variables when `locked`)."""
    data: dict[str, Any] = {
        "id": task.id,
        "topicName": task.topic,
        "workerId": task.worker_id,
        "lockExpirationTime": camunda_time(task.lock_expires_at),
        "retries": task.retries,
        "errorMessage": task.error_message,
        "errorDetails": task.error_details if locked else None,
        "priority": task.priority,
        "processInstanceId": str(task.instance_id),
        "executionId": str(task.instance_id),
        "activityId": task.activity_id,
        "activityInstanceId": f"{task.activity_id}:{task.id}",
        "processDefinitionKey": task.process_id,
        "processDefinitionId": task.process_id,
        "processDefinitionVersionTag": None,
        "businessKey": task.business_key,
        "tenantId": None,
        "suspended": False,
        "createTime": camunda_time(task.created_at),
    }
    if locked:
        data["variables"] = typed_all(task.variables)
        data["extensionProperties"] = {}
    else:
        data.pop("errorDetails")
    return data


def _topic(item: Any, index: int) -> TopicRequest:
    where = f"topics[{index}]"
    if not isinstance(item, dict):
        raise BadRequest(f"{where} must be an object with topicName and lockDuration")
    name = field(item, "topicName", str)
    lock = field(item, "lockDuration", int)
    if not name:
        raise BadRequest(f"{where}.topicName is required")
    if lock is None or lock <= 0:
        raise BadRequest(f"{where}.lockDuration must be a positive number of milliseconds, got {lock!r}")
    variables = field(item, "variables", list)
    if variables is not None and not all(isinstance(v, str) for v in variables):
        raise BadRequest(f"{where}.variables must list variable names")
    if item.get("processVariables"):  # Camunda filters by variable values; refused rather than ignored
        raise BadRequest(f"{where}.processVariables: filtering by variable values is not supported here")
    keys = field(item, "processDefinitionKeyIn", list) or []
    key = field(item, "processDefinitionKey", str)
    return TopicRequest(
        name,
        lock,
        None if variables is None else tuple(variables),
        field(item, "businessKey", str),
        tuple(str(k) for k in keys) + ((key,) if key else ()),
    )


def _fetch_request(data: dict[str, Any]) -> FetchRequest:
    worker = field(data, "workerId", str, required=True)
    max_tasks = field(data, "maxTasks", int, required=True)
    if not 0 <= max_tasks <= service.MAX_TASKS:
        raise BadRequest(f"maxTasks must be from 0 to {service.MAX_TASKS}, got {max_tasks}")
    wait = field(data, "asyncResponseTimeout", int, default=0)
    if wait < 0:
        raise BadRequest(f"asyncResponseTimeout must not be negative, got {wait}")
    topics = field(data, "topics", list, default=[])
    return FetchRequest(
        worker,
        max_tasks,
        tuple(_topic(t, i) for i, t in enumerate(topics)),
        bool(field(data, "usePriority", bool, default=False)),
        wait,
    )


@bp.post("/external-task/fetchAndLock")
def fetch_and_lock() -> Response:
    """Lock free tasks of the topics for the worker; with asyncResponseTimeout, wait for one (long polling)."""
    fetch = _fetch_request(body())
    if not fetch.topics or fetch.max_tasks == 0:
        return jsonify([])
    found = service.fetch_and_lock_waiting(uow(), actor(), fetch, now)
    return jsonify([task_json(t, locked=True) for t in found])


@bp.post("/external-task/<id>/complete")
def complete(id: str) -> Response:
    """Complete a locked task with variables (into the process) and localVariables (kept on the task)."""
    data = body()
    service.complete(
        uow(),
        actor(),
        id,
        field(data, "workerId", str, required=True),
        plain_all("variables", data.get("variables")),
        plain_all("localVariables", data.get("localVariables")),
        now(),
    )
    return no_content()


@bp.post("/external-task/<id>/failure")
def failure(id: str) -> Response:
    """Report a failure: retries left (fetchable again after retryTimeout) or 0 (an incident)."""
    data = body()
    retries = field(data, "retries", int, required=True)
    timeout = field(data, "retryTimeout", int, default=0)
    if retries < 0:
        raise BadRequest(f"retries must not be negative, got {retries}")
    if timeout < 0:
        raise BadRequest(f"retryTimeout must not be negative, got {timeout}")
    service.report_failure(
        uow(),
        actor(),
        id,
        field(data, "workerId", str, required=True),
        field(data, "errorMessage", str),
        field(data, "errorDetails", str),
        retries,
        timeout,
        now(),
    )
    return no_content()


@bp.post("/external-task/<id>/bpmnError")
def bpmn_error(id: str) -> Response:
    """Throw a BPMN error from the task to the error boundary event attached to it."""
    data = body()
    service.throw_bpmn_error(
        uow(),
        actor(),
        id,
        field(data, "workerId", str, required=True),
        field(data, "errorCode", str, required=True),
        field(data, "errorMessage", str),
        plain_all("variables", data.get("variables")),
        now(),
    )
    return no_content()


@bp.post("/external-task/<id>/extendLock")
def extend_lock(id: str) -> Response:
    """Move the end of the worker's lock to newDuration milliseconds from now."""
    data = body()
    service.extend_lock(
        uow(),
        actor(),
        id,
        field(data, "workerId", str, required=True),
        field(data, "newDuration", int, required=True),
        now(),
    )
    return no_content()


@bp.post("/external-task/<id>/unlock")
def unlock(id: str) -> Response:
    """Release the task's lock."""
    service.unlock(uow(), actor(), id, now())
    return no_content()


_FLAGS = {
    "locked": "locked",
    "notLocked": "not_locked",
    "withRetriesLeft": "with_retries_left",
    "noRetriesLeft": "no_retries_left",
}
_EQUALS = {
    "topicName": "topic",
    "workerId": "worker_id",
    "activityId": "activity_id",
    "businessKey": "business_key",
    "processDefinitionKey": "process_id",
    "externalTaskId": "id",
}


def _filters() -> dict[str, Any]:
    filters: dict[str, Any] = {key: request.args[name] for name, key in _EQUALS.items() if request.args.get(name)}
    for name, key in _FLAGS.items():
        raw = request.args.get(name)
        if raw not in (None, "", "true", "false"):
            raise BadRequest(f"query parameter {name} must be true or false, got {raw!r}")
        filters[key] = raw == "true"
    instance = request.args.get("processInstanceId")
    if instance:
        if not instance.isdigit():
            raise BadRequest(f"query parameter processInstanceId must be a process instance number, got {instance!r}")
        filters["instance_id"] = int(instance)
    return filters


def _int_arg(name: str) -> int | None:
    raw = request.args.get(name)
    if raw in (None, ""):
        return None
    if not raw.isdigit():
        raise BadRequest(f"query parameter {name} must be a whole number, got {raw!r}")
    return int(raw)


@bp.get("/external-task")
def list_tasks() -> Response:
    """External tasks by Camunda's query parameters, with firstResult / maxResults paging."""
    tasks, _ = service.list_tasks(
        uow(), actor(), _filters(), now(), _int_arg("maxResults"), _int_arg("firstResult") or 0
    )
    return jsonify([task_json(t) for t in tasks])


@bp.get("/external-task/count")
def count_tasks() -> Response:
    """How many external tasks match the query parameters."""
    _, total = service.list_tasks(uow(), actor(), _filters(), now(), 0, 0)
    return jsonify({"count": total})


@bp.get("/external-task/<id>")
def get_task(id: str) -> Response:
    """One external task."""
    return jsonify(task_json(service.get_task(uow(), actor(), id)))
