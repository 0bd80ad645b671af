"""`--as USERNAME`: the one helper every CLI command uses to pick the acting user."""

from __future__ import annotations

import pytest

from cli.base import _actor_as
from engine.errors import ValidationError
from engine.services.users import create_user
from engine.services.views import SYSTEM
from tests.conftest import NOW, PASSWORD


def test_named_user_system_by_default_or_the_first_active_admin(make_uow) -> None:
    create_user(make_uow(), "zed", PASSWORD, ["admin"], NOW)
    create_user(make_uow(), "amy", PASSWORD, ["admin"], NOW)
    create_user(make_uow(), "sam", PASSWORD, ["sales"], NOW)
    assert _actor_as(make_uow, None) is SYSTEM
    assert _actor_as(make_uow, "sam").username == "sam"
    assert _actor_as(make_uow, None, default_admin=True).username == "amy"
    assert _actor_as(make_uow, "sam", default_admin=True).username == "sam"


def test_unknown_inactive_and_missing_admin_are_clear_errors(make_uow) -> None:
    create_user(make_uow(), "sam", PASSWORD, ["sales"], NOW)
    with make_uow() as uow:
        row = uow.users.by_username("sam")
        assert row is not None
        row.active = False
        uow.commit()
    with pytest.raises(ValidationError) as unknown:
        _actor_as(make_uow, "nobody")
    assert unknown.value.errors == {"--as": ["no user 'nobody'"]}
    with pytest.raises(ValidationError) as inactive:
        _actor_as(make_uow, "sam")
    assert inactive.value.errors == {"--as": ["no active user 'sam'"]}
    with pytest.raises(ValidationError) as no_admin:
        _actor_as(make_uow, None, default_admin=True)
    assert no_admin.value.errors == {"--as": ["no active admin: name the acting user with --as USERNAME"]}
