"""Filter builder (/find) and segments: readers of records see them, writers save and act, designers see nothing.

The segment is sam's (the `sales` column) over Lead; every request here leaves it and its records as they are
(empty forms, an unconfirmed delete)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.services.segments import create_segment
from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.conftest import NOW
from tests.web.matrix_parts import LOGIN, row

ROWS = {
    ("GET", "/find/<entity>"): row(LOGIN, 200, 200, 403, 200, 200),
    ("GET", "/find/<entity>/export.<fmt>"): row(LOGIN, 200, 200, 403, 200, 200),
    ("GET", "/segments"): row(LOGIN, 200, 200, 403, 200, 200),
    ("POST", "/segments"): row(LOGIN, 422, 422, 403, 422, 403),  # no name
    ("GET", "/segments/<int:segment_id>"): row(LOGIN, 200, 200, 403, 200, 200),
    ("POST", "/segments/<int:segment_id>"): row(LOGIN, 422, 403, 403, 422, 403),  # empty name; sam's segment
    ("POST", "/segments/<int:segment_id>/delete"): row(LOGIN, 422, 403, 403, 422, 403),  # not confirmed
    ("POST", "/segments/<int:segment_id>/actions"): row(LOGIN, 422, 422, 403, 422, 403),  # no action chosen
    ("GET", "/segments/<int:segment_id>/export.<fmt>"): row(LOGIN, 200, 200, 403, 200, 200),
}

FORMS = {("POST", "/segments"): {"entity": "Lead", "filter": '{"entity": "Lead"}'}}


def prepare(make_uow: Callable[[], UnitOfWork], actors: dict[str, Actor]) -> dict[str, Any]:
    """Sam's segment of every Lead, and the CSV format for export URLs."""
    saved = create_segment(make_uow(), actors["sales"], "Lead", "All leads", {"entity": "Lead"}, NOW)
    return {"segment_id": saved.id, "fmt": "csv"}
