"""Titles of the records a page names (references, links, history rows), for the records the actor may see, and
the search-as-you-type choices of a reference field."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from engine.errors import Forbidden
from engine.processes.deployed import active_bundle
from engine.services.access import reads_everything
from engine.services.records import entity_of, visibility
from engine.services.views import Actor
from engine.store.models import RecordRow
from engine.store.uow import UnitOfWork

CHOICES = 20  # choices a reference picker shows at a time
MAX_QUERY = 200
MERGE_HOPS = 5  # a survivor merged again is followed this far


@dataclass(frozen=True)
class RecordName:
    """How a page names a record it refers to. As a lookup field does, a record the actor may not open is still named
    by its title (shown without a link); `title` None: no such record (gone); `merged_into`: the survivor a merged
    record went into, when the actor may open it."""

    title: str | None
    openable: bool = False
    merged: bool = False
    merged_into: int | None = None
    merged_into_title: str | None = None


GONE = RecordName(None)


def record_names(uow: UnitOfWork, actor: Actor, ids: Iterable[int]) -> dict[int, RecordName]:
    """{id: RecordName} for each of `ids`: its title, whether the actor may open it, where a merged one went; one
    query (plus one per record outside the actor's own asking whether it is in their inbox, and one for the
    survivors of merged records)."""
    wanted = {i for i in ids if isinstance(i, int) and not isinstance(i, bool)}
    if not wanted:
        return {}
    with uow:
        rows = uow.records.by_ids(wanted)
        seen = visibility(uow, actor)

        def opens(row: RecordRow) -> bool:
            owned = seen.owner_ids is None or row.owner_id in seen.owner_ids
            unowned = seen.include_unowned and row.owner_id is None
            return owned or unowned or (seen.inbox_of is not None and uow.records.in_inbox_of(row.id, *seen.inbox_of))

        survivors = _survivors(uow, [r for r in rows.values() if r.merged_into_id is not None])
        names: dict[int, RecordName] = {}
        for record_id in wanted:
            row = rows.get(record_id)
            if row is None:
                names[record_id] = GONE
            elif row.merged_into_id is None:
                names[record_id] = RecordName(row.title, opens(row))
            else:
                survivor = survivors.get(record_id)
                shown = survivor if survivor is not None and opens(survivor) else None
                names[record_id] = RecordName(row.title, opens(row), True, shown.id if shown else None,
                                              shown.title if shown else None)
        return names


def _survivors(uow: UnitOfWork, merged: list[RecordRow]) -> dict[int, RecordRow]:
    """{merged record id: the record it lives on in} (following a survivor merged again), a query per hop."""
    heads = {r.id: r.merged_into_id for r in merged if r.merged_into_id is not None}
    found: dict[int, RecordRow] = {}
    for _ in range(MERGE_HOPS):
        if not heads:
            break
        rows = uow.records.by_ids(set(heads.values()))
        onward: dict[int, int] = {}
        for record_id, target in heads.items():
            row = rows.get(target)
            if row is None:
                continue
            if row.merged_into_id is None:
                found[record_id] = row
            else:
                onward[record_id] = row.merged_into_id
        heads = onward
    return found


def visible_titles(uow: UnitOfWork, actor: Actor, ids: Iterable[int]) -> dict[int, str]:
    """{id: title} of those of `ids` the actor may open (see `record_names` for every record a page names)."""
    return {i: n.title for i, n in record_names(uow, actor, ids).items() if n.openable and n.title is not None}


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
