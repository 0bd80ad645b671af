"""The hot path's prebuilt writes sent as driver SQL on the unit of work's connection.

A prebuilt Core INSERT, UPDATE or DELETE through `Session.execute` took about 120 Python calls on SQLite (180 on
PostgreSQL) before the driver saw it: the session's dispatch and its statement listeners, then Core's cache key,
cached compilation lookup, parameter construction, execution context and result object — for a statement whose
text never changes. Here the statement is compiled once per dialect (a multi-row INSERT on PostgreSQL once per row
count), its parameters are bound as the compiled statement binds them (each bind's own processor: JSON to text, UTC
timestamps, flags), and it is executed on a cursor of the session's connection (`_send`). What stays the same: it
runs in the session's transaction or savepoint; the engine's `before_cursor_execute` and `after_cursor_execute`
listeners see it (statement counts, write tracking, PostgreSQL's BEGIN at the first write); a driver error comes
out as SQLAlchemy's (`IntegrityError`, `OperationalError`), a lost connection is invalidated; and what the unit of
work's `do_orm_execute` listeners do for a statement sent through the session is done by the hooks registered here
(`before_send`: the transaction is noted as written, buffered field history goes first). An UPDATE or DELETE of an
append-only audit table is refused when the statement is built (engine.store.audit_guard). Core statements of a
table never autoflushed the session; these do not either."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Column, Connection, CursorResult, Delete, Insert, Table, Update, bindparam, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter

from engine.store import pipeline
from engine.store.audit_guard import APPEND_ONLY

ROWS_PER_STATEMENT = 100  # PostgreSQL: more rows than this go through the session (SQLAlchemy's pages of them)
_DRIVERS = frozenset({("sqlite", "pysqlite"), ("postgresql", "psycopg")})  # the drivers whose cursors `_send` knows
Hook = Callable[[Session, "Prebuilt"], None]
_HOOKS: list[Hook] = []


def before_send(hook: Hook) -> Hook:
    """Register `hook(session, statement)`, called before every prebuilt statement is sent: what a
    `do_orm_execute` listener does for statements sent through the session, it must do here too."""
    _HOOKS.append(hook)
    return hook


@dataclass(frozen=True)
class _Form:
    """One compiled text: the SQL, the bind names in their order (a positional dialect) or None (named), the
    values of binds the statement fixes itself (literals, constant column defaults), each bind's processor."""

    sql: str
    order: tuple[str, ...] | None
    fixed: dict[str, Any]
    processors: tuple[tuple[str, Callable[[Any], Any]], ...]


class Prebuilt:
    """A Core INSERT, UPDATE or DELETE of one table, built once at import, sent by `run` / `insert_rows`."""

    def __init__(self, statement: Insert | Update | Delete, *, returning: str | None = None,
                 guarded: bool = False) -> None:
        table = cast(Table, statement.table)
        kind = "insert" if isinstance(statement, Insert) else "update" if isinstance(statement, Update) else "delete"
        if kind != "insert" and table.name in APPEND_ONLY:
            raise ValueError(f"the audit trail is append only: no prebuilt {kind} of {table.name}")
        self.statement, self.table, self.kind = statement, table, kind
        self.returning = returning  # an INSERT's key column to give back (`insert_row`)
        # an UPDATE of one row checked by its row count: on PostgreSQL the server fails it when it matched none
        # (engine.store.pipeline.guard), so the COMMIT can go with it without waiting for its answer
        self.guarded = guarded
        self._forms: dict[tuple[Any, ...], _Form | None] = {}

    def run(self, session: Session, params: dict[str, Any]) -> int:
        """Send the statement with one set of parameters; the number of rows it matched."""
        connection = session.connection()
        form = self._form(connection.dialect, tuple(params) if self.kind == "insert" else (), 1)
        if form is None:  # a shape these texts do not cover: as before, through the session
            return int(cast(CursorResult[Any], session.execute(self.statement, params)).rowcount)
        for hook in _HOOKS:
            hook(session, self)
        return int(_send(connection, form.sql, _bound(form, params), False, _rowcount))

    def send(self, session: Session, params: dict[str, Any], check: pipeline.Check | None = None) -> None:
        """Send the statement with one set of parameters, its row count to `check` (which raises when it is not
        what the caller expected): on PostgreSQL it waits with the connection's other held writes for the next
        statement whose answer is read, or the commit (engine.store.pipeline), so a check may raise then."""
        connection = session.connection()
        form = self._form(connection.dialect, tuple(params) if self.kind == "insert" else (), 1)
        if form is None:
            matched = int(cast(CursorResult[Any], session.execute(self.statement, params)).rowcount)
        else:
            for hook in _HOOKS:
                hook(session, self)
            _send(connection, form.sql, _bound(form, params), False, _rowcount, check=check, defer=True)
            return
        if check is not None:
            check(matched)

    def insert_row(self, session: Session, values: dict[str, Any]) -> Any:
        """INSERT one row and give back its `returning` column (the key the database assigned)."""
        connection = session.connection()
        dialect = connection.dialect
        form = self._form(dialect, tuple(values), 1)
        if form is None or self.returning is None:
            result = cast(CursorResult[Any], session.execute(self.statement, values))
            (key,) = result.inserted_primary_key or (None,)
            return key
        for hook in _HOOKS:
            hook(session, self)
        return _send(connection, form.sql, _bound(form, values), False,
                     _last_row_id if dialect.name == "sqlite" else _returned)

    def insert_rows(self, session: Session, rows: Sequence[dict[str, Any]]) -> None:
        """INSERT rows (the same columns in each) in one statement: an executemany on SQLite, one multi-row
        INSERT on PostgreSQL (what the engine's "insertmanyvalues" sends for the session's executemany)."""
        if not rows:
            return
        connection = session.connection()
        dialect = connection.dialect
        names = tuple(rows[0])
        many = dialect.name == "postgresql" and len(rows) > 1
        form = self._form(dialect, names, len(rows) if many else 1)
        if form is None:
            session.execute(self.statement, list(rows))
            return
        for hook in _HOOKS:
            hook(session, self)
        if many:
            params = {f"{name}__{n}": value for n, row in enumerate(rows) for name, value in row.items()}
            _send(connection, form.sql, _bound(form, params), False, _nothing, defer=True)
        elif len(rows) == 1:
            _send(connection, form.sql, _bound(form, rows[0]), False, _nothing, defer=True)
        else:
            _send(connection, form.sql, [_bound(form, row) for row in rows], True, _nothing)

    def _form(self, dialect: Dialect, names: tuple[str, ...], count: int) -> _Form | None:
        key = (dialect.name, dialect.driver, names, count)  # the text and its parameter style are the driver's
        try:
            return self._forms[key]
        except KeyError:
            form = self._forms[key] = self._compile(dialect, names, count)
            return form

    def _compile(self, dialect: Dialect, names: tuple[str, ...], count: int) -> _Form | None:
        """The statement's text for `dialect` (an INSERT of the columns `names`, `count` rows), or None when the
        session must send it: a column default computed in Python, an expanding parameter, too many rows, a
        driver `_send` does not know."""
        if (dialect.name, dialect.driver) not in _DRIVERS or count > ROWS_PER_STATEMENT:
            return None
        fixed: dict[str, Any] = {}
        statement: Any = self.statement
        if self.kind == "insert":
            columns: dict[str, Column[Any]] = dict(self.table.c.items())
            if any(name not in columns for name in names):
                return None
            for column in self.table.columns:
                default: Any = column.default
                if column.name in names or default is None:
                    continue
                if not default.is_scalar:
                    return None  # a default SQLAlchemy computes per row: the session's INSERT knows how
                fixed[column.name] = default.arg
            given = (*names, *fixed)
            if count == 1:
                values: Any = {name: bindparam(name, type_=columns[name].type) for name in given}
            else:
                values = [{name: bindparam(f"{name}__{n}", type_=columns[name].type) for name in given}
                          for n in range(count)]
                fixed = {f"{name}__{n}": value for n in range(count) for name, value in fixed.items()}
            statement = insert(self.table).values(values)
            if self.returning is not None and dialect.name != "sqlite":
                statement = statement.returning(columns[self.returning])
        else:
            for column in self.table.columns:
                if column.onupdate is not None:
                    return None  # an UPDATE the session would add a column's new value to
        compiled: Any = statement.compile(dialect=dialect)
        binds: dict[str, BindParameter[Any]] = compiled.binds
        processors = []
        for name, bind in binds.items():
            if bind.expanding:
                return None
            if not bind.required and name not in fixed:
                fixed[name] = bind.effective_value  # a literal of the statement (`state == 'open'`)
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                processors.append((name, process))
        order = tuple(compiled.positiontup) if compiled.positional else None
        sql = pipeline.guard(str(compiled)) if self.guarded and dialect.name == "postgresql" else str(compiled)
        return _Form(sql, order, fixed, tuple(processors))


def _bound(form: _Form, params: dict[str, Any]) -> Any:
    """The parameters as the driver takes them: each through its bind's processor; a tuple in the text's order
    for a positional dialect (SQLite), else a dictionary (psycopg)."""
    values = {**form.fixed, **params} if form.fixed else dict(params)
    for name, process in form.processors:
        values[name] = process(values[name])
    if form.order is None:
        return values
    return tuple([values[name] for name in form.order])


def _send(connection: Connection, sql: str, params: Any, many: bool, read: Callable[[Any], Any], *,
          check: pipeline.Check | None = None, defer: bool = False) -> Any:
    """Execute on a cursor of the connection's driver connection what `Connection.exec_driver_sql` would, with its
    engine's `before_cursor_execute` and `after_cursor_execute` listeners around it, and give what `read` takes
    from the cursor. A driver error comes out as SQLAlchemy's (`IntegrityError`, `OperationalError`...); a lost
    connection is invalidated and the pool's other connections dropped, as SQLAlchemy does; the row count goes to
    `check`. `defer`: the caller reads no answer (but the row count's check): on PostgreSQL the statement is then
    held (engine.store.pipeline) and sent with the next one whose answer is read or the commit; otherwise held
    writes go before it, in the same pipeline."""
    dialect = connection.dialect
    cursor: Any = connection.connection.cursor()
    held = dialect.driver == "psycopg"
    try:
        for before in connection.dispatch.before_cursor_execute:
            sql, params = before(connection, cursor, sql, params, None, many)
        if held and defer and not many:
            pipeline.hold(connection, cursor, sql, params, check)
            cursor = None  # the queue closes it once sent
            return None
        if held and not many and connection.info.get(pipeline.PENDING):  # behind the held writes, in one pipeline
            pipeline.send_held(connection, lambda: cursor.execute(sql, params), also_sent=(sql, params))
        else:
            try:
                if many:
                    cursor.executemany(sql, params)
                else:
                    cursor.execute(sql, params)
            except dialect.loaded_dbapi.Error as exc:
                lost = dialect.is_disconnect(exc, connection.connection.dbapi_connection, cursor)
                if lost:
                    connection.invalidate(exc)
                    connection.engine.dispose(close=False)
                raise DBAPIError.instance(sql, params, exc, dialect.loaded_dbapi.Error, connection_invalidated=lost,
                                          dialect=dialect, ismulti=many) from exc
        for after in connection.dispatch.after_cursor_execute:
            after(connection, cursor, sql, params, None, many)
        answer = read(cursor)
        if check is not None:
            check(cursor.rowcount)
        return answer
    finally:
        if cursor is not None:
            cursor.close()


def _rowcount(cursor: Any) -> Any:
    return cursor.rowcount


def _last_row_id(cursor: Any) -> Any:
    return cursor.lastrowid


def _returned(cursor: Any) -> Any:
    row = cursor.fetchone()
    return row[0] if row is not None else None


def _nothing(_cursor: Any) -> None:
    return None

