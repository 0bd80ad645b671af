"""The API blueprint, bearer-token authentication and the JSON helpers every API route uses."""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import Blueprint, Response, g, jsonify, request
from werkzeug.exceptions import BadRequest

from engine.errors import ValidationError
from engine.input_limits import MAX_ID, MAX_INT
from engine.services.views import Actor
from web import csrf
from web.auth import current_actor_from_token
from web.edge import json_body_of_request

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # bearer tokens, not cookies, authenticate the API: there is no cross-site request to forge

PUBLIC_ENDPOINTS = frozenset({"api.openapi"})
MAX_LIMIT = 500


def _unauthorized(message: str) -> Response:
    response = jsonify({"error": "Unauthorized", "message": message})
    response.status_code = 401
    response.headers["WWW-Authenticate"] = 'Bearer realm="flowcrm"'
    return response


@bp.before_request
def _authenticate() -> Response | None:
    """Every route but the OpenAPI document needs `Authorization: Bearer <token>`."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return _unauthorized("send an API token as 'Authorization: Bearer <token>' (see `flowcrm create-token`)")
    # web.auth.load_actor (app-wide, runs first) has already resolved the token of /api/ requests
    found = g.get("actor") or current_actor_from_token()
    if found is None:
        return _unauthorized("unknown or revoked API token")
    g.actor = found
    return None


def actor() -> Actor:
    """The token holder of this request."""
    found: Actor = g.actor
    return found


def to_json(value: Any) -> Any:
    """Views (dataclasses) to JSON-ready data; datetimes and dates as ISO 8601, decimals as strings."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted(to_json(v) for v in value)
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    return value


def reply(value: Any, status: int = 200, location: str | None = None) -> Response:
    """A JSON response of a view or of plain data."""
    response = jsonify(to_json(value))
    response.status_code = status
    if location:
        response.headers["Location"] = location
    return response


def json_body() -> dict[str, Any]:
    """The request's JSON object; 400 with the reason when it is missing, not JSON, too deep or not an object
    (web.edge bounds its size and refuses texts and numbers the stores cannot keep)."""
    if not request.is_json:
        raise BadRequest("send a JSON object with 'Content-Type: application/json'")
    body = json_body_of_request()
    if not isinstance(body, dict):
        raise BadRequest(f"the body must be a JSON object, not {type(body).__name__}")
    return body


def only_keys(body: dict[str, Any], allowed: set[str]) -> None:
    """400 when the body has keys this route does not read (a typo would otherwise be silently ignored)."""
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise BadRequest(f"unknown key(s) {', '.join(unknown)}; expected: {', '.join(sorted(allowed))}")


def id_value(value: Any, name: str, what: str = "the integer id of a record") -> int:
    """An id from a JSON body: 400 when not an integer, 422 naming it when beyond what an id column holds."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise BadRequest(f"{name!r} must be {what}")
    if not 1 <= value <= MAX_ID:
        raise ValidationError({name: [f"must be an id between 1 and {MAX_ID}"]})
    return value


def int_arg(name: str, default: int, minimum: int, maximum: int | None = None) -> int:
    """An integer query parameter within bounds; 400 otherwise."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise BadRequest(f"query parameter {name!r} must be an integer, got {raw!r}") from exc
    maximum = MAX_INT if maximum is None else maximum  # what an SQL LIMIT/OFFSET takes on both databases
    if not minimum <= value <= maximum:
        raise BadRequest(f"query parameter {name!r} must be between {minimum} and {maximum}, got {value}")
    return value


def page() -> tuple[int, int]:
    """(limit, offset) from the query string."""
    return int_arg("limit", 50, 1, MAX_LIMIT), int_arg("offset", 0, 0)
