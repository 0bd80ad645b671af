"""Find records by a filter (docs/filters.md): pages, counts, id batches for mass actions, and the SQL behind."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from engine.config.model import Bundle
from engine.errors import Forbidden
from engine.filters.model import parse_filter as _parse
from engine.processes.deployed import active_bundle
from engine.services.access import reads_everything
from engine.services.records import record_views, visibility
from engine.services.views import Actor, RecordView
from engine.store.filter_spec import Filter
from engine.store.filter_sql import FindScope
from engine.store.uow import UnitOfWork

MAX_LIMIT = 500
MAX_BATCH = 10000
COUNT_CAP = 10_000  # totals shown with a page: exact up to this, estimated beyond it on PostgreSQL
_EXPLAIN_NOW = datetime(2000, 1, 1, tzinfo=UTC)  # only parameter values depend on it, and explain shows names


@dataclass(frozen=True)
class FoundPage:
    """One page of found records and how many match in all."""

    items: list[RecordView]
    total: int
    exact: bool = True  # False: `total` is the database's estimate (more than COUNT_CAP match)


def parse_filter(bundle: Bundle, data: Any) -> Filter:
    """A validated Filter from its JSON form; ValidationError keyed by JSON path ("where.all[1].value")."""
    return _parse(bundle, data)


def _prepare(uow: UnitOfWork, actor: Actor, data: dict[str, Any] | Filter) -> tuple[Filter, FindScope]:
    if not (reads_everything(actor) or actor.has("sales", "head_of_sales")):
        raise Forbidden(f"{actor.username} may not read records")
    flt = data if isinstance(data, Filter) else parse_filter(active_bundle(uow)[0], data)
    with uow:
        seen = visibility(uow, actor)
    return flt, FindScope(seen.owner_ids, seen.include_unowned, seen.inbox_of)


def find_records(uow: UnitOfWork, actor: Actor, filter: dict[str, Any] | Filter, now: datetime, *,
                 limit: int = 50, offset: int = 0) -> FoundPage:
    """The records matching a filter that the actor may see, one page in the filter's order, plus the total."""
    flt, scope = _prepare(uow, actor, filter)
    with uow:
        ids = uow.find.ids(flt, now, scope, limit=min(max(limit, 1), MAX_LIMIT), offset=max(offset, 0))
        total, exact = uow.find.count_upto(flt, now, scope, COUNT_CAP)
        return FoundPage(record_views(uow, uow.find.rows(ids)), total, exact)


@dataclass(frozen=True)
class KeysetPage:
    """One page of found records in the filter's order, the total, and the id to continue after."""

    items: list[RecordView]
    total: int
    exact: bool
    next_after: int | None  # None: this is the last page


def find_after(uow: UnitOfWork, actor: Actor, filter: dict[str, Any] | Filter, now: datetime, *,
               after: int | None = None, limit: int = 50) -> KeysetPage:
    """A page of the records matching a filter that the actor may see, continuing after record `after` in the
    filter's order (keyset paging: deep pages cost what the first does), with the total (estimated beyond
    COUNT_CAP on PostgreSQL)."""
    flt, scope = _prepare(uow, actor, filter)
    size = min(max(limit, 1), MAX_LIMIT)
    with uow:
        ids = uow.find.ids_after(flt, now, scope, after_id=after, limit=size + 1)
        total, exact = uow.find.count_upto(flt, now, scope, COUNT_CAP)
        items = record_views(uow, uow.find.rows(ids[:size]))
        return KeysetPage(items, total, exact, ids[size - 1] if len(ids) > size else None)


def count_records(uow: UnitOfWork, actor: Actor, filter: dict[str, Any] | Filter,
                  now: datetime) -> int:
    """How many records matching a filter the actor may see."""
    flt, scope = _prepare(uow, actor, filter)
    with uow:
        return uow.find.count(flt, now, scope)


def estimate_count(uow: UnitOfWork, actor: Actor, filter: dict[str, Any] | Filter, now: datetime, *,
                   cap: int | None = None) -> tuple[int, bool]:
    """How many records matching a filter the actor may see, exact up to `cap` (on PostgreSQL an estimate
    beyond it), and whether it is exact."""
    flt, scope = _prepare(uow, actor, filter)
    with uow:
        return uow.find.count_upto(flt, now, scope, COUNT_CAP if cap is None else cap)


def iter_record_ids(uow: UnitOfWork, actor: Actor, filter: dict[str, Any] | Filter,
                    now: datetime, batch: int = 1000) -> Iterator[list[int]]:
    """Ids of every matching record the actor may see, ascending, in batches (one short transaction each)."""
    flt, scope = _prepare(uow, actor, filter)
    size = min(max(batch, 1), MAX_BATCH)
    after = 0
    while True:
        with uow:
            ids = uow.find.id_batch(flt, now, scope, after_id=after, limit=size)
        if not ids:
            return
        yield ids
        if len(ids) < size:
            return
        after = ids[-1]


def explain(uow: UnitOfWork, filter: dict[str, Any] | Filter, *, actor: Actor | None = None,
            now: datetime | None = None, limit: int | None = 50) -> str:
    """The SQL of a filter's page query with named parameters, for reading (never executed from here)."""
    flt = filter if isinstance(filter, Filter) else parse_filter(active_bundle(uow)[0], filter)
    scope = FindScope()
    if actor is not None:
        flt, scope = _prepare(uow, actor, flt)
    with uow:
        return uow.find.sql(flt, now or _EXPLAIN_NOW, scope, limit=limit)
