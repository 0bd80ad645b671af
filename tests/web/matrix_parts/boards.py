"""Boards and the global search (its page, the link picker's choices): readers of records see them, writers move
cards, designers see neither. Every request leaves the data as it is (a move without a record)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.web.matrix_parts import LOGIN, row

ROWS = {
    ("GET", "/boards"): row(LOGIN, 200, 200, 403, 200, 200),
    ("GET", "/boards/<name>"): row(LOGIN, 200, 200, 403, 200, 200),
    ("POST", "/boards/<name>/move"): row(LOGIN, 302, 302, 403, 302, 403),  # no record named: back, with why
    ("GET", "/search"): row(LOGIN, 200, 200, 403, 200, 200),
    ("GET", "/search/choices"): row(LOGIN, 200, 200, 403, 200, 200),  # the link form's picker: as the search
}


def prepare(make_uow: Callable[[], UnitOfWork], actors: dict[str, Actor]) -> dict[str, Any]:
    """The shipped deal board."""
    return {"name": "deals"}
