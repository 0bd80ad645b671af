"""Camunda typed variables ({"value": .., "type": "String|Integer|Long|Double|Boolean|Json|Date|Null"}) to and
from the plain JSON values a process keeps in its data."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from web.blueprints.engine_rest.base import BadRequest

TYPES = ("String", "Integer", "Short", "Long", "Double", "Boolean", "Json", "Date", "Null")
_INT32 = 2**31


def typed(value: Any) -> dict[str, Any]:
    """A process value as a Camunda typed variable (lists and objects as Json text, as Camunda sends them)."""
    if value is None:
        return {"value": None, "type": "Null", "valueInfo": {}}
    if isinstance(value, bool):
        return {"value": value, "type": "Boolean", "valueInfo": {}}
    if isinstance(value, int):
        return {"value": value, "type": "Integer" if -_INT32 <= value < _INT32 else "Long", "valueInfo": {}}
    if isinstance(value, float):
        return {"value": value, "type": "Double", "valueInfo": {}}
    if isinstance(value, dict | list):
        return {"value": json.dumps(value, ensure_ascii=False), "type": "Json", "valueInfo": {}}
    return {"value": str(value), "type": "String", "valueInfo": {}}


def typed_all(values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every value typed."""
    return {name: typed(value) for name, value in values.items()}


def plain(where: str, name: str, item: Any) -> Any:
    """The plain value of one typed variable; 400 naming `where.name` when it does not fit its type."""
    path = f"{where}.{name}"
    if not isinstance(item, dict) or "value" not in item:
        raise BadRequest(f'{path} must be an object {{"value": ..., "type": ...}}, not {json.dumps(item)[:100]}')
    value, kind = item["value"], item.get("type")
    if kind is None:
        return value
    if kind not in TYPES:
        raise BadRequest(f"{path}: type {kind!r} is not supported here (use one of {', '.join(TYPES)})")
    if value is None or kind == "Null":
        return None
    if kind == "String" and isinstance(value, str):
        return value
    if kind in ("Integer", "Short", "Long") and isinstance(value, int) and not isinstance(value, bool):
        if kind == "Integer" and not -_INT32 <= value < _INT32:
            raise BadRequest(f"{path}: {value} does not fit an Integer (32 bits): send it as a Long")
        return value
    if kind == "Double" and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if kind == "Boolean" and isinstance(value, bool):
        return value
    if kind == "Json":
        return _json(path, value)
    if kind == "Date" and isinstance(value, str):
        return _date(path, value)
    raise BadRequest(f"{path}: {json.dumps(value)[:100]} is not a {kind}")


def plain_all(where: str, items: Any) -> dict[str, Any]:
    """Every variable of a body field (`variables`, `localVariables`) as plain values."""
    if items is None:
        return {}
    if not isinstance(items, dict):
        raise BadRequest(f"{where} must be an object of variables, not {type(items).__name__}")
    return {str(name): plain(where, str(name), item) for name, item in items.items()}


def _json(path: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError as exc:
        raise BadRequest(f"{path}: the Json value is not valid JSON: {exc}") from exc


def _date(path: str, value: str) -> str:
    """A Camunda date (`2026-03-01T10:00:00.000+0100`) kept as ISO 8601 text with its offset."""
    try:
        parsed = datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z")
    except ValueError:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError as exc:
            raise BadRequest(f"{path}: {value!r} is not a date (yyyy-MM-dd'T'HH:mm:ss.SSSZ)") from exc
    if parsed.tzinfo is None:
        raise BadRequest(f"{path}: the date {value!r} needs an offset (e.g. +0000)")
    return parsed.isoformat()
