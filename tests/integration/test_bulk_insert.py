"""Rows written by insert_rows (engine/store/bulk_insert.py: COPY on PostgreSQL) are stored exactly as the INSERT
they replace stores them: JSON values (JSON null, nested, text with tabs, newlines, backslashes and quotes),
timestamps given in another zone, Cyrillic text; and the statement listeners see the COPY."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, cast

import pytest
from sqlalchemy import Table, event, func, insert, select

from engine.store.bulk_insert import COPY_FROM, insert_rows
from engine.store.models import FieldChangeRow, RecordRow
from engine.store.uow import UnitOfWork

TABLE = cast(Table, FieldChangeRow.__table__)
VALUES: list[Any] = [
    None,
    "plain",
    'tab\there, new\nline, back\\slash, "quotes", \\N and \\.',
    "\b bell \v \f and\r carriage",
    "Ёжик в тумане",
    {"nested": {"list": [1, 2.5, None, True], "text": "a\tb"}},
    [],
    0,
    -3.25,
    False,
]


def _rows(record_id: int, source: str) -> list[dict[str, Any]]:
    zone = timezone(timedelta(hours=3))
    return [
        {
            "record_id": record_id,
            "at": datetime(2026, 3, 1, 12, i % 60, tzinfo=zone),
            "actor": "importer",
            "source": source,
            "field": f"field_{i}",
            "old_value": VALUES[i % len(VALUES)],
            "new_value": VALUES[(i + 1) % len(VALUES)],
        }
        for i in range(2 * COPY_FROM)
    ]


def _stored(uow: UnitOfWork, source: str) -> list[tuple[Any, ...]]:
    columns = [TABLE.c.record_id, TABLE.c.at, TABLE.c.actor, TABLE.c.field, TABLE.c.old_value, TABLE.c.new_value]
    stmt = select(*columns, TABLE.c.old_value.is_(None)).where(TABLE.c.source == source).order_by(TABLE.c.id)
    return [tuple(row) for row in uow.session.execute(stmt)]


def test_rows_written_by_insert_rows_are_stored_as_the_insert_stores_them(make_uow: Callable[[], UnitOfWork]) -> None:
    seen: list[str] = []
    with make_uow() as uow:
        now = datetime(2026, 3, 1, tzinfo=UTC)
        record_id = uow.session.execute(
            insert(RecordRow).returning(RecordRow.id),
            {
                "entity": "Contact",
                "title": "t",
                "data": {},
                "owner_id": None,
                "created_at": now,
                "created_by": "importer",
                "updated_at": now,
                "revision": 1,
                "merged_into_id": None,
            },
        ).scalar_one()
        uow.session.execute(insert(TABLE), _rows(record_id, "insert"))
        engine = uow.session.get_bind()
        listener = lambda _conn, _cursor, statement, *_: seen.append(statement)  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            insert_rows(uow.session, TABLE, _rows(record_id, "bulk"))
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        uow.commit()
    with make_uow() as uow:
        inserted, bulk = _stored(uow, "insert"), _stored(uow, "bulk")
        assert len(bulk) == 2 * COPY_FROM
        assert bulk == inserted
        assert bulk[0][1] == datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
        count = uow.session.scalar(select(func.count()).select_from(TABLE))
        assert count == 4 * COPY_FROM
    assert len(seen) == 1, seen
    expected = "COPY field_change" if make_uow().database.startswith("postgresql") else "INSERT INTO field_change"
    assert " ".join(seen[0].split()).startswith(expected), seen


def test_each_distinct_value_of_a_column_is_bound_once_per_statement(
    make_uow: Callable[[], UnitOfWork], monkeypatch: pytest.MonkeyPatch
) -> None:
    import engine.store.bulk_insert as bulk_insert

    calls: dict[str, list[Any]] = {}
    processors = bulk_insert._processors

    def counted(connection: Any, table: Table, names: tuple[str, ...]) -> list[Callable[[Any], Any] | None]:
        def counting(name: str, process: Callable[[Any], Any] | None) -> Callable[[Any], Any] | None:
            if process is None:
                return None
            return lambda value: (calls.setdefault(name, []).append(value), process(value))[1]

        return [counting(name, process) for name, process in zip(names, processors(connection, table, names),
                                                                 strict=True)]

    monkeypatch.setattr(bulk_insert, "_processors", counted)
    now = datetime(2026, 3, 1, tzinfo=UTC)
    codes = ["moscow", "siberia", 0, False, None]  # 0 and False are told apart: JSON 0 and false
    rows = [{"record_id": 1, "at": now, "actor": "importer", "source": "bulk", "field": "region",
             "old_value": None, "new_value": codes[i % len(codes)]} for i in range(10 * COPY_FROM)]
    with make_uow() as uow:
        uow.session.execute(insert(RecordRow), {"id": 1, "entity": "Contact", "title": "t", "data": {},
                                                "owner_id": None, "created_at": now, "created_by": "importer",
                                                "updated_at": now, "revision": 1, "merged_into_id": None})
        insert_rows(uow.session, TABLE, rows)
        stored = uow.session.execute(select(TABLE.c.at, TABLE.c.new_value).order_by(TABLE.c.id)).all()
    # each row's values went through a processor before (200 rows: 200 times per column)
    assert sorted(calls["new_value"], key=repr) == sorted(codes, key=repr)
    assert calls["old_value"] == [None]
    assert len(calls.get("at", [])) <= 1  # SQLite formats the time; PostgreSQL's driver takes it as it is
    assert [value for _, value in stored] == [codes[i % len(codes)] for i in range(10 * COPY_FROM)]
    assert {at for at, _ in stored} == {now}


def test_copy_rows_go_as_text_in_their_order_none_through_write_row(
    make_uow: Callable[[], UnitOfWork], monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL: a COPY's rows are sent as text made column by column (engine/store/copy_text.py), in chunks,
    not one by one through psycopg's write_row; the rows keep their order (their ids) and are stored as the
    INSERT stores them."""
    from psycopg import Copy

    rows_written: list[Any] = []
    write_row = Copy.write_row
    monkeypatch.setattr(Copy, "write_row", lambda self, row: (rows_written.append(row), write_row(self, row))[1])
    count = 12_007  # more than two chunks of text
    with make_uow() as uow:
        now = datetime(2026, 3, 1, tzinfo=UTC)
        record_id = uow.session.execute(insert(RecordRow).returning(RecordRow.id), {
            "entity": "Contact", "title": "t", "data": {}, "owner_id": None, "created_at": now,
            "created_by": "importer", "updated_at": now, "revision": 1, "merged_into_id": None}).scalar_one()
        base = _rows(record_id, "copy")
        rows = [{**base[i % len(base)], "field": f"field_{i}"} for i in range(count)]
        uow.session.execute(insert(TABLE), [{**row, "source": "insert"} for row in rows[:60]])
        insert_rows(uow.session, TABLE, rows)
        stored = {source: _stored(uow, source) for source in ("insert", "copy")}
    assert [row[3] for row in stored["copy"]] == [row["field"] for row in rows]  # ids in the rows' order
    assert stored["copy"][:60] == stored["insert"]
    assert rows_written == []  # SQLite has no COPY; PostgreSQL's went as text, no row through write_row
