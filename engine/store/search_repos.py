"""Search keys: keeping them per record, and finding records by key ranges under the actor's visibility."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, delete, exists, insert, intersect, or_, select

from engine.store.filter_sql import FindScope, visible_to
from engine.store.models import RecordRow
from engine.store.repo_base import _inbox_record_ids, _Repository
from engine.store.search_models import SearchKeyRow

PREFIX_END = "\uffff"
MERGED_SLACK = 50  # extra ids read for a reader of everything, as some may be merged records
MATCH_CAP = 5000  # newest matching records a search looks at before visibility (a bound on the cost)


def _starts(prefix: str) -> ColumnElement[bool]:
    """`key` starts with `prefix`, as an index range (LIKE would not use the index on every database)."""
    return SearchKeyRow.key.between(prefix, prefix + PREFIX_END)


class SearchRepository(_Repository):
    def replace(self, record_id: int, entity: str, keys: Sequence[str]) -> None:
        """Make a record's keys exactly `keys`."""
        self.session.execute(delete(SearchKeyRow).where(SearchKeyRow.record_id == record_id))
        if keys:
            self.session.execute(insert(SearchKeyRow),
                                 [{"record_id": record_id, "entity": entity, "key": k} for k in keys])

    def add_many(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert keys of new records ({record_id, entity, key}) in one statement."""
        if rows:
            self.session.execute(insert(cast(Table, SearchKeyRow.__table__)), list(rows))

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
        word, or one of the exact keys, or a key starting with one of the prefixes; newest first, among the
        MATCH_CAP newest matching records.

        Two steps on purpose: the matching ids come from the key index alone, then their records are read by id.
        In one statement PostgreSQL may walk the whole record table backwards by id to meet the LIMIT sooner."""
        matching: Any
        if words:
            subs = [select(SearchKeyRow.record_id).where(_starts(w)) for w in words]
            matching = intersect(*subs).subquery() if len(subs) > 1 else subs[0].distinct().subquery()
        else:
            alternatives: list[ColumnElement[bool]] = [SearchKeyRow.key.in_(list(exact))] if exact else []
            alternatives += [_starts(p) for p in prefixes]
            if not alternatives:
                return []
            matching = select(SearchKeyRow.record_id).where(or_(*alternatives)).distinct().subquery()
        column = matching.c.record_id
        sees_all = scope.owner_ids is None  # no visibility filter: the newest `limit` matches are the answer
        wanted = min(MATCH_CAP, limit + MERGED_SLACK) if sees_all else MATCH_CAP
        ids = list(self.session.scalars(select(column).order_by(column.desc()).limit(wanted)).all())
        if not ids:
            return []
        stmt = select(RecordRow.id, RecordRow.entity, RecordRow.title).where(
            RecordRow.id.in_(ids), RecordRow.merged_into_id.is_(None))
        inbox = _inbox_record_ids(*scope.inbox_of) if scope.inbox_of is not None else None
        visible = visible_to(scope.owner_ids, scope.include_unowned, inbox)
        if visible is not None:
            stmt = stmt.where(visible)
        rows = self.session.execute(stmt.order_by(RecordRow.id.desc()).limit(limit)).all()
        return [(int(r[0]), str(r[1]), str(r[2])) for r in rows]
