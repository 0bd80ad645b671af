"""The duplicate review queue: pairs to read and compare, decisions that are not merges (related, dismissed),
and what a record card shows of merges.

Who sees the queue: the head of sales (pairs whose both records their team owns or nobody owns), admins and
auditors (all; auditors read only), sales users (pairs of two records they own). Deciding a pair as related or
not a duplicate: the head of sales and admins, and a sales user for a pair of two records they own."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.errors import ConflictError, Forbidden, NotFound, ValidationError
from engine.processes.deployed import active_bundle
from engine.quality.merge import MERGERS
from engine.records.linking import add_link
from engine.services.access import require_permission
from engine.services.links import link_kinds
from engine.services.records import load_visible, record_view, visibility
from engine.services.views import Actor, RecordView
from engine.store.quality_models import DuplicatePairRow, MergeLogRow
from engine.store.uow import UnitOfWork

STATUSES = ("open", "decided", "merged", "dismissed", "related", "closed")  # closed: a rescan no longer found it
RELATED_KIND = "related"


@dataclass(frozen=True)
class PairView:
    """A duplicate pair as the queue lists it."""

    id: int
    entity: str
    record_a_id: int
    record_a_title: str
    record_b_id: int
    record_b_title: str
    score: float
    rule: str
    reasons: list[dict[str, Any]]
    status: str
    found_by: str
    found_at: datetime
    decided_at: datetime | None
    decided_by: str | None


@dataclass(frozen=True)
class MergeView:
    """One merge: who survived, who was merged, when, and whether it was undone."""

    id: int
    entity: str
    survivor_id: int
    merged_id: int
    merged_title: str
    pair_id: int | None
    choices: dict[str, str]
    at: datetime
    by: str
    undone_at: datetime | None
    undone_by: str | None


@dataclass(frozen=True)
class PairDetail:
    """A pair with both records side by side, what would move with each, and per-field default picks."""

    pair: PairView
    a: RecordView
    b: RecordView
    attached_a: dict[str, int]
    attached_b: dict[str, int]
    defaults: dict[str, str]  # field -> "a" | "b": the survivor a's non-empty value, else b's filling the blank
    merges: list[MergeView]
    can_decide: bool
    can_merge: bool


@dataclass(frozen=True)
class RecordMerges:
    """What a record card shows: the record it was merged into (and by which merge), and merges it survived."""

    merged_into_id: int | None
    merged_into_title: str | None
    merged_by: MergeView | None
    merges: list[MergeView]
    can_undo: bool


def _pair_view(uow: UnitOfWork, pair: DuplicatePairRow) -> PairView:
    return _pair_views(uow, [pair])[0]


def _pair_views(uow: UnitOfWork, pairs: Sequence[DuplicatePairRow]) -> list[PairView]:
    """Pairs as views, the titles of all their records read in one statement."""
    titles = uow.records.titles([i for pair in pairs for i in (pair.record_a_id, pair.record_b_id)])
    return [PairView(pair.id, pair.entity, pair.record_a_id, titles.get(pair.record_a_id, ""), pair.record_b_id,
                     titles.get(pair.record_b_id, ""), float(pair.score), pair.rule, list(pair.reasons or []),
                     pair.status, pair.found_by, pair.found_at, pair.decided_at, pair.decided_by) for pair in pairs]


def merge_view(uow: UnitOfWork, log: MergeLogRow) -> MergeView:
    """A merge log row as a view."""
    title = uow.records.titles([log.merged_id]).get(log.merged_id, "")
    return MergeView(log.id, log.entity, log.survivor_id, log.merged_id, title, log.pair_id, dict(log.choices),
                     log.at, log.by, log.undone_at, log.undone_by)


def list_pairs(uow: UnitOfWork, actor: Actor, *, entity: str | None = None, status: str = "open",
               limit: int = 50, offset: int = 0) -> list[PairView]:
    """One page of the queue the actor may see: open pairs by score, or decided ones (all, or of one status),
    latest first."""
    require_permission(actor, "duplicate.read", action="read the duplicate queue")
    if status not in STATUSES:
        raise ValidationError({"status": [f"must be one of: {', '.join(STATUSES)}"]})
    if entity:
        bundle, _ = active_bundle(uow)
        if entity not in bundle.entities:
            raise NotFound(f"unknown entity {entity!r}")
    with uow:
        seen = visibility(uow, actor)
        rows = uow.merges.queue(entity=entity or None, status=status, owner_ids=seen.owner_ids,
                                include_unowned=seen.include_unowned, limit=min(max(limit, 1), 500),
                                offset=max(offset, 0))
        return _pair_views(uow, rows)


def _may_decide(uow: UnitOfWork, actor: Actor, pair: DuplicatePairRow) -> bool:
    if actor.has(*MERGERS):
        return True
    if not actor.has("sales") or actor.id is None:
        return False
    owners = {r.owner_id for r in uow.records.by_ids([pair.record_a_id, pair.record_b_id]).values()}
    return owners == {actor.id}


def _visible_pair(uow: UnitOfWork, actor: Actor, pair_id: int) -> DuplicatePairRow:
    pair = uow.merges.pair(pair_id)
    if pair is None:
        raise NotFound(f"duplicate pair {pair_id} not found")
    load_visible(uow, actor, pair.record_a_id)  # NotFound unless the actor sees both records
    load_visible(uow, actor, pair.record_b_id)
    return pair


def _defaults(a: RecordView, b: RecordView) -> dict[str, str]:
    """Default picks with `a` (the older record) as survivor: its non-empty values stay, `b` only fills its blanks,
    so merging with the defaults never overwrites a curated value."""
    blank: tuple[object, ...] = (None, "", [])
    return {name: "b" if a.data.get(name) in blank and b.data.get(name) not in blank else "a"
            for name in sorted(set(a.data) | set(b.data))}


def get_pair(uow: UnitOfWork, actor: Actor, pair_id: int) -> PairDetail:
    """A pair with both records, the counts of what would move, default picks and the pair's merges."""
    require_permission(actor, "duplicate.read", action="read the duplicate queue")
    with uow:
        pair = _visible_pair(uow, actor, pair_id)
        rows = uow.records.by_ids([pair.record_a_id, pair.record_b_id])
        a, b = record_view(uow, rows[pair.record_a_id]), record_view(uow, rows[pair.record_b_id])
        merges = [merge_view(uow, log) for log in uow.merges.merges_into(a.id) + uow.merges.merges_into(b.id)
                  if log.pair_id == pair.id]
        return PairDetail(_pair_view(uow, pair), a, b, uow.merges.attached_counts(a.id),
                          uow.merges.attached_counts(b.id), _defaults(a, b),
                          sorted(merges, key=lambda m: m.id, reverse=True),
                          pair.status == "open" and _may_decide(uow, actor, pair),
                          pair.status == "open" and actor.has(*MERGERS))


def _decide(uow: UnitOfWork, actor: Actor, pair_id: int, status: str, now: datetime,
            kind: str | None = None) -> PairView:
    with uow:
        pair = _visible_pair(uow, actor, pair_id)
        if not _may_decide(uow, actor, pair):
            raise Forbidden(f"{actor.username} may not decide duplicate pairs of records others own")
        if pair.status != "open":
            raise ConflictError(f"duplicate pair {pair_id} was already decided ({pair.status})")
        if kind is not None:
            first, second = load_visible(uow, actor, pair.record_a_id), load_visible(uow, actor, pair.record_b_id)
            if uow.links.find(first.id, second.id, kind) is None and uow.links.find(second.id, first.id,
                                                                                     kind) is None:
                add_link(uow, first, second, kind, actor=actor.username, source=f"duplicate pair #{pair.id}",
                         now=now)
        pair.status, pair.decided_at, pair.decided_by = status, now, actor.username[:80]
        uow.commit()
        return _pair_view(uow, pair)


def mark_related(uow: UnitOfWork, actor: Actor, pair_id: int, relationship: str | None,
                 now: datetime) -> PairView:
    """Not one record but two related ones: link them (kind `relationship` of the link catalog, default related)."""
    require_permission(actor, "duplicate.decide", action="decide duplicate pairs")
    bundle, _ = active_bundle(uow)
    kind = relationship or RELATED_KIND
    kinds = link_kinds(bundle)
    if kind not in kinds:
        raise ValidationError({"relationship": [f"must be one of: {', '.join(kinds)}"]})
    return _decide(uow, actor, pair_id, "related", now, kind)


def dismiss_pair(uow: UnitOfWork, actor: Actor, pair_id: int, now: datetime) -> PairView:
    """Not a duplicate: the pair leaves the open queue (status dismissed)."""
    require_permission(actor, "duplicate.decide", action="decide duplicate pairs")
    return _decide(uow, actor, pair_id, "dismissed", now)


def record_merges(uow: UnitOfWork, actor: Actor, record_id: int) -> RecordMerges:
    """The merge facts of a record the actor may see (for its card)."""
    with uow:
        row = load_visible(uow, actor, record_id)
        into = row.merged_into_id
        merged_by = uow.merges.merge_of(row.id) if into is not None else None
        return RecordMerges(into, uow.records.titles([into]).get(into) if into is not None else None,
                            merge_view(uow, merged_by) if merged_by is not None else None,
                            [merge_view(uow, log) for log in uow.merges.merges_into(row.id)],
                            actor.has(*MERGERS) and into is None)


def get_merge(uow: UnitOfWork, actor: Actor, merge_id: int) -> MergeView:
    """One merge whose survivor the actor may see."""
    with uow:
        log = uow.merges.merge(merge_id)
        if log is None:
            raise NotFound(f"merge {merge_id} not found")
        load_visible(uow, actor, log.survivor_id)
        return merge_view(uow, log)
