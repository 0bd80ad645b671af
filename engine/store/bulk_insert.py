"""Many rows into one table in one statement: on PostgreSQL through COPY, elsewhere as an executemany INSERT
(on SQLite handed to the driver with the values already processed).

psycopg sends an executemany INSERT as one execution of the statement per row (pipelined, but each row parsed,
planned and run on its own); COPY streams the rows into the table in one command. Measured on this project's
machine (20,000 field history rows, load 10): 3.2–3.7 s wall and 0.45–0.5 s client CPU as an executemany INSERT,
0.6–1.2 s and 0.07–0.1 s through COPY. Values go through each column type's own bind processor first (JSON,
UTC timestamps), so COPY stores exactly what the INSERT would, and the engine's before/after_cursor_execute
listeners see the COPY as the statement it is (the tests and benchmarks that count statements count it).
A COPY's rows go as text made column by column (engine/store/copy_text.py: the bytes psycopg's write_row would
send, at a fifth of its client time for field history)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Table, func, insert, select
from sqlalchemy.orm import Session

from engine.store import pipeline
from engine.store.direct import Prebuilt

COPY_FROM = 20  # fewer rows go as an INSERT: COPY's own set-up costs about one statement
_COPY_CHUNK = 5_000  # rows made into COPY text at a time (engine/store/copy_text.py)
_PROCESSORS: dict[tuple[str, str, tuple[str, ...]], list[Callable[[Any], Any] | None]] = {}
_INSERTS: dict[str, Prebuilt] = {}
_NOTHING = object()
_SQLITE_PAGE, _SQLITE_PARAMETERS = 1000, 32700  # rows and parameters of one statement, as SQLAlchemy's pages
# equal values of these types are bound alike by every processor (True == 1 is told apart by the type in the key)
_BY_VALUE = frozenset({str, int, bool, type(None)})
# SQLite: the INSERT text and its parameters' order, per table and columns
_SQL: dict[tuple[str, tuple[str, ...]], tuple[str, tuple[str, ...]]] = {}


def insert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows (column values, the same columns in each) into `table` inside the session's transaction."""
    if not rows:
        return
    names = tuple(rows[0])
    if _as_insert(session, table, names, len(rows)):  # the hot path's few rows: as they are, no tuples made
        _prebuilt_insert(table).insert_rows(session, list(rows))
        return
    take = itemgetter(*names) if len(names) > 1 else (lambda row: (row[names[0]],))
    _bulk(session, table, names, [take(row) for row in rows])


def insert_tuples(session: Session, table: Table, names: tuple[str, ...], rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert rows given as tuples of the values of the columns `names` into `table` inside the session's
    transaction: the bulk paths take them as they are, without a dictionary per row."""
    if not rows:
        return
    if _as_insert(session, table, names, len(rows)):
        _prebuilt_insert(table).insert_rows(session, [dict(zip(names, row, strict=True)) for row in rows])
        return
    _bulk(session, table, names, rows)


def _as_insert(session: Session, table: Table, names: tuple[str, ...], count: int) -> bool:
    """Whether the rows go as a prebuilt INSERT: few of them, a default SQLAlchemy computes, or a database
    without the bulk paths."""
    return (count < COPY_FROM or _python_defaults(table, names)
            or session.connection().dialect.name not in ("postgresql", "sqlite"))


def _prebuilt_insert(table: Table) -> Prebuilt:
    prebuilt = _INSERTS.get(table.name)
    if prebuilt is None:
        prebuilt = _INSERTS[table.name] = Prebuilt(insert(table))
    return prebuilt


def _bulk(session: Session, table: Table, names: tuple[str, ...], rows: Sequence[tuple[Any, ...]]) -> None:
    """COPY on PostgreSQL, the driver's executemany on SQLite."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        _copy(connection, table, names, rows)
    else:
        _executemany(connection, table, names, rows)


def _processors(connection: Connection, table: Table, names: tuple[str, ...]) -> list[Callable[[Any], Any] | None]:
    """Each column's bind processor (JSON to text, UTC timestamps), as the dialect's INSERT would apply it."""
    dialect = connection.dialect
    key = (dialect.name, table.name, names)
    processors = _PROCESSORS.get(key)
    if processors is None:
        processors = [table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names]
        _PROCESSORS[key] = processors
    return processors


def _executemany(connection: Connection, table: Table, names: tuple[str, ...],
                 rows: Sequence[tuple[Any, ...]]) -> None:
    """SQLite: the INSERT text once, each row's values through the column processors into the driver's
    executemany; SQLAlchemy's own executemany builds and checks a parameter dictionary per row first, a quarter
    of a 10,000-row import's CPU (cProfile: `_init_compiled`, `construct_params`)."""
    found = _SQL.get((table.name, names))
    if found is None:  # the dialect's own INSERT text (positional parameters), compiled once
        compiled = insert(table).compile(dialect=connection.dialect, column_keys=list(names))
        found = _SQL[(table.name, names)] = (str(compiled), tuple(compiled.positiontup or ()))
    statement, order = found
    if order != names:  # the compiled statement's parameter order (the columns' own so far: kept for safety)
        place = itemgetter(*(names.index(name) for name in order)) if len(order) > 1 else (lambda row: (row[0],))
        rows = [place(row) for row in rows]
    connection.exec_driver_sql(statement, _bound(rows, _processors(connection, table, order)))


def _bound(rows: Sequence[tuple[Any, ...]],
           processors: Sequence[Callable[[Any], Any] | None]) -> Sequence[tuple[Any, ...]]:
    """Each row's values through the columns' processors; a value seen before in this statement (the same time,
    source, null or code on every history row) is not processed again."""
    steps = [(index, _once_per_value(process)) for index, process in enumerate(processors) if process is not None]
    if not steps:
        return rows
    bound = []
    for row in rows:
        values = list(row)
        for index, process in steps:
            values[index] = process(values[index])
        bound.append(tuple(values))
    return bound


def _once_per_value(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`process` remembering what it made of each text, number, flag and null (and of the last other value, an
    immutable time most often) for one statement's rows."""
    made: dict[tuple[type, Any], Any] = {}
    last: list[Any] = [_NOTHING, None]

    def run(value: Any) -> Any:
        kind = type(value)
        if kind in _BY_VALUE:
            key = (kind, value)
            result = made.get(key, _NOTHING)
            if result is _NOTHING:
                result = made[key] = process(value)
            return result
        if value is last[0]:
            return last[1]
        result = process(value)
        last[0], last[1] = value, result
        return result

    return run


def inserted_ids_sqlite(session: Session, table: Table, rows: Sequence[dict[str, Any]], match: str) -> list[int] | None:
    """SQLite: insert rows (the same columns in each) in multi-row `INSERT … RETURNING` statements of at most
    SQLAlchemy's own page (1,000 rows, 32,700 parameters) and give each row's new id, matched back by the stored
    text of its column `match` (rows with the same text are equal in every column, so either id fits; the lowest
    goes to the first). None on other databases (the caller inserts them). The values go through the columns'
    processors once each (_bound) and come back as stored: no parameter dictionary per row, no JSON read back."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return None
    names = tuple(rows[0])
    take = itemgetter(*names) if len(names) > 1 else (lambda row: (row[names[0]],))
    bound = _bound([take(row) for row in rows], _processors(connection, table, names))
    quote = connection.dialect.identifier_preparer.quote
    (key,) = table.primary_key.columns
    # identifiers quoted by the dialect from the mapped table; every value is a bound parameter
    head = f"INSERT INTO {quote(table.name)} ({', '.join(quote(name) for name in names)}) VALUES "  # noqa: S608
    marks = f"({', '.join('?' for _ in names)})"
    tail = f" RETURNING {quote(key.name)}, {quote(match)}"
    page = max(1, min(_SQLITE_PAGE, _SQLITE_PARAMETERS // len(names)))
    found: dict[Any, list[int]] = {}
    for start in range(0, len(bound), page):
        chunk = bound[start:start + page]
        result = connection.exec_driver_sql(head + ", ".join([marks] * len(chunk)) + tail,
                                            tuple(value for values in chunk for value in values))
        for record_id, stored in sorted(result.fetchall(), key=lambda r: int(r[0])):
            found.setdefault(stored, []).append(int(record_id))
    at = names.index(match)
    ids = []
    for values in bound:
        same = found.get(values[at])
        if not same:
            raise RuntimeError(f"a row inserted with {values[at]!r} came back with another {match}")
        ids.append(same.pop(0))
    return ids


def reserve_ids(session: Session, table: Table, count: int) -> list[int] | None:
    """PostgreSQL: `count` new values of the sequence behind `table`'s key, in one statement and in the order the
    sequence gave them (ascending), so rows can go through COPY with their ids known (no RETURNING to read them
    back). None on other databases."""
    connection = session.connection()
    if connection.dialect.name != "postgresql" or count <= 0:
        return None
    (key,) = table.primary_key.columns
    sequence = func.pg_get_serial_sequence(table.name, key.name)
    stmt = select(func.nextval(sequence)).select_from(func.generate_series(1, count))
    return sorted(int(value) for value in session.execute(stmt).scalars())


def jsonb_order(value: Any) -> Any:
    """`value` with the keys of every object in the order PostgreSQL's JSONB stores them (shorter keys first,
    keys of one length bytewise), as a value read back from a JSONB column has them."""
    if isinstance(value, dict):
        return {key: jsonb_order(value[key]) for key in sorted(value, key=_jsonb_key)}
    if isinstance(value, list):
        return [jsonb_order(item) for item in value]
    return value


def _jsonb_key(key: str) -> tuple[int, bytes]:
    encoded = key.encode()
    return len(encoded), encoded


def _python_defaults(table: Table, names: tuple[str, ...]) -> bool:
    """Whether a column left out has a default computed by SQLAlchemy (COPY would leave it to the server)."""
    given = set(names)
    return any(column.default is not None for column in table.columns if column.name not in given)


def _copy(connection: Connection, table: Table, names: tuple[str, ...], rows: Sequence[tuple[Any, ...]]) -> None:
    from engine.store import copy_end  # psycopg's own modules: imported where PostgreSQL is used
    from engine.store.copy_text import ColumnsText

    quote = connection.dialect.identifier_preparer.quote
    statement = f"COPY {quote(table.name)} ({', '.join(quote(name) for name in names)}) FROM STDIN"
    raw = connection.connection.driver_connection
    assert raw is not None  # noqa: S101 - a checked-out connection has its driver connection
    pipeline.send_held(connection)  # held prebuilt writes go before the COPY (which no pipeline may hold)
    with raw.cursor() as cursor:
        for listener in connection.dispatch.before_cursor_execute:
            listener(connection, cursor, statement, rows, None, True)
        # the COPY's end is sent and its answer read when the connection is next used (engine/store/copy_end.py)
        with cursor.copy(statement, writer=copy_end.writer(cursor, connection)) as copy:
            processors = _processors(connection, table, names)
            text = ColumnsText(raw, processors, [table.c[name].type.dialect_impl(connection.dialect)
                                                 for name in names])
            start = 0
            while start < len(rows) and (encoded := text.rows_as_text(rows[start:start + _COPY_CHUNK])) is not None:
                copy.write(encoded)
                start += _COPY_CHUNK
            # from a chunk with a value only psycopg makes as it should, row by row to the end (write_row buffers
            # its rows: a later write() would overtake them, and the rows' ids follow their order)
            for values in _bound(rows[start:], processors):
                copy.write_row(values)
        for listener in connection.dispatch.after_cursor_execute:
            listener(connection, cursor, statement, rows, None, True)
