"""COPY text made column by column (engine/store/copy_text.py) is byte for byte what psycopg's `write_row` sends
(insert_rows sending a COPY's rows that way: tests/integration/test_bulk_insert.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, cast

import pytest
from psycopg._copy_base import TextFormatter
from psycopg.adapt import Transformer
from sqlalchemy import Connection, Table

from engine.store import bulk_insert
from engine.store.copy_text import ColumnsText
from engine.store.models import FieldChangeRow, RecordRow
from engine.store.quality_models import MatchKeyRow
from engine.store.uow import UnitOfWork

HISTORY = cast(Table, FieldChangeRow.__table__)
RECORDS = cast(Table, RecordRow.__table__)
KEYS = cast(Table, MatchKeyRow.__table__)
NOW = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)
TEXTS = ["plain", "Ёжик в тумане", 'q"uote', "back\\slash \\N \\.", "tab\tnew\nline\rcr", "\b\v\f bell", "", "é ü ß 中"]
JSON_VALUES: list[Any] = [
    *TEXTS,
    None,
    0,
    1,
    -7,
    10**30,
    2.5,
    -0.0,
    True,
    False,
    [],
    {},
    {"nested": {"list": [1, 2.5, None, True], "text": "a\tb\\c", "ключ": "значение"}},
]


@pytest.fixture
def postgres(make_uow: Callable[[], UnitOfWork]) -> Iterator[Connection]:
    with make_uow() as uow:
        connection = uow.session.connection()
        if connection.dialect.name != "postgresql":
            pytest.skip("COPY is PostgreSQL's")
        yield connection


def _psycopg_sends(
    connection: Connection, table: Table, names: tuple[str, ...], rows: Sequence[tuple[Any, ...]]
) -> bytes:
    """What `write_row` sends for the rows after the columns' SQLAlchemy processors (the COPY path before)."""
    formatter = TextFormatter(Transformer(connection.connection.driver_connection))
    for values in bulk_insert._bound(rows, bulk_insert._processors(connection, table, names)):
        formatter.write_row(values)
    return bytes(formatter.end())


def _made(
    connection: Connection, table: Table, names: tuple[str, ...], rows: Sequence[tuple[Any, ...]]
) -> bytes | None:
    text = ColumnsText(
        connection.connection.driver_connection,
        bulk_insert._processors(connection, table, names),
        [table.c[name].type.dialect_impl(connection.dialect) for name in names],
    )
    return text.rows_as_text(rows)


def _history(new_values: Sequence[Any], old_values: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
    zone = timezone(timedelta(hours=3))
    olds = old_values if old_values is not None else [None] * len(new_values)
    return [
        (7 + i, NOW if i % 3 else NOW.astimezone(zone), TEXTS[i % len(TEXTS)], "import #1", f"field_{i}", old, new)
        for i, (old, new) in enumerate(zip(olds, new_values, strict=True))
    ]


NAMES = ("record_id", "at", "actor", "source", "field", "old_value", "new_value")


@pytest.mark.parametrize(
    "new_values",
    [
        pytest.param(TEXTS, id="texts"),
        pytest.param(JSON_VALUES, id="every JSON kind"),
        pytest.param([value for value in JSON_VALUES if value is not None], id="every JSON kind but null"),
        pytest.param([None] * 5, id="JSON nulls"),
        pytest.param([0, 1, 2, 10**20], id="integers"),
        pytest.param([True, False, True], id="flags"),
        pytest.param([{"a": 1}, [1, "x"], {"a": 1}], id="objects"),
    ],
)
def test_columns_made_as_text_are_what_write_row_sends(postgres: Connection, new_values: list[Any]) -> None:
    rows = _history(new_values, list(reversed(new_values)))
    made = _made(postgres, HISTORY, NAMES, rows)
    assert made is not None
    assert made == _psycopg_sends(postgres, HISTORY, NAMES, rows)


def test_other_tables_columns_nulls_and_texts_are_what_write_row_sends(postgres: Connection) -> None:
    record_names = (
        "id",
        "entity",
        "title",
        "data",
        "owner_id",
        "created_at",
        "created_by",
        "updated_at",
        "revision",
        "merged_into_id",
    )
    records = [
        (
            10 + i,
            "Contact",
            TEXTS[i % len(TEXTS)],
            {"name": TEXTS[i % len(TEXTS)], "n": i},
            None if i % 2 else 3,
            NOW,
            "importer",
            NOW,
            1,
            None,
        )
        for i in range(12)
    ]
    assert _made(postgres, RECORDS, record_names, records) == _psycopg_sends(postgres, RECORDS, record_names, records)
    key_names = ("entity", "key", "value", "record_id")
    keys = [("Contact", "phone", TEXTS[i % len(TEXTS)], i) for i in range(12)]
    assert _made(postgres, KEYS, key_names, keys) == _psycopg_sends(postgres, KEYS, key_names, keys)


@pytest.mark.parametrize(
    ("row", "why"),
    [
        ((1, NOW, "a\x00b", "s", "f", None, "x"), "a NUL in a text: psycopg's own error"),
        ((1, NOW, "\ud800", "s", "f", None, "x"), "a lone surrogate in a text: not UTF-8"),
        ((1, datetime(2026, 3, 1), "a", "s", "f", None, "x"), "a time without a zone: the column refuses it"),
    ],
)
def test_a_value_only_psycopg_makes_leaves_the_rows_to_write_row(
    postgres: Connection, row: tuple[Any, ...], why: str
) -> None:
    assert _made(postgres, HISTORY, NAMES, [(2, NOW, "a", "s", "f", None, "y"), row]) is None, why
