"""Titles of the records a page names (references, links, history rows), for the records the actor may see, and
the search-as-you-type choices of a reference field."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from engine.errors import Forbidden
from engine.processes.deployed import active_bundle
from engine.services.access import reads_everything
from engine.services.records import entity_of, visibility
from engine.services.views import Actor
from engine.store.uow import UnitOfWork

CHOICES = 20  # choices a reference picker shows at a time
MAX_QUERY = 200


def visible_titles(uow: UnitOfWork, actor: Actor, ids: Iterable[int]) -> dict[int, str]:
    """{id: title} of those of `ids` the actor may see, in one query (plus one for any outside their records,
    asking whether they are in the actor's inbox); the others stay unnamed, so a title never leaks."""
    wanted = {i for i in ids if isinstance(i, int)}
    if not wanted:
        return {}
    with uow:
        rows = uow.records.by_ids(wanted)
        seen = visibility(uow, actor)
        titles: dict[int, str] = {}
        for record_id, row in rows.items():
            owned = seen.owner_ids is None or row.owner_id in seen.owner_ids
            unowned = seen.include_unowned and row.owner_id is None
            inbox = seen.inbox_of is not None and not (owned or unowned) and uow.records.in_inbox_of(
                record_id, *seen.inbox_of)
            if owned or unowned or inbox:
                titles[record_id] = row.title
        return titles


def reference_choices(uow: UnitOfWork, actor: Actor, entity_name: str, text: str,
                      limit: int = CHOICES) -> list[tuple[int, str]]:
    """(id, title) of the entity's records the actor may see whose title contains `text` (or whose number it is),
    those starting with it first; an empty text lists the first ones by title."""
    bundle, _ = active_bundle(uow)
    entity = entity_of(bundle, entity_name)
    if not (reads_everything(actor) or actor.has("sales", "head_of_sales")):
        raise Forbidden(f"{actor.username} may not read records")
    with uow:
        seen = visibility(uow, actor)
        return uow.cards.choices(
            entity.name, text.strip()[:MAX_QUERY], owner_ids=seen.owner_ids, include_unowned=seen.include_unowned,
            inbox_of=seen.inbox_of, limit=min(max(limit, 1), 100))


def records_made_with(uow: UnitOfWork, actor: Actor, record_id: int, at: datetime) -> list[tuple[int, str, str]]:
    """(id, entity, title) of the records a step completed at `at` created from the record and linked to it (a
    conversion's new record), those the actor may see."""
    with uow:
        rows = uow.cards.made_with(record_id, at)
        titles = visible_titles(uow, actor, [r.id for r in rows])
        return [(r.id, r.entity, titles[r.id]) for r in rows if r.id in titles]
