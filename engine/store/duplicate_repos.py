"""Queries of duplicate detection: match keys, candidate lookups, shared blocks and duplicate pairs.

QualityRepository (uow.quality) inherits them. Records merged into another (merged_into_id set) are left out of
every lookup, block and queue."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import (
    CompoundSelect,
    Integer,
    Select,
    String,
    Table,
    and_,
    bindparam,
    delete,
    func,
    insert,
    not_,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.orm import aliased

from engine.store import waiting_keys
from engine.store.bulk_insert import insert_rows
from engine.store.models import RecordRow
from engine.store.quality_models import DuplicatePairRow, MatchKeyRow, MatchModelRow
from engine.store.repo_base import one_of
from engine.store.repositories import _Repository

CHUNK = 500  # ids per IN (...) list: well below SQLite's parameter limit
_ALL = 2**62  # a chunk of every id: PostgreSQL takes a list as one array parameter, whatever its length
# ids per primary-key read of the key groups' members: one statement for most looks at the pairs, and still far
# below the parameters SQLite (32,766) and psycopg (65,535) take in one statement
MEMBER_CHUNK = 5_000
_ANY_SIZE = 2**31 - 1  # groups_of: every size of a group counted again
_KEYS = cast(Table, MatchKeyRow.__table__)  # Core inserts of many rows skip the ORM's per-row bookkeeping
_PAIRS = cast(Table, DuplicatePairRow.__table__)
_KEYS_INSERT = insert(_KEYS)  # prebuilt: its cache key is made once
OPEN = "open"
CLOSED = "closed"  # open until a rescan no longer found it: no human decided it, so a later match reopens it
IMPORT_FOUND_BY = "import"  # duplicate_pair.found_by of the pairs an import queues for review
MATCH_ON_RULE = "match_on "  # the rule of a pair an import's match_on key opened: match_on <field>


def _chunks(values: list[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


class DuplicateQueries(_Repository):
    """Match keys and duplicate pairs (mixed into QualityRepository)."""

    def replace_keys(self, record_id: int, entity: str, keys: list[tuple[str, str]], *, created: bool = False) -> None:
        """Replace a record's match keys with `keys` [(key name, value)]; a record `created` in this transaction
        has none to delete first."""
        rows = [(record_id, entity, key, value) for key, value in keys]
        if waiting_keys.replace_match(self.session, record_id, rows):  # none sent yet: the new ones wait too
            return
        waiting_keys.drop(self.session, waiting_keys.MATCH, [record_id])  # its waiting keys are replaced too
        if created:  # a new record's keys wait with those of the records created beside it, when they do
            self.add_keys(rows)
            return
        self.session.execute(delete(MatchKeyRow).where(MatchKeyRow.record_id == record_id))
        if keys:
            self.session.execute(_KEYS_INSERT, [
                {"record_id": record_id, "entity": entity, "key": key, "value": value[:300]} for key, value in keys
            ])

    def delete_entity_keys(self, entity: str) -> None:
        """Remove the match keys of every record of an entity (before a rebuild)."""
        waiting_keys.write(self.session, waiting_keys.MATCH)
        self.session.execute(delete(MatchKeyRow).where(MatchKeyRow.entity == entity))

    def add_keys(self, rows: list[tuple[int, str, str, str]]) -> None:
        """Insert match keys in bulk: (record id, entity, key name, value); held for one sorted INSERT while a
        block holds keys (engine.store.waiting_keys)."""
        if rows and not waiting_keys.hold_match(self.session, rows):
            insert_rows(self.session, _KEYS, [
                {"record_id": r, "entity": e, "key": k, "value": v[:300]} for r, e, k, v in rows
            ])

    def keys_of(self, record_id: int) -> list[tuple[str, str]]:
        """A record's match keys (key name, value), sorted."""
        waiting_keys.write(self.session, waiting_keys.MATCH)
        stmt = (select(MatchKeyRow.key, MatchKeyRow.value).where(MatchKeyRow.record_id == record_id)
                .order_by(MatchKeyRow.key, MatchKeyRow.value))
        return [(k, v) for k, v in self.session.execute(stmt).all()]

    def key_matches(self, entity: str, keys: list[tuple[str, str]],
                    exclude_ids: Iterable[int] = ()) -> list[tuple[int, str, str]]:
        """(record id, key, value) of unmerged records of an entity having one of these keys, in one query."""
        return self.candidate_matches(entity, keys, [], exclude_ids, 0)

    def block_matches(self, entity: str, keys: list[tuple[str, str]], exclude_ids: Iterable[int],
                      limit: int) -> list[tuple[int, str, str]]:
        """(record id, key, value) for the `limit` unmerged records sharing the most of these block keys."""
        return self.candidate_matches(entity, [], keys, exclude_ids, limit)

    def candidate_matches(self, entity: str, exact: list[tuple[str, str]], blocks: list[tuple[str, str]],
                          exclude_ids: Iterable[int], limit: int) -> list[tuple[int, str, str]]:
        """`key_matches` of the `exact` keys and `block_matches` of the `blocks`, in one statement."""
        exact_keys, block_keys = _grouped(exact), _grouped(blocks)
        if not exact_keys and not block_keys:
            return []
        waiting_keys.write(self.session, waiting_keys.MATCH)
        excluded = sorted(set(exclude_ids))
        params: dict[str, Any] = {"entity": entity, "limit": limit, "excluded": excluded,
                                  **_key_params("x", exact_keys), **_key_params("b", block_keys),
                                  **_key_params("o", block_keys)}
        stmt = _candidate_select(len(exact_keys), len(block_keys), bool(excluded), self._arrays())
        # on the connection: plain values of tables the session's buffers do not hold (keys were written above)
        return [(r, k, v) for r, k, v in self.session.connection().execute(stmt, params).all()]

    def record_data(self, ids: Iterable[int], *, loaded: Collection[int] = ()) -> dict[int, tuple[str, dict[str, Any]]]:
        """(title, data) of unmerged records by id, a chunk of ids per query. Those of `loaded` (records this
        transaction created, whose staged values are written) the session holds loaded are answered from their
        rows, as the query would answer after the flush it does first: an import's pairs name mostly records of
        its own batch."""
        found: dict[int, tuple[str, dict[str, Any]]] = {}
        wanted = set(ids)
        if loaded:
            if self.session.autoflush:
                self.session.flush()  # the rows as the query would read them
            held, _ = self._loaded(RecordRow, wanted.intersection(loaded))
            wanted.difference_update(held)
            found.update({r: (row.title, dict(row.data)) for r, row in held.items() if row.merged_into_id is None})
        arrays = self._arrays()
        for chunk in _chunks(sorted(wanted), _ALL if arrays else CHUNK):
            found.update({r: (t, dict(d)) for r, t, d in self._plain_rows(_record_data(arrays), {"ids": chunk})})
        return found

    def record_batch(self, entity: str, after_id: int, limit: int) -> list[tuple[int, int | None, dict[str, Any]]]:
        """(id, merged_into_id, data) of the next `limit` records of an entity above `after_id` (keyset paging)."""
        stmt = (select(RecordRow.id, RecordRow.merged_into_id, RecordRow.data)
                .where(RecordRow.entity == entity, RecordRow.id > after_id).order_by(RecordRow.id).limit(limit))
        # on the connection, not the ORM session: plain rows, without the ORM's per-row loading (a scan pages
        # through every record of the entity)
        return [(r, m, dict(d)) for r, m, d in self.session.connection().execute(stmt).all()]

    def count_records(self, entity: str) -> int:
        """How many unmerged records an entity has."""
        stmt = select(func.count()).select_from(RecordRow).where(RecordRow.entity == entity,
                                                                 RecordRow.merged_into_id.is_(None))
        return int(self.session.scalar(stmt) or 0)

    def shared_keys(self, entity: str, keys: Iterable[str], max_size: int) -> Iterator[tuple[str, str, list[int]]]:
        """(key, value, record ids) of every key value shared by 2..max_size unmerged records of an entity,
        read in index order (entity, key, value) and grouped as it streams."""
        names = sorted(set(keys))
        if not names:
            return
        waiting_keys.write(self.session, waiting_keys.MATCH)
        merged = set(self.session.scalars(select(RecordRow.id).where(RecordRow.entity == entity,
                                                                    RecordRow.merged_into_id.is_not(None))))
        stmt = (select(MatchKeyRow.key, MatchKeyRow.value, MatchKeyRow.record_id)
                .where(MatchKeyRow.entity == entity, MatchKeyRow.key.in_(names))
                .order_by(MatchKeyRow.key, MatchKeyRow.value))
        current: tuple[str, str] | None = None
        ids: set[int] = set()
        for key, value, record_id in self.session.connection().execute(stmt.execution_options(yield_per=10_000)):
            if (key, value) != current:
                if current is not None and 1 < len(ids) <= max_size:
                    yield current[0], current[1], sorted(ids)
                current, ids = (key, value), set()
            if record_id not in merged:
                ids.add(record_id)
        if current is not None and 1 < len(ids) <= max_size:
            yield current[0], current[1], sorted(ids)

    def groups_of(self, entity: str, record_ids: Iterable[int],
                  limits: Mapping[str, int], *, in_order: bool = False) -> list[tuple[str, str, list[int]]]:
        """`shared_keys` restricted to the key values these records hold: (key, value, record ids) of each value
        of a key in `limits` shared by 2..limits[key] unmerged records, per 500 records (the size of each group
        counted in the database: a value shared by too many records is not read). `in_order`: these records were
        written after the others, one by one in the order of their ids — a value beyond its limit keeps the
        other records and as many of these as were within the limit when each was written."""
        waiting_keys.write(self.session, waiting_keys.MATCH)
        names, most = sorted(limits), max(limits.values(), default=0)
        groups: dict[tuple[str, str], set[int]] = {}
        new = sorted(set(record_ids))
        # per chunk of ids: the key values its records hold. PostgreSQL: one chunk, every list one array parameter
        # (a value's count and members do not depend on the chunk that asks: one statement each instead of one per
        # 500 records, and no statement text with thousands of parameters to build and parse)
        arrays = self._arrays()
        held_by: dict[int, list[tuple[str, str]]] = {}
        for n, chunk in enumerate(_chunks(new, _ALL if arrays else CHUNK)):
            held_by[n] = self._plain_rows(_held_keys(arrays), {"ids": chunk, "names": names})
        newcomers: dict[tuple[str, str], int] = {}  # how many of these records hold each value
        for pairs in held_by.values():
            for pair in pairs:
                newcomers[pair] = newcomers.get(pair, 0) + 1
        cut: set[tuple[str, str]] = set()  # values beyond their limit that some of these records joined in time
        key_rows: list[tuple[int, str, str]] = []  # (record id, key, value) of the groups' members, merged or not
        for pairs in held_by.values():
            held = _grouped(pairs)
            if not held:
                continue
            # three plain steps rather than one statement joining match_key to itself on (key, value): each
            # step names entity, key and value, so its plan is an index lookup whatever the table's statistics
            # say (an import grows match_key from empty faster than autovacuum analyzes it, and PostgreSQL then
            # ran that self-join as a full scan of the (entity, key, value) index per row: tens of seconds a batch)
            # counted on the (entity, key, value) index alone, merged records' keys included: never fewer than
            # the unmerged records holding the value, so a value within its limit here is within it unmerged too
            # (SQLite: 2.5 times faster than counting with each key's record, which reads both tables per key)
            counted = self._plain_rows(_key_counts(len(held), arrays), {"entity": entity, **_key_params("g", held)})
            wanted: list[tuple[str, str]] = []
            over: list[tuple[str, str]] = []
            for key, value, size in counted:
                (wanted if size <= limits[key] else over).append((key, value))
            if over:  # a block beyond its limit with merged records in it: counted again, unmerged only
                params = {"entity": entity, "most": _ANY_SIZE if in_order else most,
                          **_key_params("g", _grouped(over))}
                sized = self._plain_rows(_group_sizes(len(_grouped(over)), arrays), params)
                for key, value, size in sized:
                    if size <= limits[key]:
                        wanted.append((key, value))
                    elif in_order and size - newcomers[key, value] < limits[key]:
                        wanted.append((key, value))
                        cut.add((key, value))
            shared = _grouped(wanted)
            if not shared:
                continue
            # the members in two steps whose plans do not depend on the tables' statistics either: the key rows
            # from the (entity, key, value) index here, then which of their records are unmerged by primary key,
            # once for all the chunks (one statement joining the two, driven by ix_record_merged_into_id per key
            # row when the statistics said the tables were empty, read ten times the buffers)
            key_rows.extend(self._plain_rows(_group_keys(len(shared), arrays),
                                             {"entity": entity, **_key_params("g", shared)}))
        unmerged = self._unmerged({record_id for record_id, _, _ in key_rows})
        for record_id, key, value in key_rows:
            if record_id in unmerged:
                groups.setdefault((key, value), set()).add(record_id)
        fresh = set(new)
        for key, value in cut:  # the others first, then these in the order they were written
            members = groups[key, value]
            others = sorted(members - fresh)
            groups[key, value] = {*others, *sorted(members & fresh)[:limits[key] - len(others)]}
        # a value two records hold, one of them merged, is no group (it was counted with the merged one above)
        return [(key, value, sorted(ids)) for (key, value), ids in sorted(groups.items()) if len(ids) > 1]

    def _arrays(self) -> bool:
        """Whether lists of values go as one array parameter each (PostgreSQL) rather than a parameter per value."""
        return bool(self.session.get_bind().dialect.name == "postgresql")

    def _unmerged(self, record_ids: Collection[int]) -> set[int]:
        """Which of these records are not merged into another: looked up by primary key, a chunk of ids a query
        (on PostgreSQL one array parameter: a list of thousands of ids cost 8×)."""
        found: set[int] = set()
        arrays = self._arrays()
        for chunk in _chunks(sorted(record_ids), _ALL if arrays else MEMBER_CHUNK):
            rows = self._plain_rows(_merged_into(arrays), {"ids": chunk})
            found.update(record_id for record_id, merged_into in rows if merged_into is None)
        return found

    def statuses_of(self, entity: str, record_ids: Iterable[int]) -> dict[tuple[int, int], str]:
        """`pair_statuses` of the pairs naming one of these records."""
        found: dict[tuple[int, int], str] = {}
        arrays = self._arrays()
        for chunk in _chunks(sorted(set(record_ids)), _ALL if arrays else CHUNK):
            rows = self._plain_rows(_statuses(arrays), {"entity": entity, "ids": chunk, "ids_b": chunk})
            found.update({(a, b): status for a, b, status in rows})
        return found

    def pair_between(self, a_id: int, b_id: int) -> DuplicatePairRow | None:
        """The pair of two records, whichever order they are given in."""
        low, high = min(a_id, b_id), max(a_id, b_id)
        return self.session.scalar(select(DuplicatePairRow).where(DuplicatePairRow.record_a_id == low,
                                                                  DuplicatePairRow.record_b_id == high))

    def pair_statuses(self, entity: str) -> dict[tuple[int, int], str]:
        """Status of every known pair of an entity by (low id, high id), in one query."""
        stmt = select(DuplicatePairRow.record_a_id, DuplicatePairRow.record_b_id, DuplicatePairRow.status).where(
            DuplicatePairRow.entity == entity)
        return {(a, b): status for a, b, status in self.session.connection().execute(stmt)}

    def upsert_pair(self, entity: str, a_id: int, b_id: int, *, score: float, rule: str,
                    reasons: list[dict[str, Any]], found_by: str, now: datetime) -> tuple[DuplicatePairRow, bool]:
        """Record an open pair of two records (stored low id first); an open pair gets the new score and reasons,
        a closed one (a rescan no longer found it) reopens, a decided one (merged, dismissed, related) is left
        alone. Returns (pair, created)."""
        low, high = min(a_id, b_id), max(a_id, b_id)
        row = self.pair_between(low, high)
        if row is None:
            row = DuplicatePairRow(entity=entity, record_a_id=low, record_b_id=high, score=score, rule=rule[:100],
                                   reasons=reasons, status=OPEN, found_by=found_by[:20], found_at=now)
            self.session.add(row)
            self.session.flush()
            return row, True
        if row.status == CLOSED:  # closed by a rescan, not by a reviewer: matching again reopens it
            row.status, row.found_by, row.found_at = OPEN, found_by[:20], now
            row.decided_at = row.decided_by = None
        if row.status == OPEN and (row.score, row.rule, row.reasons) != (score, rule, reasons):
            row.score, row.rule, row.reasons = score, rule[:100], reasons
        return row, False

    def add_pairs(self, rows: list[dict[str, Any]]) -> None:
        """Insert new open pairs in bulk (column values; the caller checked that none exists yet)."""
        if rows:
            insert_rows(self.session, _PAIRS, rows)

    def _queue(self, entity: str | None, status: str | None) -> Any:
        a, b = aliased(RecordRow), aliased(RecordRow)
        stmt = (select(DuplicatePairRow).join(a, a.id == DuplicatePairRow.record_a_id)
                .join(b, b.id == DuplicatePairRow.record_b_id))
        if status != "merged":  # a merged pair names a merged record by nature
            stmt = stmt.where(a.merged_into_id.is_(None), b.merged_into_id.is_(None))
        if entity is not None:
            stmt = stmt.where(DuplicatePairRow.entity == entity)
        if status is not None:
            stmt = stmt.where(DuplicatePairRow.status == status)
        return stmt

    def queue(self, entity: str | None = None, status: str | None = OPEN, *, limit: int = 50,
              offset: int = 0) -> list[DuplicatePairRow]:
        """Pairs for a reviewer, best score first (then newest): of one entity and status when given; pairs
        naming a merged record are left out unless the status asked for is `merged`."""
        stmt = self._queue(entity, status).order_by(DuplicatePairRow.score.desc(), DuplicatePairRow.id.desc())
        return list(self.session.scalars(stmt.limit(limit).offset(offset)))

    def queue_count(self, entity: str | None = None, status: str | None = OPEN) -> int:
        """How many pairs `queue` would list over all pages."""
        inner = self._queue(entity, status).with_only_columns(DuplicatePairRow.id).subquery()
        return int(self.session.scalar(select(func.count()).select_from(inner)) or 0)

    def pairs_of(self, record_id: int, status: str | None = OPEN) -> list[DuplicatePairRow]:
        """Pairs naming a record (of one status when given), best score first."""
        stmt = select(DuplicatePairRow).where(or_(DuplicatePairRow.record_a_id == record_id,
                                                  DuplicatePairRow.record_b_id == record_id))
        if status is not None:
            stmt = stmt.where(DuplicatePairRow.status == status)
        return list(self.session.scalars(stmt.order_by(DuplicatePairRow.score.desc(), DuplicatePairRow.id)))

    def model_params(self, entity: str) -> dict[str, dict[str, Any]]:
        """The stored match model parameters of an entity's probabilistic rules, by rule name."""
        stmt = select(MatchModelRow.rule, MatchModelRow.params).where(MatchModelRow.entity == entity)
        return {rule: dict(params) for rule, params in self.session.execute(stmt)}

    def model_rows(self, entity: str) -> list[MatchModelRow]:
        """The match model rows of an entity, by rule name."""
        stmt = select(MatchModelRow).where(MatchModelRow.entity == entity).order_by(MatchModelRow.rule)
        return list(self.session.scalars(stmt))

    def save_model(self, entity: str, rule: str, params: dict[str, Any], now: datetime) -> None:
        """Store (or replace) the learned model of a probabilistic rule."""
        row = self.session.scalar(select(MatchModelRow).where(MatchModelRow.entity == entity,
                                                              MatchModelRow.rule == rule))
        if row is None:
            self.session.add(MatchModelRow(entity=entity, rule=rule[:100], params=params, trained_at=now))
        else:
            row.params, row.trained_at = params, now
        self.session.flush()

    def reviewed_pairs(self, entity: str) -> list[tuple[int, int, str, dict[str, Any], dict[str, Any]]]:
        """Pairs a reviewer decided (merged, dismissed, related) with both records' current values, merged
        records included: (a id, b id, status, a data, b data)."""
        a, b = aliased(RecordRow), aliased(RecordRow)
        stmt = (select(DuplicatePairRow.record_a_id, DuplicatePairRow.record_b_id, DuplicatePairRow.status, a.data,
                       b.data)
                .join(a, a.id == DuplicatePairRow.record_a_id).join(b, b.id == DuplicatePairRow.record_b_id)
                .where(DuplicatePairRow.entity == entity,
                       DuplicatePairRow.status.in_(("merged", "dismissed", "related")))
                .order_by(DuplicatePairRow.id))
        return [(x, y, status, dict(da), dict(db)) for x, y, status, da, db in self.session.execute(stmt)]

    def reviewed_count(self, entity: str) -> int:
        """How many pairs `reviewed_pairs` gives, without loading them (the worker asks often)."""
        a, b = aliased(RecordRow), aliased(RecordRow)
        stmt = (select(func.count()).select_from(DuplicatePairRow)
                .join(a, a.id == DuplicatePairRow.record_a_id).join(b, b.id == DuplicatePairRow.record_b_id)
                .where(DuplicatePairRow.entity == entity,
                       DuplicatePairRow.status.in_(("merged", "dismissed", "related"))))
        return int(self.session.scalar(stmt) or 0)

    def closable_pairs(self, entity: str, on_match_rules: Iterable[str] = ()) -> list[tuple[int, int, int]]:
        """(id, a id, b id) of the open pairs of an entity a rescan closes when it does not find them again. Pairs
        an import's on_match queued for review (rule `match_on <field>` or one of the `on_match_rules`, the exact
        merge rules) stay open: a rescan cannot find them again (an import's match_on keys are not rules), and
        they wait for a person's decision on the row; the pairs an import opened by the other rules (fuzzy,
        probabilistic: what a scan would have opened) close like a scan's."""
        waiting = and_(DuplicatePairRow.found_by == IMPORT_FOUND_BY,
                       or_(DuplicatePairRow.rule.startswith(MATCH_ON_RULE, autoescape=True),
                           DuplicatePairRow.rule.in_(sorted(set(on_match_rules)))))
        stmt = select(DuplicatePairRow.id, DuplicatePairRow.record_a_id, DuplicatePairRow.record_b_id).where(
            DuplicatePairRow.entity == entity, DuplicatePairRow.status == OPEN, not_(waiting))
        return [(pair_id, a, b) for pair_id, a, b in self.session.execute(stmt)]

    def close_pairs(self, entity: str, keep: set[tuple[int, int]], now: datetime,
                    on_match_rules: Iterable[str] = ()) -> int:
        """Close the `closable_pairs` of an entity a rescan did not find again (not in `keep`); how many."""
        gone = [pair_id for pair_id, a, b in self.closable_pairs(entity, on_match_rules) if (a, b) not in keep]
        for chunk in _chunks(gone):
            self.session.execute(update(DuplicatePairRow).where(DuplicatePairRow.id.in_(chunk))
                                 .values(status=CLOSED, decided_at=now, decided_by="scan")
                                 .execution_options(synchronize_session=False))
        return len(gone)


def _grouped(keys: Iterable[tuple[str, str]]) -> list[tuple[str, list[str]]]:
    """(key name, its sorted values) per key name, sorted by name."""
    by_key: dict[str, set[str]] = {}
    for key, value in keys:
        by_key.setdefault(key, set()).add(value)
    return [(key, sorted(values)) for key, values in sorted(by_key.items())]


def _key_params(prefix: str, keys: list[tuple[str, list[str]]]) -> dict[str, Any]:
    """The bound values of `_bound_key_filter(prefix, len(keys))`."""
    params: dict[str, Any] = {}
    for n, (key, values) in enumerate(keys):
        params[f"{prefix}k{n}"], params[f"{prefix}v{n}"] = key, values
    return params


def _key_lookup(prefix: str, n: int, arrays: bool) -> Any:
    """match_key rows of the bound entity with the `n`th bound key name and one of its values: a lookup of the
    (entity, key, value) index per value."""
    return and_(MatchKeyRow.entity == bindparam("entity"), MatchKeyRow.key == bindparam(f"{prefix}k{n}"),
                one_of(MatchKeyRow.value, f"{prefix}v{n}", String, arrays))


def _bound_key_filter(prefix: str, count: int, arrays: bool) -> Any:
    """match_key rows of the bound entity having one of `count` key names, each with one of its values
    (expanding lists, or one array each where `arrays`): the entity inside each term, so that SQLite too reads
    each term through the index rather than every key of the entity."""
    return or_(*(_key_lookup(prefix, n, arrays) for n in range(count)))


@lru_cache(maxsize=64)
def _candidate_select(exact: int, blocks: int, excluded: bool, arrays: bool) -> Select[Any] | CompoundSelect[Any]:
    """The candidate lookup of `exact` exact-key names and `blocks` block-key names, built once per shape and
    bound per call (entity, keys, values, excluded ids, limit): building it per call cost more than running it."""
    parts: list[Select[Any]] = []
    unmerged = [RecordRow.merged_into_id.is_(None)]
    if excluded:
        unmerged.append(one_of(MatchKeyRow.record_id, "excluded", Integer, arrays, negate=True))
    if exact:
        parts.append(select(MatchKeyRow.record_id, MatchKeyRow.key, MatchKeyRow.value)
                     .join(RecordRow, RecordRow.id == MatchKeyRow.record_id)
                     .where(*unmerged, _bound_key_filter("x", exact, arrays)))
    if blocks:
        shared = func.count().label("shared")
        top = (select(MatchKeyRow.record_id, shared).join(RecordRow, RecordRow.id == MatchKeyRow.record_id)
               .where(*unmerged, _bound_key_filter("b", blocks, arrays)).group_by(MatchKeyRow.record_id)
               .order_by(shared.desc(), MatchKeyRow.record_id.desc())
               .limit(bindparam("limit", type_=Integer)).subquery())
        parts.append(select(MatchKeyRow.record_id, MatchKeyRow.key, MatchKeyRow.value)
                     .join(top, top.c.record_id == MatchKeyRow.record_id)
                     .where(_bound_key_filter("o", blocks, arrays)))
    return parts[0] if len(parts) == 1 else union_all(*parts)


@lru_cache(maxsize=64)
def _group_sizes(keys: int, arrays: bool) -> Select[Any]:
    """(key, value, unmerged records holding it) of the bound key values (`_key_params("g", …)` of `keys` key
    names) held by 2..`most` unmerged records: a grouped count through the (entity, key, value) index."""
    size = func.count()
    return (select(MatchKeyRow.key, MatchKeyRow.value, size).join(RecordRow, RecordRow.id == MatchKeyRow.record_id)
            .where(_bound_key_filter("g", keys, arrays), RecordRow.merged_into_id.is_(None))
            .group_by(MatchKeyRow.key, MatchKeyRow.value)
            .having(size.between(2, bindparam("most", type_=Integer))))


@lru_cache(maxsize=64)
def _key_counts(keys: int, arrays: bool) -> Select[Any]:
    """(key, value, match_key rows holding it) of the bound key values held by two or more rows: a grouped count
    read from the (entity, key, value) index alone (merged records' keys counted too)."""
    size = func.count()
    return (select(MatchKeyRow.key, MatchKeyRow.value, size).where(_bound_key_filter("g", keys, arrays))
            .group_by(MatchKeyRow.key, MatchKeyRow.value).having(size >= 2))


@lru_cache(maxsize=64)
def _group_keys(keys: int, arrays: bool) -> Select[Any]:
    """(record id, key, value) of the match_key rows holding one of the bound key values, merged records' included:
    read through the (entity, key, value) index."""
    return select(MatchKeyRow.record_id, MatchKeyRow.key, MatchKeyRow.value).where(
        _bound_key_filter("g", keys, arrays))


@lru_cache(maxsize=4)
def _held_keys(arrays: bool) -> Select[Any]:
    """(key, value) of the match keys of the bound record ids with one of the bound key names."""
    return select(MatchKeyRow.key, MatchKeyRow.value).where(one_of(MatchKeyRow.record_id, "ids", Integer, arrays),
                                                            one_of(MatchKeyRow.key, "names", String, arrays))


@lru_cache(maxsize=4)
def _record_data(arrays: bool) -> Select[Any]:
    """(id, title, data) of the bound record ids not merged into another."""
    return select(RecordRow.id, RecordRow.title, RecordRow.data).where(
        one_of(RecordRow.id, "ids", Integer, arrays), RecordRow.merged_into_id.is_(None))


@lru_cache(maxsize=4)
def _statuses(arrays: bool) -> Select[Any]:
    """(a id, b id, status) of the bound entity's pairs naming one of the bound record ids (`ids` and `ids_b`, the
    same list: SQLite expands each bound list once)."""
    return select(DuplicatePairRow.record_a_id, DuplicatePairRow.record_b_id, DuplicatePairRow.status).where(
        DuplicatePairRow.entity == bindparam("entity"),
        or_(one_of(DuplicatePairRow.record_a_id, "ids", Integer, arrays),
            one_of(DuplicatePairRow.record_b_id, "ids_b", Integer, arrays)))


# by primary key alone, merged records sorted out by the caller: with `merged_into_id IS NULL` in the statement and
# no column statistics, PostgreSQL read ix_record_merged_into_id (every unmerged record) rather than the ids
@lru_cache(maxsize=4)
def _merged_into(arrays: bool) -> Select[Any]:
    """(id, merged_into_id) of the bound record ids (engine.store.repo_base.one_of: one array parameter on
    PostgreSQL, where SQLAlchemy and psycopg spent 20 ms of client CPU expanding 4,000 ids into as many parameters
    against 2.5 ms binding the array; the plan is the same lookup)."""
    return select(RecordRow.id, RecordRow.merged_into_id).where(one_of(RecordRow.id, "ids", Integer, arrays))
