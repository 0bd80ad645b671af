"""Search keys: keeping them per record, and finding records by key ranges under the actor's visibility."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, delete, exists, insert, intersect, or_, select, union

from engine.store.filter_sql import FindScope, visible_to
from engine.store.models import RecordRow
from engine.store.repo_base import _inbox_record_ids, _Repository
from engine.store.search_models import SearchKeyRow

PREFIX_END = "\uffff"
MERGED_SLACK = 50  # extra ids read, as some may be merged records
MATCH_CAP = 5000  # the most matching ids one search reads from the keys (a bound on the cost)


def _starts(prefix: str) -> ColumnElement[bool]:
    """`key` starts with `prefix`, as an index range (LIKE would not use the index on every database)."""
    return SearchKeyRow.key.between(prefix, prefix + PREFIX_END)


def _matching(words: Sequence[str], exact: Sequence[str], prefixes: Sequence[str],
              part: ColumnElement[bool] | None) -> Any:
    """Select of the ids of records with a key starting with every word, or one of the exact keys, or a key
    starting with one of the prefixes — among the keys `part` admits (None: all)."""
    def keys(condition: ColumnElement[bool]) -> Any:
        stmt = select(SearchKeyRow.record_id).where(condition)
        return stmt.where(part) if part is not None else stmt

    if words:
        subs = [keys(_starts(w)) for w in words]
        return intersect(*subs) if len(subs) > 1 else subs[0].distinct()
    alternatives: list[ColumnElement[bool]] = [SearchKeyRow.key.in_(list(exact))] if exact else []
    alternatives += [_starts(p) for p in prefixes]
    if part is None or len(alternatives) == 1:
        return keys(or_(*alternatives)).distinct()
    # one select per alternative: with OR between them the owner index would be walked over all the owner's keys
    return union(*[select(keys(a).subquery().c.record_id) for a in alternatives])


class SearchRepository(_Repository):
    def replace(self, record_id: int, entity: str, keys: Sequence[str], owner_id: int | None) -> None:
        """Make a record's keys exactly `keys` (with its owner: a trigger keeps that current afterwards)."""
        self.session.execute(delete(SearchKeyRow).where(SearchKeyRow.record_id == record_id))
        if keys:
            self.session.execute(insert(SearchKeyRow), [{"record_id": record_id, "entity": entity, "key": k,
                                                         "owner_id": owner_id} for k in keys])

    def add_many(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert keys of new records ({record_id, entity, key, owner_id}) in one statement."""
        if rows:
            self.session.execute(insert(SearchKeyRow), list(rows))

    def delete_of(self, record_ids: Iterable[int]) -> None:
        """Remove every key of these records."""
        wanted = sorted(set(record_ids))
        if wanted:
            self.session.execute(delete(SearchKeyRow).where(SearchKeyRow.record_id.in_(wanted)))

    def missing(self) -> bool:
        """Whether records exist but no key does (the index was never built, e.g. after an upgrade)."""
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
        inbox = _inbox_record_ids(*scope.inbox_of) if scope.inbox_of is not None else None
        if scope.owner_ids is None:  # no visibility filter: the newest `limit` matches are the answer
            parts: list[ColumnElement[bool] | None] = [None]
        else:
            parts = [SearchKeyRow.owner_id.in_(list(scope.owner_ids))] if scope.owner_ids else []
            parts += [SearchKeyRow.owner_id.is_(None)] if scope.include_unowned else []
            parts += [SearchKeyRow.record_id.in_(inbox)] if inbox is not None else []
            if not parts:
                return []
        selects = [_matching(words, exact, prefixes, part) for part in parts]
        # each part as its own subquery: SQLite takes no parenthesized compound (an INTERSECT) inside a UNION
        matching = union(*[select(s.subquery().c.record_id) for s in selects]).subquery() if len(selects) > 1 \
            else selects[0].subquery()
        column = matching.c.record_id
        # the key rows already say who may see their record, so the newest `limit` matches are the answer for
        # every reader (plus a few that may be merged records); the records are read again below all the same
        wanted = min(MATCH_CAP, limit + MERGED_SLACK)
        ids = list(self.session.scalars(select(column).order_by(column.desc()).limit(wanted)).all())
        if not ids:
            return []
        stmt = select(RecordRow.id, RecordRow.entity, RecordRow.title).where(
            RecordRow.id.in_(ids), RecordRow.merged_into_id.is_(None))
        visible = visible_to(scope.owner_ids, scope.include_unowned, inbox)  # the record's own word, again
        if visible is not None:
            stmt = stmt.where(visible)
        rows = self.session.execute(stmt.order_by(RecordRow.id.desc()).limit(limit)).all()
        return [(int(r[0]), str(r[1]), str(r[2])) for r in rows]
