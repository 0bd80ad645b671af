"""Global search: one query over every entity's title and searchable fields — names in any script or
transliteration, phones in any format, e-mails — grouped by entity, within what the actor may see."""

from __future__ import annotations

from dataclasses import dataclass

from engine.errors import Forbidden, NotFound
from engine.processes.deployed import active_bundle
from engine.search import index
from engine.search.keys import query_keys
from engine.services.access import reads_everything, require_permission
from engine.services.records import visibility
from engine.services.views import Actor
from engine.store.filter_sql import FindScope
from engine.store.uow import UnitOfWork

PER_ENTITY = 8  # hits shown per entity
SCANNED = 200  # newest matching records read before grouping


@dataclass(frozen=True)
class SearchHit:
    """A found record."""

    id: int
    entity: str
    title: str


@dataclass(frozen=True)
class SearchGroup:
    """The hits of one entity: the newest PER_ENTITY, and whether more matched."""

    entity: str
    label: dict[str, str]
    hits: list[SearchHit]
    more: bool


@dataclass(frozen=True)
class SearchResults:
    """What a query found, grouped by entity in the configuration's order; `stale_index` when records exist but
    the search keys were never built (run `flowcrm search-index`)."""

    query: str
    groups: list[SearchGroup]
    stale_index: bool


def search(uow: UnitOfWork, actor: Actor, text: str) -> SearchResults:
    """Records the actor may see whose names, phones or e-mails match `text` (see engine/search/keys.py)."""
    if not (reads_everything(actor) or actor.has("sales", "head_of_sales")):
        raise Forbidden(f"{actor.username} may not read records")
    bundle, _ = active_bundle(uow)
    keys = query_keys(text, bundle.settings.default_region)
    with uow:
        repo = uow.search
        stale = repo.missing()
        if keys.empty():
            return SearchResults(text, [], stale)
        seen = visibility(uow, actor)
        scope = FindScope(seen.owner_ids, seen.include_unowned, seen.inbox_of)
        found = repo.find(keys.words, keys.exact, keys.prefixes, scope, limit=SCANNED)
    by_entity: dict[str, list[SearchHit]] = {}
    for record_id, entity, title in found:
        by_entity.setdefault(entity, []).append(SearchHit(record_id, entity, title))
    groups = [SearchGroup(name, dict(entity.label), by_entity[name][:PER_ENTITY], len(by_entity[name]) > PER_ENTITY)
              for name, entity in bundle.entities.items() if name in by_entity]
    return SearchResults(text, groups, stale)


def rebuild_index(uow: UnitOfWork, actor: Actor, entities: list[str] | None = None) -> int:
    """Rebuild the search keys of every record (of these entities); how many records were keyed."""
    require_permission(actor, "definition.deploy", action="rebuild the search index")
    bundle, _ = active_bundle(uow)
    unknown = [name for name in entities or [] if name not in bundle.entities]
    if unknown:
        raise NotFound(f"unknown entity {', '.join(unknown)} (known: {', '.join(bundle.entities)})")
    return index.rebuild(uow, bundle, entities)
