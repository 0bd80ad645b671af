"""The /engine-rest blueprint: bearer-token authentication (as /api/v1) and Camunda's error bodies and codes."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from engine.errors import ConflictError, FlowError, Forbidden, NotFound, ValidationError
from engine.services.external_tasks import LockError
from engine.services.rest_messages import MismatchingCorrelation
from engine.services.views import Actor
from web import csrf
from web.auth import current_actor_from_token

BASE = "/engine-rest"
bp = Blueprint("engine_rest", __name__, url_prefix=BASE)
csrf.exempt(bp)  # bearer tokens, not cookies, authenticate: there is no cross-site request to forge

# Camunda's exception type names and statuses (docs.camunda.org, REST API reference, "Introduction")
_TYPES: list[tuple[type[FlowError], int, str]] = [
    (LockError, 400, "BadUserRequestException"),
    (MismatchingCorrelation, 400, "MismatchingMessageCorrelationException"),
    (ValidationError, 400, "InvalidRequestException"),
    (NotFound, 404, "InvalidRequestException"),
    (Forbidden, 403, "AuthorizationException"),
    (ConflictError, 500, "ProcessEngineException"),
]


def camunda_error(status: int, kind: str, message: str) -> Response:
    """A Camunda error response: `{"type": ..., "message": ...}`."""
    response = jsonify({"type": kind, "message": message})
    response.status_code = status
    return response


class BadRequest(HTTPException):
    """A malformed request body or parameter: Camunda's 400 InvalidRequestException, naming the field."""

    code = 400


@bp.before_request
def _authenticate() -> Response | None:
    """Every route needs `Authorization: Bearer <token>` (a token of a user with the worker or admin role)."""
    found = current_actor_from_token()  # never the browser session: a cookie must not drive the protocol
    if found is None:
        response = camunda_error(
            401,
            "AuthenticationException",
            "send an API token as 'Authorization: Bearer <token>' (see `flowcrm create-token`)",
        )
        response.headers["WWW-Authenticate"] = 'Bearer realm="flowcrm"'
        return response
    g.actor = found
    return None


@bp.errorhandler(FlowError)
def _flow_error(exc: FlowError) -> Response:
    status, kind = next(((s, k) for cls, s, k in _TYPES if isinstance(exc, cls)), (500, "ProcessEngineException"))
    message = str(exc)
    if isinstance(exc, ValidationError):
        message = "; ".join(f"{field}: {' '.join(errors)}" for field, errors in exc.errors.items())
    return camunda_error(status, kind, message)


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Response:
    kind = "InvalidRequestException" if exc.code == 400 else "RestException"
    return camunda_error(exc.code or 500, kind, exc.description or exc.name)


def actor() -> Actor:
    """The token holder of this request."""
    found: Actor = g.actor
    return found


def body() -> dict[str, Any]:
    """The request's JSON object (an empty body reads as {}); 400 naming the problem otherwise."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise BadRequest(f"the body must be a JSON object, not {type(value).__name__}")
    return value


def field(
    data: dict[str, Any], name: str, kind: type | tuple[type, ...], *, required: bool = False, default: Any = None
) -> Any:
    """A body field of the given JSON type; 400 naming the field when it is missing or of another type."""
    value = data.get(name)
    if value is None:
        if required:
            raise BadRequest(f"{name} is required")
        return default
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _tuple(kind)):
        names = " or ".join(k.__name__ for k in _tuple(kind))
        raise BadRequest(f"{name} must be {names}, not {type(value).__name__} {value!r}")
    return value


def _tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def no_content() -> Response:
    """Camunda's 204."""
    return Response(status=204)
