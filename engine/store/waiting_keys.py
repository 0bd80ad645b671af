"""Search and match keys of new records, held back and written together: one INSERT per table, sorted by its
lookup index, for all the records a block (an import's batch of rows) creates, rather than one per run of rows.

Each key row goes into several B-trees (search_key: the row, `record_id`, (`key`, `entity`, `record_id`),
(`owner_id`, `key`, `record_id`); match_key: the row, `record_id`, (`entity`, `key`, `value`)); written in key
order, one statement walks each index once.

The keys wait only where nothing can tell: the repositories send them before any read of their table (a lookup,
a group, a search) and before a DELETE of a whole entity's keys, and a record's own replace or delete takes its
waiting keys instead (`drop`), as the database would have. A search key's owner is read from its record when the
key is sent (a trigger copies `record.owner_id` into the keys of a record whose owner changes: a rule's action may
give the record another owner after its keys were made). A savepoint that rolls back takes with it the keys held
in it and gives back those dropped in it, as it would rows written to the database (`_forget_rolled_back`); the
rest go at the block's end, even one that fails (as they would have gone unheld), or when MOST_WAITING of a
table's keys wait (memory stays bounded in an import of a whole file in one transaction)."""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, bindparam, event
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.orm.util import identity_key

from engine.store.bulk_insert import insert_tuples
from engine.store.models import RecordRow
from engine.store.quality_models import MatchKeyRow
from engine.store.search_models import SearchKeyRow
from engine.store.session_blocks import holding, inside

_HELD = "flowcrm.waiting_keys"  # Session.info key of `_Held`, while a block holds keys
SEARCH, MATCH = "search_key", "match_key"
MOST_WAITING = 50_000  # keys of one table held at most (an import in one transaction: about 5,000 records' worth)
_TABLES = {SEARCH: cast(Table, SearchKeyRow.__table__), MATCH: cast(Table, MatchKeyRow.__table__)}
_DELETED_AT_ONCE = 1000  # record ids in one DELETE of stored keys
_DELETES = {name: table.delete().where(table.c.record_id.in_(bindparam("ids", expanding=True)))
            for name, table in _TABLES.items()}
# a waiting key's values (and a search key's owner), in the order of its table's lookup index
_COLUMNS = {SEARCH: ("key", "entity", "record_id", "owner_id"), MATCH: ("entity", "key", "value", "record_id")}


@dataclass(slots=True)
class _Key:
    """One waiting key row: its record, the row's values, the savepoint or transaction it was held in, and the
    one its record's replace took it in (None while it waits)."""

    record_id: int
    values: tuple[Any, ...]  # search: (key, entity, record id); match: (entity, key, value, record id)
    held_in: SessionTransaction | None
    record: RecordRow | None = None  # a search key's record: its owner is read when the key is sent
    dropped_in: SessionTransaction | None = None


# a record whose stored keys of a table go (one DELETE for all such records) before the waiting keys are sent: the
# record id and the savepoint or transaction its replace was in
_Stale = tuple[int, SessionTransaction | None]


@dataclass
class _Held:
    keys: dict[str, list[_Key]] = field(default_factory=lambda: {SEARCH: [], MATCH: []})
    # records none of whose keys of a table went to the database yet: a replace of theirs waits too
    fresh: dict[str, set[int]] = field(default_factory=lambda: {SEARCH: set(), MATCH: set()})
    # records whose stored keys a replace removed: deleted together when the waiting keys are sent
    stale: dict[str, list[_Stale]] = field(default_factory=lambda: {SEARCH: [], MATCH: []})
    # keys sent (and stored keys deleted) inside a savepoint, with it: when it rolls back, they wait again
    sent: list[tuple[str, SessionTransaction, list[_Key], list[_Stale]]] = field(default_factory=list)


def together(session: Session) -> AbstractContextManager[None]:
    """Hold the search and match keys of the records created in the block; send them at its end (nested blocks
    share the outer one's)."""
    return holding(session, _HELD, _Held, write)


def hold_search(session: Session, rows: Iterable[tuple[RecordRow, str]]) -> bool:
    """Hold the search keys (record, key) of new records while a block holds keys; False when the caller must
    insert them now."""
    held: _Held | None = session.info.get(_HELD)
    if held is None:
        return False
    here = _current(session)
    added = [_Key(row.id, (key, row.entity, row.id), here, row) for row, key in rows]
    held.keys[SEARCH].extend(added)
    held.fresh[SEARCH].update(key.record_id for key in added)
    if len(held.keys[SEARCH]) >= MOST_WAITING:
        write(session, SEARCH)
    return True


def hold_match(session: Session, rows: Iterable[tuple[int, str, str, str]]) -> bool:
    """Hold the match keys (record id, entity, key name, value) of new records while a block holds keys; False
    when the caller must insert them now."""
    held: _Held | None = session.info.get(_HELD)
    if held is None:
        return False
    here = _current(session)
    added = [_Key(r, (e, k, v[:300], r), here) for r, e, k, v in rows]
    held.keys[MATCH].extend(added)
    held.fresh[MATCH].update(key.record_id for key in added)
    if len(held.keys[MATCH]) >= MOST_WAITING:
        write(session, MATCH)
    return True


def drop(session: Session, table: str, record_ids: Iterable[int]) -> list[_Key]:
    """The waiting keys of these records leave with the records' stored ones (a replace or a delete of them);
    the keys taken."""
    held: _Held | None = session.info.get(_HELD)
    if held is None or not held.keys[table]:
        return []
    wanted = set(record_ids)
    here = _current(session)
    taken = []
    for key in held.keys[table]:
        if key.dropped_in is None and key.record_id in wanted:
            key.dropped_in = here
            taken.append(key)
    return taken


def replace_search(session: Session, record_id: int, keys: Iterable[str]) -> bool:
    """Make a record's search keys exactly `keys` while a block holds keys: they wait, and its stored keys (when
    some were sent) wait to be deleted just before them; False when the caller must replace the stored ones now
    (no block, or its record is not loaded in the session: a key takes its record's owner when sent)."""
    held: _Held | None = session.info.get(_HELD)
    if held is None:
        return False
    taken = drop(session, SEARCH, [record_id])
    record = taken[0].record if taken and taken[0].record is not None else session.identity_map.get(
        identity_key(RecordRow, record_id))
    if not isinstance(record, RecordRow):
        return False
    if record_id not in held.fresh[SEARCH]:
        _stale(session, held, SEARCH, record_id)
    return hold_search(session, [(record, key) for key in keys])


def replace_match(session: Session, record_id: int, rows: Iterable[tuple[int, str, str, str]]) -> bool:
    """The same for match keys (record id, entity, key name, value)."""
    held: _Held | None = session.info.get(_HELD)
    if held is None:
        return False
    drop(session, MATCH, [record_id])
    if record_id not in held.fresh[MATCH]:
        _stale(session, held, MATCH, record_id)
    return hold_match(session, rows)


def _stale(session: Session, held: _Held, table: str, record_id: int) -> None:
    """Note that the stored keys of a record go before the waiting ones are sent; its later replaces in the
    block only take its waiting keys (it counts as fresh)."""
    held.stale[table].append((record_id, _current(session)))
    held.fresh[table].add(record_id)
    if len(held.stale[table]) >= MOST_WAITING:
        write(session, table)


def write(session: Session, table: str | None = None) -> None:
    """Send the waiting keys (of one table, or both) now: one INSERT per table, in the order of its lookup
    index; the block goes on holding."""
    held: _Held | None = session.info.get(_HELD)
    if held is None:
        return
    for name in (table,) if table is not None else (SEARCH, MATCH):
        waiting, held.keys[name] = held.keys[name], []
        stale, held.stale[name] = held.stale[name], []
        held.fresh[name].clear()
        nested = session.get_nested_transaction()
        if nested is not None and (waiting or stale):
            held.sent.append((name, nested, waiting, stale))
        gone = sorted({record_id for record_id, _ in stale})
        for start in range(0, len(gone), _DELETED_AT_ONCE):  # Core: no key is ever loaded as an object
            session.execute(_DELETES[name], {"ids": gone[start:start + _DELETED_AT_ONCE]})
        # tuples in the order of the table's lookup index, sorted as they are
        if name == SEARCH:
            rows = [(*key.values, key.record.owner_id if key.record is not None else None)
                    for key in waiting if key.dropped_in is None]
        else:
            rows = [key.values for key in waiting if key.dropped_in is None]
        rows.sort()
        insert_tuples(session, _TABLES[name], _COLUMNS[name], rows)


def waiting(session: Session) -> int:
    """How many keys wait (not taken by a replace)."""
    held: _Held | None = session.info.get(_HELD)
    return 0 if held is None else sum(key.dropped_in is None for keys in held.keys.values() for key in keys)


def _current(session: Session) -> SessionTransaction | None:
    return session.get_nested_transaction() or session.get_transaction()


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    """A rollback takes the keys held in the savepoint or transaction it undid (or in one nested in it) and gives
    back the keys a replace took in it."""
    held: _Held | None = session.info.get(_HELD)
    if held is None:
        return
    rolled_back = session.get_nested_transaction() or session.get_transaction()
    if rolled_back is None:
        return
    sent = [entry for entry in held.sent if inside(entry[1], rolled_back)]
    held.sent = [entry for entry in held.sent if not inside(entry[1], rolled_back)]
    for name, _, keys, stale in reversed(sent):  # the database forgot them: they wait again, in their order
        # (with those a replace took in the savepoint, which it gives back below), and so do the deletes
        back = [key for key in keys if key.dropped_in is None or inside(key.dropped_in, rolled_back)]
        held.keys[name][:0] = back
        held.stale[name][:0] = stale
        held.fresh[name].update(key.record_id for key in back)
    for name, stale in held.stale.items():  # a replace undone: its record's stored keys stay, and its next
        # replace deletes them (it is fresh again only by a note left, never by doubt: a record taken for fresh
        # would keep its stored keys beside the new ones)
        held.stale[name] = [entry for entry in stale if not inside(entry[1], rolled_back)]
        held.fresh[name].difference_update(record_id for record_id, at in stale if inside(at, rolled_back))
        held.fresh[name].update(record_id for record_id, _ in held.stale[name])
    for name, keys in held.keys.items():
        kept = []
        for key in keys:
            if inside(key.held_in, rolled_back):
                continue
            if key.dropped_in is not None and inside(key.dropped_in, rolled_back):
                key.dropped_in = None
            kept.append(key)
        held.keys[name] = kept


@event.listens_for(Session, "after_transaction_end")
def _let_go_of_released(session: Session, transaction: SessionTransaction) -> None:
    """A savepoint released into another one: the keys sent in it are undone by that one's rollback, so they are
    kept with it; released into the transaction itself, nothing can give them back and the block lets go of them
    (with their records: an import of a whole file in one transaction would otherwise keep every key it sent). A
    savepoint that rolled back was dealt with by `_forget_rolled_back`, which runs first."""
    held: _Held | None = session.info.get(_HELD)
    if held is None or not held.sent or not transaction.nested:
        return
    parent = transaction.parent
    kept = [entry for entry in held.sent if entry[1] is not transaction]
    if parent is not None and parent.nested:
        kept += [(name, parent, keys, stale) for name, savepoint, keys, stale in held.sent if savepoint is transaction]
    held.sent = kept

