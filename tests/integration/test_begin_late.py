"""A web request's unit of work on PostgreSQL begins its transaction at the first statement that needs one
(engine.store.db `BEGIN_LATE`): reads before it run without a transaction, so a request that only reads sends no
BEGIN and no COMMIT; a row lock, a cursor kept on the server and every write still run in a transaction that lasts
until the unit commits or rolls back. And a connection keeps the statements of many pages prepared (psycopg's
default of 100 kept none of 150 statements used in turn: the server planned each again)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Engine, event, insert, select, text
from sqlalchemy.exc import OperationalError

from engine.services.units import UowFactory
from engine.store.models import UserRow
from engine.store.uow import UnitOfWork
from tests.conftest import NOW

IDLE, IN_TRANSACTION = 0, 2  # psycopg.pq.TransactionStatus after a statement


@pytest.fixture
def pg_uow(make_uow: Callable[[], UnitOfWork], db_url: str) -> Callable[[], UnitOfWork]:
    """The unit-of-work factory, PostgreSQL only: SQLite's driver begins no transaction for a read anyway."""
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite's driver sends no BEGIN before a read: there is nothing to begin late")
    return make_uow


def _engine(make: Callable[[], UnitOfWork]) -> Engine:
    assert isinstance(make, UowFactory)
    return make.engine


@contextmanager
def after_each_statement(engine: Engine) -> Iterator[list[tuple[str, int]]]:
    """(first word of each statement sent, the connection's transaction status once it ran)."""
    seen: list[tuple[str, int]] = []

    def note(_conn: object, cursor: object, sql: str, *_args: object) -> None:
        seen.append((sql.split()[0].upper(), int(cursor.connection.info.transaction_status)))  # type: ignore[attr-defined]

    event.listen(engine, "after_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "after_cursor_execute", note)


def _add_user(engine: Engine, name: str) -> int:
    with engine.begin() as conn:
        return int(
            conn.execute(
                insert(UserRow).returning(UserRow.id),
                [{"username": name, "display_name": name, "password_hash": "!", "roles": "sales", "created_at": NOW}],
            ).scalar_one()
        )


def test_reads_run_without_a_transaction_and_the_first_write_begins_one_that_commits_it_all(
    pg_uow: Callable[[], UnitOfWork],
) -> None:
    engine = _engine(pg_uow)
    user_id = _add_user(engine, "ada")
    edge = pg_uow().open_edge(begin_late=True)
    with after_each_statement(engine) as seen:
        with edge:
            assert edge.users.get(user_id) is not None
            assert edge.users.all()
        with edge:
            edge.users.get(user_id).display_name = "Ada"  # type: ignore[union-attr]
            edge.session.add(
                UserRow(username="bob", display_name="Bob", password_hash="!", roles="sales", created_at=NOW)
            )
            edge.commit()
        edge.close_edge()
    assert [status for word, status in seen if word == "SELECT"][:2] == [IDLE, IDLE]
    writes = [status for word, status in seen if word in ("UPDATE", "INSERT")]
    assert writes == [IN_TRANSACTION, IN_TRANSACTION]
    with engine.connect() as conn:
        assert dict(conn.execute(select(UserRow.username, UserRow.display_name)).all()) == {"ada": "Ada", "bob": "Bob"}


def test_a_request_that_fails_after_its_first_write_leaves_nothing_behind(pg_uow: Callable[[], UnitOfWork]) -> None:
    engine = _engine(pg_uow)
    edge = pg_uow().open_edge(begin_late=True)
    with edge:
        assert edge.users.all() == []
        edge.session.add(UserRow(username="bob", display_name="Bob", password_hash="!", roles="sales", created_at=NOW))
        edge.flush()  # sent: the transaction began here
    edge.close_edge()  # the request ended without committing (an error page)
    with engine.connect() as conn:
        assert conn.scalar(select(UserRow.username)) is None


def test_a_row_lock_read_before_any_write_is_held_until_the_unit_ends(pg_uow: Callable[[], UnitOfWork]) -> None:
    engine = _engine(pg_uow)
    user_id = _add_user(engine, "ada")
    locked = select(UserRow).where(UserRow.id == user_id)
    edge = pg_uow().open_edge(begin_late=True)
    with edge:
        assert edge.session.scalars(locked.with_for_update()).one().username == "ada"
    with engine.connect() as other:  # another request cannot take the row while this one holds it
        with pytest.raises(OperationalError, match="could not obtain lock"):
            other.execute(locked.with_for_update(nowait=True)).all()
        other.rollback()
        edge.close_edge()
        assert other.execute(locked.with_for_update(nowait=True)).one().username == "ada"


def test_a_cursor_kept_on_the_server_reads_inside_a_transaction(pg_uow: Callable[[], UnitOfWork]) -> None:
    engine = _engine(pg_uow)
    for n in range(5):
        _add_user(engine, f"user{n}")
    edge = pg_uow().open_edge(begin_late=True)
    with edge:  # PostgreSQL declares a server-side cursor only inside a transaction block
        rows = edge.session.connection().execute(
            select(UserRow.username).order_by(UserRow.id).execution_options(yield_per=2)
        )
        assert [r.username for r in rows] == [f"user{n}" for n in range(5)]
    edge.close_edge()


def test_text_sent_before_any_write_runs_in_the_transaction(pg_uow: Callable[[], UnitOfWork]) -> None:
    edge = pg_uow().open_edge(begin_late=True)
    with edge:  # SET LOCAL lasts until the transaction ends: outside one it would warn and be gone at once
        edge.session.execute(text("SET LOCAL statement_timeout = 12345"))
        assert edge.session.execute(text("SHOW statement_timeout")).scalar() == "12345ms"
    edge.close_edge()


def test_a_connection_keeps_the_statements_of_many_pages_prepared(pg_uow: Callable[[], UnitOfWork]) -> None:
    engine = _engine(pg_uow)
    shapes = [f"SELECT {n} AS shape, count(*) FROM user_account WHERE id > %(above)s" for n in range(150)]  # noqa: S608 - numbers
    with engine.connect() as conn:
        for _ in range(6):  # psycopg prepares a statement once it ran 5 times
            for shape in shapes:
                conn.exec_driver_sql(shape, {"above": 0}).all()
        kept = conn.exec_driver_sql("SELECT count(*) FROM pg_prepared_statements WHERE NOT from_sql").scalar()
    assert kept == len(shapes)
