"""PostgreSQL: a COPY's end is not waited for until its connection is next used (engine/store/copy_end.py). The
COPY's answer is read by the next statement, commit, savepoint's end or rollback; a COPY the server refuses raises
its own error there and leaves nothing written; an import leaves what it left with every COPY waited for."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import psycopg
import pytest
from psycopg.pq import TransactionStatus
from sqlalchemy import Table, func, insert, select, text

from engine.services.views import Actor
from engine.store.bulk_insert import COPY_FROM, insert_rows
from engine.store.models import FieldChangeRow, RecordRow
from engine.store.quality_models import ImportJobRow
from engine.store.uow import UnitOfWork
from tests.conftest import DeployedSnapshots
from tests.integration.test_import_bulk import both_paths, import_twice, write_file

Factory = Callable[[], UnitOfWork]
TABLE = cast(Table, FieldChangeRow.__table__)
NOW = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture
def on_postgres(make_uow: Factory) -> Factory:
    if not make_uow().database.startswith("postgresql"):
        pytest.skip("COPY is PostgreSQL's")
    return make_uow


def _record(uow: UnitOfWork) -> int:
    return int(uow.session.execute(insert(RecordRow).returning(RecordRow.id), {
        "entity": "Contact", "title": "t", "data": {}, "owner_id": None, "created_at": NOW, "created_by": "importer",
        "updated_at": NOW, "revision": 1, "merged_into_id": None}).scalar_one())


def _history(record_id: int, count: int = 2 * COPY_FROM) -> list[dict[str, Any]]:
    return [{"record_id": record_id, "at": NOW, "actor": "importer", "source": "bulk", "field": f"f{i}",
             "old_value": None, "new_value": i} for i in range(count)]


def _driver_status(uow: UnitOfWork) -> TransactionStatus:
    driver = uow.session.connection().connection.driver_connection
    assert driver is not None
    return TransactionStatus(driver.pgconn.transaction_status)


def _count(uow: UnitOfWork) -> int:
    return int(uow.session.scalar(select(func.count()).select_from(TABLE)) or 0)


def test_a_copys_answer_is_read_by_the_next_statement_not_at_its_end(on_postgres: Factory) -> None:
    with on_postgres() as uow:
        record_id = _record(uow)
        insert_rows(uow.session, TABLE, _history(record_id))
        # the COPY's end went to the server; its answer waits on the connection (old code: read at once, INTRANS)
        assert _driver_status(uow) == TransactionStatus.ACTIVE
        assert _count(uow) == 2 * COPY_FROM  # the next statement reads it first, then runs
        assert _driver_status(uow) == TransactionStatus.INTRANS
        insert_rows(uow.session, TABLE, _history(record_id))
        uow.commit()  # the commit reads the second COPY's answer
    with on_postgres() as uow:
        assert _count(uow) == 4 * COPY_FROM


def test_a_refused_copy_raises_its_own_error_at_the_next_statement_and_writes_nothing(on_postgres: Factory) -> None:
    with on_postgres() as uow:
        record_id = _record(uow)
        uow.commit()
    with on_postgres() as uow:
        insert_rows(uow.session, TABLE, _history(record_id) + _history(record_id + 1000))  # old code: raises here
        assert _driver_status(uow) == TransactionStatus.ACTIVE
        with pytest.raises(psycopg.errors.ForeignKeyViolation, match="field_change") as raised:
            uow.session.execute(text("SELECT 1"))
    assert "record_id" in str(raised.value)
    with on_postgres() as uow:  # the connection went back to the pool usable, and nothing of the COPY stayed
        assert _count(uow) == 0


def test_a_refused_copy_fails_the_commit_with_its_own_error(on_postgres: Factory) -> None:
    with on_postgres() as uow:
        record_id = _record(uow)
        uow.commit()
    with on_postgres() as uow:
        insert_rows(uow.session, TABLE, _history(record_id + 1000))
        assert _driver_status(uow) == TransactionStatus.ACTIVE  # old code: the error came out of insert_rows
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            uow.commit()
    with on_postgres() as uow:
        assert _count(uow) == 0


def test_a_refused_copy_in_a_savepoint_fails_the_block_and_the_transaction_goes_on(on_postgres: Factory) -> None:
    after_copy: list[TransactionStatus] = []
    with on_postgres() as uow:
        record_id = _record(uow)
        insert_rows(uow.session, TABLE, _history(record_id))

        def refused_in_a_savepoint() -> None:
            with uow.savepoint():
                insert_rows(uow.session, TABLE, _history(record_id + 1000))
                after_copy.append(_driver_status(uow))

        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            refused_in_a_savepoint()
        insert_rows(uow.session, TABLE, _history(record_id, 3))
        uow.commit()
    assert after_copy == [TransactionStatus.ACTIVE]  # old code: the error came out of insert_rows, nothing appended
    with on_postgres() as uow:
        assert _count(uow) == 2 * COPY_FROM + 3


def test_a_rollback_drops_a_copys_answer_and_the_connection_goes_on(on_postgres: Factory) -> None:
    with on_postgres() as uow:
        record_id = _record(uow)
        uow.commit()
    with on_postgres() as uow:
        insert_rows(uow.session, TABLE, _history(record_id + 1000))  # refused, then rolled back unread
        statuses = [_driver_status(uow)]
    with on_postgres() as uow:  # left without a commit: rolled back; the pool's connection is usable
        insert_rows(uow.session, TABLE, _history(record_id))
        statuses.append(_driver_status(uow))
    with on_postgres() as uow:
        assert _count(uow) == 0
    assert statuses == [TransactionStatus.ACTIVE] * 2


@pytest.mark.parametrize("mode", ["valid_only", "all_or_nothing"])
def test_an_import_with_copy_ends_read_later_leaves_what_waiting_for_each_leaves(
    deployed: Factory, actors: dict[str, Actor], db_url: str, bundle_files: dict[str, str],
    deployed_snapshots: DeployedSnapshots, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("COPY is PostgreSQL's")
    from engine.store import copy_end

    path = write_file(tmp_path / "contacts.csv", 200)  # 203 rows: duplicates, a repeat, two rejected rows
    read_later: list[int] = []
    collect = copy_end.collect

    def counted(info: dict[str, Any]) -> None:
        read_later.append(1 if info.get(copy_end.ENDING) is not None else 0)
        collect(info)

    monkeypatch.setattr(copy_end, "collect", counted)

    def imports(deferred: bool) -> list[Any]:
        monkeypatch.setattr(copy_end, "ENABLED", deferred)
        read_later.clear()
        outcomes = import_twice(deployed, actors["admin"], path, bulk=True, mode=mode)
        assert (sum(read_later) > 0) is deferred
        return outcomes

    outcomes, _ = both_paths(deployed, db_url, deployed_snapshots, bundle_files, imports)
    assert outcomes[0][0] == ("done" if mode == "valid_only" else "rejected")
    assert len(outcomes[0][3]) == 2  # the two rejected rows, with their numbers, as waiting for each COPY gives


def _unique_name_after(path: Path, first: int) -> str:
    """The full name of the first row from data row `first` on whose name, phone and e-mail no other row has."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    seen = Counter(value for row in rows for value in (row["full_name"], row["phone"], row["email"]) if value)
    return next(row["full_name"] for row in rows[first:]
                if row["full_name"] and all(seen[row[c]] == 1 for c in ("full_name", "phone", "email")))


def test_an_import_whose_copy_is_refused_fails_with_that_error_and_its_batch_writes_nothing(
    deployed: Factory, actors: dict[str, Actor], db_url: str, bundle_files: dict[str, str],
    deployed_snapshots: DeployedSnapshots, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("COPY is PostgreSQL's")
    from engine.store import copy_end

    path = write_file(tmp_path / "contacts.csv", 120)
    refused = _unique_name_after(path, 60)  # a new record of the second batch of 50 rows
    ends: list[bool] = []
    finish = copy_end.DeferredEnd.finish

    def spy(self: copy_end.DeferredEnd, exc: BaseException | None = None) -> None:
        finish(self, exc)
        ends.append(copy_end.ENDING in self.info)

    monkeypatch.setattr(copy_end.DeferredEnd, "finish", spy)

    def imports(deferred: bool) -> list[Any]:
        monkeypatch.setattr(copy_end, "ENABLED", deferred)
        with deployed() as uow:  # the server refuses the field history holding that name
            quoted = refused.replace("'", "''")  # DDL takes no parameters
            uow.session.execute(text("ALTER TABLE field_change ADD CONSTRAINT refused_name "
                                     f"CHECK (new_value::text NOT LIKE '%{quoted}%')"))
            uow.commit()
        ends.clear()
        try:
            with pytest.raises(psycopg.errors.CheckViolation, match="refused_name"):  # the worker's error, re-raised
                import_twice(deployed, actors["admin"], path, bulk=True, times=1, mode="valid_only")
        finally:
            with deployed() as uow:  # the deployed database's snapshot is restored without it
                uow.session.execute(text("ALTER TABLE field_change DROP CONSTRAINT refused_name"))
                uow.commit()
        assert any(ends) is deferred
        with deployed() as uow:
            job = uow.session.scalars(select(ImportJobRow).order_by(ImportJobRow.id.desc())).first()
            assert job is not None
            return [(job.status, dict(job.counts), job.message, job.processed_rows)]

    outcomes, tables = both_paths(deployed, db_url, deployed_snapshots, bundle_files, imports)
    ((status, counts, message, processed),) = outcomes
    assert (status, processed) == ("failed", 50)  # the first batch of 50 rows committed, the second failed
    assert "CheckViolation" in str(message)
    assert "refused_name" in str(message)
    assert 0 < counts["created"] < 100  # the first batch stayed
    assert not [row for row in tables["field_change"] if refused in repr(row)]  # nothing of the failed batch
