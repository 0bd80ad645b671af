"""Incidents: admins and designers list and retry them, auditors read them, nobody else sees them (the retry is
of an incident that does not exist, so the matrix database stays as it is)."""

from __future__ import annotations

from typing import Any

from tests.web.matrix_parts import LOGIN, row

ROWS = {
    ("GET", "/admin/incidents"): row(LOGIN, 403, 403, 200, 200, 200),
    ("POST", "/admin/incidents/<int:incident_id>/retry"): row(LOGIN, 403, 403, 404, 404, 403),
}


def prepare(make_uow: Any, actors: Any) -> dict[str, Any]:
    """No incident: the retry answers 404 to those allowed to retry."""
    return {"incident_id": 999999}
