"""New records of a batch (bulk_records.insert_records) are held by the session as they were written, not read
back: no SELECT of the records after their INSERT; on PostgreSQL their ids come from the sequence in one statement
and the rows go through COPY (no INSERT … RETURNING); and each held record is what a read gives, its data's keys
in the stored order (JSONB's on PostgreSQL), so the history written from it keeps the order it had."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event

from engine.processes.deployed import active_bundle
from engine.services.bulk_records import insert_records
from engine.services.views import Actor
from engine.store.models import FieldChangeRow, RecordRow
from engine.store.uow import UnitOfWork
from tests.conftest import NOW

Factory = Callable[[], UnitOfWork]


def _people(count: int) -> list[dict[str, Any]]:
    # keys in an order JSONB does not keep (it stores shorter keys first): the held data must not keep it either
    return [{"full_name": f"Held Person {n}", "position": "engineer", "email": f"held{n}@example.com",
             "region": "northwest", "relationship": "potential_client"} for n in range(count)]


def test_new_records_of_a_batch_are_held_as_written_not_read_back(
    deployed: Factory, actors: dict[str, Actor], db_url: str
) -> None:
    admin = actors["admin"]
    sent: list[str] = []

    def note(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        sent.append(" ".join(statement.split()))

    uow = deployed()
    with uow:
        entity = active_bundle(uow)[0].entities["Contact"]
        bind = uow.session.get_bind()
        event.listen(bind, "before_cursor_execute", note)
        try:
            rows = insert_records(uow, admin, entity, _people(30), NOW, start_processes=False)
        finally:
            event.remove(bind, "before_cursor_execute", note)
        held = [(row.id, row.title, list(row.data.items()), row.revision, row.created_at) for row in rows]
        uow.commit()
    reads = [s for s in sent if s.startswith("SELECT record.id, record.entity")]  # whole records
    assert reads == []  # the old code read the 30 records back after their INSERT
    record_writes = [s.split(" (")[0] for s in sent if s.startswith(("INSERT INTO record ", "COPY record "))]
    if db_url.startswith("postgresql"):
        assert record_writes == ["COPY record"]
        assert len([s for s in sent if s.startswith("SELECT nextval(")]) == 1
    else:
        assert record_writes == ["INSERT INTO record"]
    assert [row_id for row_id, *_ in held] == sorted(row_id for row_id, *_ in held)  # ids in the rows' order
    with deployed() as uow:
        stored = uow.records.by_ids([row_id for row_id, *_ in held])
        assert [(r.id, r.title, list(r.data.items()), r.revision, r.created_at)
                for r in (stored[row_id] for row_id, *_ in held)] == held
        history = uow.session.execute(
            FieldChangeRow.__table__.select().where(FieldChangeRow.record_id == held[0][0])
            .order_by(FieldChangeRow.id)).all()
    assert [(change.field, change.new_value) for change in history] == held[0][2]


def test_a_held_record_changed_after_the_batch_is_written_with_its_revision(
    deployed: Factory, actors: dict[str, Actor]
) -> None:
    admin = actors["admin"]
    with deployed() as uow:
        entity = active_bundle(uow)[0].entities["Contact"]
        row = insert_records(uow, admin, entity, _people(25), NOW, start_processes=False)[3]
        row.data = {**row.data, "position": "manager"}  # a held row takes changes like a loaded one
        uow.flush()
        uow.commit()
        record_id = row.id
    with deployed() as uow:
        stored = uow.session.get(RecordRow, record_id)
        assert stored is not None
        assert (stored.data["position"], stored.revision) == ("manager", 2)
