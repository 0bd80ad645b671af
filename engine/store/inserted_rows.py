"""New rows inserted by a prebuilt Core INSERT and then held by the session as loaded rows.

The ORM's flush of one new object (unit-of-work sort, mapper bookkeeping, post-fetch of the key) cost several
times its INSERT on the hot path: a new record and a new process instance each took one. Here the row is
inserted by a prebuilt statement, takes its key and the first revision of its version counter, and joins the
session as if it had just been read: later `get`s in the unit of work answer from it, later changes to it are
UPDATEs checked by revision, as for any loaded row.

What the ORM does for rows it inserted itself, and does not know to do for these: a savepoint or transaction that
rolls back takes their INSERT with it, so it must also forget the objects (SQLite hands the rolled-back id to the
next INSERT, and the session must not answer a `get` of that id with the object of the undone insert). Every held
row is noted with the transaction or savepoint it was inserted in; a rollback forgets those inserted in the one
that rolled back or in one nested in it (`_forget_rolled_back`), whoever rolled it back (a unit of work's
savepoint, an import's own `begin_nested`, a failed flush, `Session.rollback`).

Rows a multi-row INSERT wrote (`note_inserted`: their ids, before or after the session loads them) are forgotten
the same way: whatever object the session holds for such an id when the savepoint that inserted it rolls back
leaves the session, so the row-by-row write that follows a refused batch can take the id again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, cast

from sqlalchemy import Table, event, inspect
from sqlalchemy.orm import (
    Mapper,
    Session,
    SessionTransaction,
    configure_mappers,
    make_transient,
    make_transient_to_detached,
)
from sqlalchemy.orm.attributes import manager_of_class
from sqlalchemy.orm.util import identity_key
from sqlalchemy.sql.schema import ScalarElementColumnDefault

from engine.store.bulk_insert import insert_rows, inserted_ids_sqlite, reserve_ids
from engine.store.direct import Prebuilt
from engine.store.session_blocks import inside

_INSERTED = "flowcrm.inserted_rows"  # Session.info key of `Noted`
# the transaction the rows were inserted under, and each row (the object, or the identity key of a row the session
# may load later) with the transaction or savepoint it was inserted in
Noted = tuple[SessionTransaction | None, list[tuple[object, SessionTransaction | None]]]


def insert_held(session: Session, row: Any, statement: Prebuilt) -> None:
    """INSERT `row` (a new, transient mapped object) by `statement` (a prebuilt `insert(table)` giving back its key
    column), sent now; the row
    then takes its primary key and revision 1 and is held by the session as a loaded, unmodified row. A column
    left unset takes its constant default (or NULL), so nothing is read back; one whose default is computed (by a
    function or the server) must be set (ValueError)."""
    values = _insert_values(row)  # refuses a row it cannot insert before anything is sent
    key_value = statement.insert_row(session, values)
    if key_value is None:
        raise RuntimeError(f"the INSERT of a {type(row).__name__} returned no primary key")
    _hold(session, row, key_value)
    _note(session, row)


def insert_held_many(session: Session, rows: Sequence[Any], match: str, statement: Prebuilt) -> None:
    """insert_held for many new rows of one mapped class, in multi-row statements (insert_noted: `match` is a
    column whose stored text tells the rows apart); on a database without those, one by one by `statement`."""
    if not rows:
        return
    values = [_insert_values(row) for row in rows]
    ids = insert_noted(session, cast(Table, type(rows[0]).__table__), type(rows[0]), values, match)
    if ids is None:
        for row in rows:
            insert_held(session, row, statement)
        return
    for row, key_value in zip(rows, ids, strict=True):
        _hold(session, row, key_value)


def insert_noted(session: Session, table: Table, model: type[Any], rows: Sequence[dict[str, Any]],
                 match: str) -> list[int] | None:
    """Insert rows of `model` (column values but the key, the same columns in each) in multi-row statements and
    note them (note_inserted); their new ids in order. On SQLite matched back by the stored text of the column
    `match` (bulk_insert.inserted_ids_sqlite); on PostgreSQL the ids are taken from the sequence first (one
    statement) and the rows go through COPY (bulk_insert.insert_rows), so nothing is read back. None on other
    databases (nothing inserted: the caller inserts them)."""
    if (ids := inserted_ids_sqlite(session, table, rows, match)) is None:
        ids = reserve_ids(session, table, len(rows))
        if ids is None:
            return None
        (key,) = table.primary_key.columns
        insert_rows(session, table, [{key.name: row_id, **row} for row_id, row in zip(ids, rows, strict=True)])
    note_inserted(session, model, ids)  # a savepoint rolling them back takes them out of the session
    return ids


def _insert_values(row: Any) -> dict[str, Any]:
    """The column values a prebuilt INSERT of a new row sends: its own, revision 1, constant defaults; a column
    whose default is computed must be set (ValueError)."""
    columns, _ = _plan(type(row))
    values: dict[str, Any] = {}
    state = row.__dict__
    for name, key, kind, default in columns:
        if kind is _VERSION:
            setattr(row, key, 1)  # what the ORM's version counter starts at
        elif key not in state:
            if kind is _COMPUTED:
                # the value the database or a function would give is not known here without reading it back
                raise ValueError(
                    f"{type(row).__name__}.{key} must be set before a prebuilt insert (its default is computed)"
                )
            setattr(row, key, default)  # the column's constant default or NULL: nothing is left to load afterwards
        values[name] = getattr(row, key)
    return values


def _hold(session: Session, row: Any, key_value: Any) -> None:
    """A row just inserted with the key `key_value`, held by the session as loaded and unchanged."""
    setattr(row, _plan(type(row))[1], key_value)
    make_transient_to_detached(row)  # as if read from the database: no pending INSERT, no changes to flush
    session.add(row)


_VERSION, _COMPUTED, _CONSTANT = "version", "computed", "constant"
# per mapped class: (column name, attribute, kind, constant default) of each column but the key, and the key's
# attribute — what `insert_held` asks of the mapper, which does not change while the process runs (it was a tenth
# of the inserts' Python calls to ask it again for each row)
_PLANS: dict[type, tuple[tuple[tuple[str, str, str, Any], ...], str]] = {}


def _plan(model: type) -> tuple[tuple[tuple[str, str, str, Any], ...], str]:
    found = _PLANS.get(model)
    if found is None:
        mapper: Mapper[Any] = inspect(model)
        version = mapper.version_id_col
        columns: list[tuple[str, str, str, Any]] = []
        for column in cast(Table, mapper.local_table).columns:
            if column.primary_key:
                continue
            key = mapper.get_property_by_column(column).key
            default = cast(ScalarElementColumnDefault | None, column.default)
            if version is not None and column is version:
                columns.append((column.key, key, _VERSION, 1))
            elif column.server_default is not None or (default is not None and not default.is_scalar):
                columns.append((column.key, key, _COMPUTED, None))
            else:
                columns.append((column.key, key, _CONSTANT, default.arg if default is not None else None))
        (primary,) = mapper.primary_key
        found = _PLANS[model] = (tuple(columns), mapper.get_property_by_column(primary).key)
    return found


def settle(session: Session, row: object) -> None:
    """Let the session hold `row` as loaded and unchanged again: for a row whose every change a prebuilt statement
    has just stored (its values set as stored). Without this the row keeps the ORM's modified flag, and the commit
    runs a flush that finds nothing to write (a few hundred microseconds of bookkeeping). The same object stays
    held (and in the hands of whoever has it); attributes that were not loaded are loaded on next use, as before."""
    session.expunge(row)
    make_transient(row)
    make_transient_to_detached(row)
    session.add(row)


def hold_inserted(session: Session, model: type[Any], ids: Sequence[int],
                  rows: Sequence[dict[str, Any]]) -> list[Any]:
    """Objects of `model` for rows a multi-row INSERT just wrote (`rows`: every column's value but the key, as
    stored; `ids`: their keys in order), held by the session as loaded and unchanged, as if a query had read them:
    the INSERT's values are what a read would give back, so none is sent."""
    configure_mappers()  # at once when done (a row is made without the constructor, which would see to it)
    primary = _plan(model)[1]
    manager = manager_of_class(model)
    held = []
    for row_id, values in zip(ids, rows, strict=True):
        # as the ORM's loading makes a row: the values straight into its state (the constructor's attribute
        # events, undone by make_transient_to_detached, took longer than reading the rows back)
        row = manager.new_instance()
        row.__dict__.update(values)
        row.__dict__[primary] = row_id
        make_transient_to_detached(row)
        session.add(row)
        held.append(row)
    return held


def note_inserted(session: Session, model: type[Any], ids: Iterable[int]) -> None:
    """Note rows of `model` just written by a multi-row INSERT in the current savepoint or transaction: when it
    rolls back, the objects the session then holds for them leave it (made transient)."""
    _note(session, *(identity_key(model, record_id) for record_id in ids))


def _note(session: Session, *rows: object) -> None:
    root = session.get_transaction()
    current = session.get_nested_transaction() or root
    noted: Noted | None = session.info.get(_INSERTED)
    if noted is None or noted[0] is not root:  # rows of an earlier transaction are committed (or long forgotten)
        noted = (root, [])
        session.info[_INSERTED] = noted
    noted[1].extend((row, current) for row in rows)


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    """Forget the rows inserted in the transaction or savepoint whose rollback the database just did (or in one
    nested in it), before the session expires what it holds: as the ORM does with rows it inserted, they leave the
    session and become transient with their values."""
    noted = session.info.get(_INSERTED)
    if not noted:
        return
    # the database rolled back the innermost savepoint, or the transaction when none is open (a savepoint nested
    # in the one rolled back was closed before this)
    rolled_back = session.get_nested_transaction() or session.get_transaction()
    if rolled_back is None:
        return
    kept = []
    for row, transaction in noted[1]:
        if not inside(transaction, rolled_back):
            kept.append((row, transaction))
            continue
        held = session.identity_map.get(row) if isinstance(row, tuple) else row  # an id noted, or the object
        if held is None:
            continue  # never loaded, or let go of
        if held in session:
            session.expunge(held)
        make_transient(held)
    noted[1][:] = kept
