"""Search keys: keeping them per record, and finding records by key ranges under the actor's visibility."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Table,
    and_,
    bindparam,
    delete,
    exists,
    intersect,
    or_,
    select,
    true,
    union,
    union_all,
)

from engine.store import waiting_keys
from engine.store.bulk_insert import insert_rows
from engine.store.filter_sql import FindScope
from engine.store.models import RecordRow, TaskCandidateRow, TaskRow
from engine.store.repo_base import _Repository
from engine.store.search_models import SearchKeyRow

PREFIX_END = "\uffff"
MERGED_SLACK = 50  # extra ids read, as some may be merged records
MATCH_CAP = 5000  # the most matching ids one search reads from the keys (a bound on the cost)


def _starts(key: str) -> ColumnElement[bool]:
    """`key` starts with the bound prefix `<key>` (parameters <key>_lo, <key>_hi), as an index range (LIKE would
    not use the index on every database)."""
    return SearchKeyRow.key.between(bindparam(f"{key}_lo"), bindparam(f"{key}_hi"))


def _inbox_ids(groups: int) -> Any:
    """Select of the ids of records with an open task assigned to (inbox_user) or claimable by (cand_0.. groups,
    cand_user) the reader; bound parameters, as `_inbox_record_ids`."""
    names = [and_(TaskCandidateRow.kind == "user", TaskCandidateRow.name == bindparam("cand_user"))]
    if groups:
        names.append(and_(TaskCandidateRow.kind == "group",
                          TaskCandidateRow.name.in_([bindparam(f"cand_{n}") for n in range(groups)])))
    pooled = (select(TaskRow.record_id).join(TaskCandidateRow, TaskCandidateRow.task_id == TaskRow.id)
              .where(TaskCandidateRow.pooled == true(), or_(*names)))
    mine = select(TaskRow.record_id).where(TaskRow.assignee_id == bindparam("inbox_user"), TaskRow.state == "open")
    return union_all(pooled, mine)


def _matching(words: int, exact: bool, prefixes: int, part: ColumnElement[bool] | None) -> Any:
    """Select of the ids of records with a key starting with every word (w0..), or one of the exact keys, or a key
    starting with one of the prefixes (p0..) — among the keys `part` admits (None: all)."""
    def keys(condition: ColumnElement[bool]) -> Any:
        stmt = select(SearchKeyRow.record_id).where(condition)
        return stmt.where(part) if part is not None else stmt

    if words:
        subs = [keys(_starts(f"w{n}")) for n in range(words)]
        return intersect(*subs) if len(subs) > 1 else subs[0].distinct()
    alternatives: list[ColumnElement[bool]] = []
    if exact:
        alternatives.append(SearchKeyRow.key.in_(bindparam("exact", expanding=True)))
    alternatives += [_starts(f"p{n}") for n in range(prefixes)]
    if part is None or len(alternatives) == 1:
        return keys(or_(*alternatives)).distinct()
    # one select per alternative: with OR between them the owner index would be walked over all the owner's keys
    return union(*[select(keys(a).subquery().c.record_id) for a in alternatives])


def _statements(shape: tuple[Any, ...]) -> tuple[Any, Any]:
    """The two statements of a search of one shape: (words, has exact keys, prefixes, sees all, has owners,
    sees unowned, inbox candidate groups or None)."""
    words, exact, prefixes, sees_all, owners, unowned, groups = shape
    inbox = _inbox_ids(groups) if groups is not None else None
    parts: list[ColumnElement[bool] | None] = [None] if sees_all else []
    if not sees_all:
        parts += [SearchKeyRow.owner_id.in_(bindparam("owners", expanding=True))] if owners else []
        parts += [SearchKeyRow.owner_id.is_(None)] if unowned else []
        parts += [SearchKeyRow.record_id.in_(inbox)] if inbox is not None else []
    selects = [_matching(words, exact, prefixes, part) for part in parts]
    # each part as its own subquery: SQLite takes no parenthesized compound (an INTERSECT) inside a UNION
    matching = union(*[select(s.subquery().c.record_id) for s in selects]).subquery() if len(selects) > 1 \
        else selects[0].subquery()
    column = matching.c.record_id
    ids = select(column).order_by(column.desc()).limit(bindparam("wanted", type_=BigInteger))
    records = select(RecordRow.id, RecordRow.entity, RecordRow.title).where(
        RecordRow.id.in_(bindparam("ids", expanding=True)), RecordRow.merged_into_id.is_(None))
    if not sees_all:  # the record's own word on who sees it, again
        visible = [RecordRow.owner_id.in_(bindparam("owners", expanding=True))] if owners else []
        visible += [RecordRow.owner_id.is_(None)] if unowned else []
        visible += [RecordRow.id.in_(inbox)] if inbox is not None else []
        records = records.where(or_(*visible))
    return ids, records.order_by(RecordRow.id.desc()).limit(bindparam("limit", type_=BigInteger))


_SEARCH_KEYS = cast(Table, SearchKeyRow.__table__)
_DELETE_KEYS = delete(_SEARCH_KEYS).where(_SEARCH_KEYS.c.record_id == bindparam("record_id"))

# built once per shape: constructing and hashing these unions per search cost more than running them
_SHAPES: dict[tuple[Any, ...], tuple[Any, Any]] = {}
_MAX_SHAPES = 256


class SearchRepository(_Repository):
    def replace(self, record_id: int, entity: str, keys: Sequence[str], owner_id: int | None) -> None:
        """Make a record's keys exactly `keys` (with its owner: a trigger keeps that current afterwards)."""
        if waiting_keys.replace_search(self.session, record_id, keys):  # none sent yet: the new ones wait too
            return
        waiting_keys.drop(self.session, waiting_keys.SEARCH, [record_id])  # its waiting keys are replaced too
        # Core statements of the table: no key is ever loaded as an object, and the ORM's DELETE walked every
        # object the session holds for one to update (an import's batch holds thousands of records)
        self.session.execute(_DELETE_KEYS, {"record_id": record_id})
        insert_rows(self.session, _SEARCH_KEYS, [{"record_id": record_id, "entity": entity, "key": k,
                                                  "owner_id": owner_id} for k in keys])

    def add_many(self, rows: Sequence[RecordRow], keys: Sequence[Sequence[str]]) -> None:
        """Insert the keys of new records (`keys[n]` those of `rows[n]`) in one statement; held for one sorted
        INSERT while a block holds keys (engine.store.waiting_keys)."""
        pairs = [(row, key) for row, its in zip(rows, keys, strict=True) for key in its]
        if pairs and not waiting_keys.hold_search(self.session, pairs):
            insert_rows(self.session, cast(Table, SearchKeyRow.__table__), [
                {"record_id": row.id, "entity": row.entity, "key": key, "owner_id": row.owner_id}
                for row, key in pairs])

    def delete_of(self, record_ids: Iterable[int]) -> None:
        """Remove every key of these records."""
        wanted = sorted(set(record_ids))
        waiting_keys.drop(self.session, waiting_keys.SEARCH, wanted)
        if wanted:
            self.session.execute(delete(SearchKeyRow).where(SearchKeyRow.record_id.in_(wanted)))

    def missing(self) -> bool:
        """Whether records exist but no key does (the index was never built, e.g. after an upgrade)."""
        waiting_keys.write(self.session, waiting_keys.SEARCH)
        has_records = self.session.scalar(select(exists().where(RecordRow.merged_into_id.is_(None))))
        has_keys = self.session.scalar(select(exists().where(SearchKeyRow.id.is_not(None))))
        return bool(has_records) and not has_keys

    def find(self, words: Sequence[str], exact: Sequence[str], prefixes: Sequence[str], scope: FindScope, *,
             limit: int = 200) -> list[tuple[int, str, str]]:
        """(record id, entity, title) of unmerged records the scope admits that have a key starting with every
        word, or one of the exact keys, or a key starting with one of the prefixes; the newest `limit` of them
        (a few more ids are read, as some may be merged records).

        Two steps on purpose: the matching ids come from the key index alone, then their records are read by id.
        In one statement PostgreSQL may walk the whole record table backwards by id to meet the LIMIT sooner.
        A reader who sees only some owners' records reads only their keys (the owner is on the key row: a range
        scan of `ix_search_key_owner_key` per owner), plus the keys of the records in their inbox."""
        if not words and not exact and not prefixes:
            return []
        sees_all = scope.owner_ids is None
        owners = sorted(set(scope.owner_ids or ()))
        inbox = scope.inbox_of if not sees_all else None
        groups = sorted(set(inbox[1])) if inbox is not None else []
        unowned = scope.include_unowned and not sees_all
        if not sees_all and not owners and not unowned and inbox is None:
            return []
        shape = (len(words), bool(exact), len(prefixes), sees_all, bool(owners), unowned,
                 len(groups) if inbox is not None else None)
        found = _SHAPES.get(shape)
        if found is None:
            found = _statements(shape)
            if len(_SHAPES) < _MAX_SHAPES:
                found = _SHAPES.setdefault(shape, found)
        ids_stmt, records_stmt = found
        waiting_keys.write(self.session, waiting_keys.SEARCH)
        params: dict[str, Any] = {"owners": owners, "exact": list(exact)}
        for name, values in (("w", words), ("p", prefixes)):
            for n, value in enumerate(values):
                params[f"{name}{n}_lo"], params[f"{name}{n}_hi"] = value, value + PREFIX_END
        if inbox is not None:
            params.update({f"cand_{n}": g for n, g in enumerate(groups)})
            params.update({"cand_user": inbox[2], "inbox_user": inbox[0]})
        # the key rows already say who may see their record, so the newest `limit` matches are the answer for
        # every reader (plus a few that may be merged records); the records are read again all the same
        ids = list(self.session.scalars(ids_stmt, {**params, "wanted": min(MATCH_CAP, limit + MERGED_SLACK)}).all())
        if not ids:
            return []
        rows = self.session.execute(records_stmt, {**params, "ids": ids, "limit": limit}).all()
        return [(int(r[0]), str(r[1]), str(r[2])) for r in rows]
