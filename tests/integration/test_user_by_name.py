"""A user looked up by login name in a unit of work that holds many rows (an import's batch: its records, targets,
instances and tasks; each new task's assignee is looked up by name): found once, then found again without a walk
through everything the unit holds; a user the unit no longer holds loaded (expired) is read again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.orm.identity import WeakInstanceDict

from engine.services.records import create_record
from engine.services.views import Actor
from engine.store.models import RecordRow
from engine.store.uow import UnitOfWork
from tests.conftest import NOW
from tests.statements import count_calls, selects_of


def test_a_user_found_by_name_is_found_again_without_a_walk_through_the_session(
    deployed: Callable[[], UnitOfWork], actors: dict[str, Actor], monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = actors["admin"]
    ids = [create_record(deployed(), admin, "Contact", {"full_name": f"Held {n}"}, NOW).id for n in range(40)]

    def look_up(uow: UnitOfWork) -> list[Any]:
        held = uow.records.by_ids(ids)  # the unit holds 40 records
        walks = count_calls(monkeypatch, WeakInstanceDict, "values")
        found = [uow.users.by_username(admin.username) for _ in range(50)]
        missing = uow.users.by_username("nobody-of-that-name")
        uow.session.expire(found[0])  # no longer held loaded: read again, as before
        again = uow.users.by_username(admin.username)
        monkeypatch.undo()
        return [held, found, missing, again, len(walks)]

    (held, found, missing, again, walks), selects = selects_of(deployed(), look_up)
    assert len(held) == 40
    assert all(isinstance(row, RecordRow) for row in held.values())
    assert {user.id for user in found} == {admin.id}
    assert all(user is found[0] for user in found)
    assert missing is None
    assert again is not None
    assert again.username == admin.username
    # one walk for the first look-up, one for the name nobody has and one after the expiry (each then reads);
    # it was one walk per look-up: 52
    assert walks <= 3, walks
    assert len(selects) == 1 + 3, selects  # the records, then the user, the missing name, the expired user
