"""A unit of work opened at the edge: services' blocks share its session; a failed or uncommitted block rolls back
as it did on a unit of its own; a read-only block leaves the transaction to the next."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from engine.errors import ValidationError
from engine.store.models import UserRow
from engine.store.uow import UnitOfWork
from tests.conftest import NOW


def _user(name: str) -> UserRow:
    return UserRow(username=name, display_name=name, password_hash="x", roles="sales", created_at=NOW)


def _write_then_fail(uow: UnitOfWork) -> None:
    with uow:
        uow.session.add(_user("failed"))
        uow.flush()
        raise ValidationError({"title": ["is required"]})


def _usernames(make_uow: Callable[[], UnitOfWork]) -> set[str]:
    with make_uow() as fresh:
        return {u.username for u in fresh.users.all()}


@pytest.fixture(params=[False, True], ids=["begin-at-once", "begin-late"])
def begin_late(request: pytest.FixtureRequest) -> bool:
    """An edge whose transaction begins with its first statement (CLI) or at its first write (web, PostgreSQL)."""
    return bool(request.param)


def test_a_block_that_fails_or_does_not_commit_rolls_back_and_a_later_commit_keeps_only_its_own(
    make_uow: Callable[[], UnitOfWork], begin_late: bool
) -> None:
    edge = make_uow().open_edge(begin_late)
    try:
        with pytest.raises(ValidationError):
            _write_then_fail(edge)
        with edge:  # a dry run: wrote, reported, never committed
            edge.session.add(_user("dry"))
            edge.flush()
        with edge:
            edge.session.add(_user("kept"))
            edge.commit()
    finally:
        edge.close_edge()
    assert {"failed", "dry"}.isdisjoint(_usernames(make_uow))
    assert "kept" in _usernames(make_uow)


def test_blocks_in_one_edge_share_one_session_until_it_closes(
    make_uow: Callable[[], UnitOfWork], begin_late: bool
) -> None:
    edge = make_uow().open_edge(begin_late)
    with edge:
        first = edge.session
        assert edge.users.all() is not None
    with edge:
        assert edge.session is first
        edge.session.add(_user("late"))  # never committed: rolled back when this block ends
        with edge:  # a nested block's end is no service's end: nothing rolls back yet
            pass
        assert edge.session.new
    edge.close_edge()
    assert not edge.is_open
    assert "late" not in _usernames(make_uow)
    other = make_uow().open_edge()
    with pytest.raises(RuntimeError, match="already open"):
        other.open_edge()
    other.close_edge()
