"""The fixed cost of a page on PostgreSQL: a request that only reads runs its statements without a transaction (no
BEGIN, no COMMIT: two round trips of a plain inbox page's six), and the session's user and the deployed
configuration's key come in one statement; a request that writes still runs its write in one transaction."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import text

from engine.services.records import list_records
from engine.services.units import UowFactory
from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.integration.test_begin_late import IDLE, IN_TRANSACTION, after_each_statement
from tests.web.conftest import as_user, new_lead


@pytest.fixture
def pg_app(app: Flask, db_url: str) -> Flask:
    """The app, PostgreSQL only: SQLite's driver begins no transaction for a read anyway."""
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite's driver sends no BEGIN before a read: there is nothing to begin late")
    return app


def _factory(app: Flask) -> UowFactory:
    factory = app.extensions["flowcrm.uow"]
    assert isinstance(factory, UowFactory)
    return factory


@pytest.mark.parametrize("page", ["/tasks?tab=pool", "/tasks?tab=mine", "/tasks?tab=all"])
def test_an_inbox_page_reads_without_a_transaction(
    pg_app: Flask, deployed: Callable[[], UnitOfWork], actors: dict[str, Actor], page: str
) -> None:
    new_lead(deployed, actors)
    reader = as_user(pg_app, "ada" if page.endswith("all") else "sam")
    assert reader.get(page).status_code == 200  # warm: the parsed configuration
    with after_each_statement(_factory(pg_app).engine) as seen:
        response = reader.get(page)
    assert response.status_code == 200
    assert len(seen) >= 2  # the user with the configuration's key, the page (and the people it names)
    assert {status for _, status in seen} == {IDLE}, seen


def test_a_form_that_writes_commits_its_write_in_a_transaction(
    pg_app: Flask, deployed: Callable[[], UnitOfWork], actors: dict[str, Actor]
) -> None:
    hank = as_user(pg_app, "hank")
    with after_each_statement(_factory(pg_app).engine) as seen:
        created = hank.post("/records/Lead/new", data={"title": "Desks", "status": "new"})
    assert created.status_code == 302
    first_write = next(n for n, (word, _) in enumerate(seen) if word in ("INSERT", "UPDATE", "DELETE"))
    assert {status for _, status in seen[:first_write]} == {IDLE}
    # the writes' own statuses cannot tell: held writes (engine.store.pipeline) are reported once their pipeline,
    # which ends with the COMMIT, has been answered. The rows tell: every row the request wrote carries the id of
    # the transaction that wrote it (xmin), one id when the writes went in one transaction, one per statement if
    # each had been committed alone
    assert IN_TRANSACTION in {status for _, status in seen[first_write:]}
    (lead,) = [r for r in list_records(deployed(), actors["head"], "Lead") if r.title == "Desks"]
    with _factory(pg_app).engine.connect() as connection:
        writers = connection.execute(text(
            "SELECT xmin::text FROM record WHERE id = :id"
            " UNION SELECT xmin::text FROM field_change WHERE record_id = :id"
            " UNION SELECT xmin::text FROM process_instance WHERE record_id = :id"), {"id": lead.id}).scalars().all()
        tables = connection.execute(text(
            "SELECT (SELECT count(*) FROM field_change WHERE record_id = :id),"
            " (SELECT count(*) FROM process_instance WHERE record_id = :id)"), {"id": lead.id}).one()
    assert tables[0] >= 1  # the request wrote the lead's history
    assert tables[1] >= 1  # and started its process
    assert len(writers) == 1, writers
