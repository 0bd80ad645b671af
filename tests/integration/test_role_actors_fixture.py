"""The `actors` fixture (tests/conftest.py) gives the role users of the deployed snapshot as reading them gives
them, without reading the users again for every test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, event

from engine.services.users import get_actor
from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.conftest import ROLE_USERS


@pytest.fixture
def user_reads(deployed: Callable[[], UnitOfWork]) -> Iterator[list[str]]:
    """The statements reading the users sent from here on (the snapshot is restored before)."""
    sent: list[str] = []

    def keep(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "user_account" in statement:
            sent.append(statement)

    event.listen(Engine, "before_cursor_execute", keep)
    yield sent
    event.remove(Engine, "before_cursor_execute", keep)


def test_the_role_actors_are_the_users_as_read_and_cost_no_reads(
    user_reads: list[str], actors: dict[str, Actor], deployed: Callable[[], UnitOfWork]
) -> None:
    assert user_reads == []  # read once, when the snapshot was built
    assert {key: actor.username for key, actor in actors.items()} == {k: v[0] for k, v in ROLE_USERS.items()}
    for actor in actors.values():
        assert get_actor(deployed(), actor.id or 0) == actor
