"""The reads of an import's duplicate pairs (engine/quality/new_pairs.py): key groups, the records' values and the
pairs known already are plain rows read on the connection, not through the ORM's result set-up, and the values
of the batch's own new records come from the rows the unit of work holds rather than from a query."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

from engine.imports import rows as import_rows
from engine.imports import rule_pairs
from engine.imports import run as import_run
from engine.imports.rows import Importer
from engine.imports.run import run_import
from engine.services.imports import create_job, get_job
from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.conftest import NOW

Factory = Callable[[], UnitOfWork]


class PairReads:
    """The statements sent while an import opens its duplicate pairs: all of them, and those sent through the
    ORM session's execute."""

    def __init__(self) -> None:
        self.opening = False
        self.sent: list[str] = []
        self.through_orm: list[str] = []

    def queue(self, uow: UnitOfWork, importer: Importer) -> int:
        self.opening = True
        try:
            return rule_pairs.queue_rule_pairs(uow, importer)
        finally:
            self.opening = False

    def statement(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if self.opening:
            self.sent.append(" ".join(statement.split()))

    def orm(self, state: ORMExecuteState) -> None:
        if self.opening and state.is_select:
            self.through_orm.append(str(state.statement))


@pytest.fixture
def pair_reads(deployed: Factory, monkeypatch: pytest.MonkeyPatch) -> Iterator[PairReads]:
    reads = PairReads()
    monkeypatch.setattr(import_run, "queue_rule_pairs", reads.queue)  # the batch's end
    monkeypatch.setattr(import_rows, "queue_rule_pairs", reads.queue)  # before a change in the batch
    engine = deployed.engine  # type: ignore[attr-defined]
    event.listen(engine, "before_cursor_execute", reads.statement)
    event.listen(Session, "do_orm_execute", reads.orm)
    try:
        yield reads
    finally:
        event.remove(Session, "do_orm_execute", reads.orm)
        event.remove(engine, "before_cursor_execute", reads.statement)


def test_the_pairs_of_a_batch_of_new_namesakes_read_no_record_and_nothing_through_the_orm(
    deployed: Factory, actors: dict[str, Actor], tmp_path: Path, pair_reads: PairReads
) -> None:
    path = tmp_path / "namesakes.csv"
    # 30 records of one name and nothing else to tell them apart, in one batch: every two of them a pair
    path.write_text("Name,Notes\n" + "".join(f"Ivan Petrov,note {n}\n" for n in range(30)), encoding="utf-8")
    job = create_job(deployed(), actors["admin"], "Contact", path.name, path, NOW)
    run_import(deployed, job.id, lambda: NOW, batch_size=100)
    done = get_job(deployed(), actors["admin"], job.id)
    assert (done.status, done.counts["created"], done.counts["rule_pairs"]) == ("done", 30, 30 * 29 // 2)
    # the pairs' reads happened (key groups, known pairs), on the connection
    assert any("match_key" in statement for statement in pair_reads.sent)
    # (the stored match models, one small read per look, still go through the session)
    assert [s for s in pair_reads.through_orm if "FROM match_model" not in s] == []
    # every record of the pairs is one the batch created and the unit of work holds: no record read for them
    assert [s for s in pair_reads.sent if s.upper().startswith("SELECT") and "record.data" in s] == []
