"""/engine-rest/message: correlate a message (Camunda's CorrelationMessageDto) to waiting instances or start a
process by its message start event."""

from __future__ import annotations

from flask import Response, jsonify

from engine.services.rest_messages import Correlation, Delivery, correlate_message
from web import now, uow
from web.blueprints.engine_rest.base import BadRequest, actor, body, bp, field, no_content
from web.blueprints.engine_rest.variables import plain_all


def _result(delivery: Delivery) -> dict[str, object]:
    instance = {
        "id": str(delivery.instance_id),
        "definitionId": f"{delivery.process_id}:{delivery.version}",
        "ended": delivery.ended,
        "suspended": False,
        "tenantId": None,
    }
    if delivery.kind == "Execution":
        execution = {
            "id": str(delivery.instance_id),
            "processInstanceId": str(delivery.instance_id),
            "ended": delivery.ended,
            "tenantId": None,
        }
        return {"resultType": "Execution", "execution": execution, "processInstance": None}
    return {"resultType": "ProcessDefinition", "execution": None, "processInstance": instance}


@bp.post("/message")
def correlate() -> Response:
    """Deliver a message; 204, or the results with resultEnabled."""
    data = body()
    instance = field(data, "processInstanceId", str)
    if instance is not None and not instance.isdigit():
        raise BadRequest(f"processInstanceId must be a process instance number, got {instance!r}")
    request = Correlation(
        name=field(data, "messageName", str, required=True),
        business_key=field(data, "businessKey", str),
        instance_id=int(instance) if instance else None,
        keys=plain_all("correlationKeys", data.get("correlationKeys")),
        variables=plain_all("processVariables", data.get("processVariables")),
        all=bool(field(data, "all", bool, default=False)),
    )
    deliveries = correlate_message(uow(), actor(), request, now())
    if field(data, "resultEnabled", bool, default=False):
        return jsonify([_result(d) for d in deliveries])
    return no_content()
