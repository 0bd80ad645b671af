"""A unit of work that only read ends its transaction with COMMIT (the same as a ROLLBACK for reads): on
PostgreSQL psycopg drops every prepared statement of the connection at a ROLLBACK and sends DEALLOCATE ALL, a
round trip per read-only request and the next statements prepared again. A unit that wrote anything and did not
commit, or failed, still rolls back (engine/store/uow.py `_only_read`, engine/store/db.py `sent_only_reads`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine, event, select, text

from engine.bootstrap import UowFactory, uow_factory
from engine.errors import ValidationError
from engine.services import records, tasks
from engine.services.views import Actor
from engine.store.models import UserRow
from engine.store.uow import UnitOfWork
from tests.conftest import NOW


@pytest.fixture
def ends(make_uow: UowFactory) -> Iterator[list[str]]:
    """How each transaction on the test database ended: "commit" or "rollback", in order."""
    engine: Engine = make_uow.engine
    seen: list[str] = []

    def committed(_conn: object) -> None:
        seen.append("commit")

    def rolled_back(_conn: object) -> None:
        seen.append("rollback")

    event.listen(engine, "commit", committed)
    event.listen(engine, "rollback", rolled_back)
    yield seen
    event.remove(engine, "commit", committed)
    event.remove(engine, "rollback", rolled_back)


def _user(name: str) -> UserRow:
    return UserRow(username=name, display_name=name, password_hash="x", roles="sales", created_at=NOW)


def _usernames(make_uow: Callable[[], UnitOfWork]) -> set[str]:
    with make_uow() as fresh:
        return {u.username for u in fresh.users.all()}


def test_a_unit_that_only_read_ends_with_commit(make_uow: Callable[[], UnitOfWork], ends: list[str]) -> None:
    with make_uow() as uow:
        uow.users.all()
        uow.session.execute(select(UserRow.id).where(UserRow.username == "nobody")).all()
    assert ends == ["commit"]


def test_a_unit_that_wrote_and_did_not_commit_rolls_back(make_uow: Callable[[], UnitOfWork], ends: list[str]) -> None:
    with make_uow() as uow:
        uow.users.all()
        uow.session.add(_user("dry"))
        uow.flush()
    assert ends == ["rollback"]
    assert "dry" not in _usernames(make_uow)


def test_raw_sql_the_orm_does_not_see_counts_as_a_write(make_uow: Callable[[], UnitOfWork], ends: list[str]) -> None:
    with make_uow() as uow:
        uow.users.all()
        uow.session.connection().execute(
            text(
                "INSERT INTO user_account (username, display_name, password_hash, roles, created_at, active, locale) "
                "VALUES ('raw', 'raw', 'x', 'sales', :at, :active, 'en')"
            ),
            {"at": NOW, "active": True},
        )
    assert ends == ["rollback"]
    assert "raw" not in _usernames(make_uow)


def _read_then_fail(uow: UnitOfWork) -> None:
    with uow:
        uow.users.all()
        raise ValidationError({"title": ["is required"]})


def test_a_unit_that_read_and_failed_rolls_back(make_uow: UowFactory, ends: list[str]) -> None:
    with pytest.raises(ValidationError):
        _read_then_fail(make_uow())
    assert ends == ["rollback"]


def test_an_edge_that_only_read_ends_with_commit(make_uow: Callable[[], UnitOfWork], ends: list[str]) -> None:
    edge = make_uow().open_edge()
    try:
        with edge:
            edge.users.all()
        with edge:
            edge.users.all()
    finally:
        edge.close_edge()
    assert ends == ["commit"]


@pytest.mark.postgres
def test_prepared_statements_outlive_a_read_only_unit(postgres_url: str) -> None:
    factory = uow_factory(postgres_url, pool_size=1)  # units one after another: the same pooled connection
    try:
        lookup = select(UserRow.id).where(UserRow.username == "nobody")
        with factory() as uow:
            for _ in range(6):  # psycopg prepares a statement from its fifth run on
                uow.session.execute(lookup).all()
        with factory() as uow:
            prepared = uow.session.execute(text("SELECT count(*) FROM pg_prepared_statements")).scalar_one()
        assert prepared >= 1
    finally:
        factory.dispose()


def test_an_inbox_list_of_its_own_sends_no_begin_or_commit(
    deployed: UowFactory, actors: dict[str, Actor], db_url: str, server_commands: list[str]
) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite's driver begins no transaction for a SELECT")
    sam, head = actors["sales"], actors["head"]
    lead_id = records.create_record(deployed(), head, "Lead", {"title": "5 chairs"}, NOW).id
    server_commands.clear()
    pool = tasks.list_tasks(deployed(), sam, "pool")
    counts = tasks.inbox_counts(deployed(), sam, NOW)
    assert lead_id in {t.record_id for t in pool}
    assert counts["pool"] >= 1
    assert server_commands == []  # one round trip each: the SELECT alone (BEGIN, SELECT, COMMIT before)


def _read_then_write(uow: UnitOfWork) -> None:
    with uow.reading():
        uow.users.all()
        uow.session.add(_user("sneaky"))
        uow.flush()


def test_a_write_in_a_read_only_unit_is_refused_before_it_is_sent(deployed: UowFactory) -> None:
    with pytest.raises(RuntimeError, match="read only"):
        _read_then_write(deployed())
    assert "sneaky" not in _usernames(deployed)  # PostgreSQL: never sent; SQLite: rolled back with the unit


def test_a_connection_that_read_without_a_transaction_goes_back_to_transactions(db_url: str) -> None:
    factory = uow_factory(db_url, pool_size=1)  # every unit on the same pooled connection
    try:
        with factory().reading() as uow:
            uow.users.all()
        with factory() as uow:  # a dry run on the connection the read used: its write must roll back
            uow.session.add(_user("dry"))
            uow.flush()
        assert "dry" not in _usernames(factory)
    finally:
        factory.dispose()


def test_a_read_only_block_inside_an_open_unit_joins_its_transaction(make_uow: UowFactory) -> None:
    edge = make_uow().open_edge()
    try:
        edge.session.add(_user("edge"))
        edge.flush()
        with edge.reading():  # sees the edge's flushed write: the same transaction
            assert "edge" in {u.username for u in edge.users.all()}
    finally:
        edge.close_edge()
    assert "edge" not in _usernames(make_uow)
