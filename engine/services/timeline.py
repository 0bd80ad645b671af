"""A record's activity timeline: field changes, process steps, tasks done, e-mails and the records that reference
it (as the bundle's entity `timeline` sections declare), newest first, filtered by kind, keyset-paged."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from engine.config.model import Bundle
from engine.errors import ValidationError
from engine.processes.deployed import active_bundle
from engine.services.records import load_visible
from engine.services.titles import RecordName, record_names
from engine.services.views import Actor
from engine.store.card_repos import RANK, Referencing, TimelineKey
from engine.store.uow import UnitOfWork

FIXED_KINDS: tuple[str, ...] = ("field", "step", "task", "email")  # the kinds every record's timeline has
TIMELINE_PAGE = 30
MAX_PAGE = 200
MAX_ID = 2_147_483_647  # id columns are 32-bit


@dataclass(frozen=True)
class TimelineEntry:
    """One line of a timeline. `kind` is a fixed kind or a kind from the bundle (a catalog code, an entity)."""

    kind: str
    at: datetime  # when it was stored: the order of the timeline
    actor: str | None
    title: str  # the field, step, task, e-mail subject or record title
    text: str | None = None  # the record's text field, an e-mail's address
    record_id: int | None = None  # the referencing record this entry is (an activity, a comment)
    entity: str | None = None  # that record's entity
    happened_at: Any = None  # that record's own date of when it happened, when the entity names one
    field: str | None = None  # field changes: the field, old and new value, and what made the change
    old_value: Any = None
    new_value: Any = None
    source: str | None = None  # a field change's source, a step's process ("process_id vN"), an e-mail's status
    element: str | None = None  # a step's BPMN element id, a task's (or its rule's "rule <name>"): to translate it
    labels: dict[str, str] | None = None  # a task's title per locale, when its maker gave several
    cursor: str = ""


@dataclass(frozen=True)
class TimelinePage:
    """One page of the timeline; `next_cursor` None on the last page. `names`: the records the entries name
    (references changed, links made), by title, whether the actor may open them and where a merged one went."""

    items: list[TimelineEntry]
    next_cursor: str | None
    names: dict[int, RecordName] = field(default_factory=dict)

    @property
    def titles(self) -> dict[int, str]:
        """Titles of the records the entries name that still exist (opened or not: a reference reads as a title)."""
        return {i: n.title for i, n in self.names.items() if n.title is not None}


def timeline_kinds(bundle: Bundle) -> tuple[str, ...]:
    """Every kind a timeline entry can have in this bundle: the fixed ones, then the kind field's catalog codes or
    the entity names of the entities that declare a timeline."""
    kinds = list(FIXED_KINDS)
    for entity in bundle.entities.values():
        spec = entity.timeline
        if spec is None:
            continue
        field_ = entity.fields.get(spec.kind_field or "")
        catalog = bundle.catalogs.get(field_.catalog or "") if field_ is not None else None
        codes = [v.code for v in catalog.values] if catalog is not None else [entity.name]
        kinds += [code for code in codes if code not in kinds]
    return tuple(kinds)


def _cursor(key: TimelineKey) -> str:
    return f"{key.at.astimezone(UTC).isoformat()}|{key.rank}|{key.id}"


def parse_cursor(text: str | None) -> TimelineKey | None:
    """A timeline cursor (as a page's `next_cursor`), or None; ValidationError names `after`."""
    if not text:
        return None
    parts = text.split("|")
    try:
        at = datetime.fromisoformat(parts[0])
        rank = int(parts[1])
        numeric = rank != RANK["task"]  # task ids are UUIDs, every other source's ids are numbers
        if len(parts) != 3 or rank not in RANK.values() or not parts[2] or at.tzinfo is None \
                or (numeric and not (parts[2].isdigit() and int(parts[2]) <= MAX_ID)) or len(parts[2]) > 36:
            raise ValueError(text)
    except (ValueError, IndexError) as exc:
        raise ValidationError({"after": [f"{text!r} is not a timeline cursor; pass a page's next_cursor"]}) from exc
    return TimelineKey(at, rank, parts[2])


def _check_kinds(bundle: Bundle, kinds: Iterable[str]) -> frozenset[str]:
    known = timeline_kinds(bundle)
    unknown = [k for k in kinds if k not in known]
    if unknown:
        raise ValidationError({"kind": [f"unknown kind {', '.join(map(repr, unknown))}; known: {', '.join(known)}"]})
    return frozenset(kinds) or frozenset(known)


def _sources(bundle: Bundle, wanted: frozenset[str]) -> list[Referencing]:
    """The referencing entities to read, narrowed to the wanted kinds."""
    found = []
    for entity in bundle.entities.values():
        spec = entity.timeline
        if spec is None:
            continue
        field_ = entity.fields.get(spec.kind_field or "")
        catalog = bundle.catalogs.get(field_.catalog or "") if field_ is not None else None
        if catalog is None:
            if entity.name in wanted:
                found.append(Referencing(entity.name))
            continue
        codes = tuple(v.code for v in catalog.values if v.code in wanted)
        if codes:
            every = len(codes) == len(catalog.values)
            found.append(Referencing(entity.name, spec.kind_field, None if every else codes))
    return found


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _reference_ids(bundle: Bundle, entity_name: str, entries: Sequence[TimelineEntry]) -> set[int]:
    """Record ids the field changes name: reference field values and link ends."""
    entity = bundle.entities.get(entity_name)
    ids: set[int] = set()
    for entry in entries:
        if entry.field is None:
            continue
        spec = entity.fields.get(entry.field) if entity is not None else None
        if entry.field.startswith("link:") or (spec is not None and spec.type == "reference"):
            ids |= {v for v in (entry.old_value, entry.new_value) if isinstance(v, int)}
    return ids


def record_timeline(uow: UnitOfWork, actor: Actor, record_id: int, *, kinds: Sequence[str] = (),
                    after: str | None = None, limit: int = TIMELINE_PAGE) -> TimelinePage:
    """A page of the timeline of a record the actor may see, newest first; `kinds` narrows it (none: all),
    `after` is the previous page's `next_cursor`. Each source reads at most `limit` + 1 rows by an index."""
    bundle, _ = active_bundle(uow)
    wanted = _check_kinds(bundle, kinds)
    key = parse_cursor(after)
    limit = min(max(limit, 1), MAX_PAGE)
    with uow:
        card = load_visible(uow, actor, record_id)
        repo = uow.cards
        keyed: list[tuple[TimelineKey, TimelineEntry]] = []
        if "field" in wanted:
            for c in repo.field_changes([record_id, *uow.merges.absorbed(record_id)], key, limit + 1):
                keyed.append((TimelineKey(_aware(c.at), RANK["field"], str(c.id)), TimelineEntry(
                    "field", c.at, c.actor, c.field, field=c.field, old_value=c.old_value, new_value=c.new_value,
                    source=c.source)))
        if "step" in wanted:
            for s, process_id, version in repo.steps(record_id, key, limit + 1):
                keyed.append((TimelineKey(_aware(s.at), RANK["step"], str(s.id)), TimelineEntry(
                    "step", s.at, s.actor, s.element_name or s.element_id or s.kind, text=s.kind,
                    source=f"{process_id} v{version}", element=s.element_id)))
        if "task" in wanted:
            for t in repo.tasks_done(record_id, key, limit + 1):
                assert t.completed_at is not None  # noqa: S101 - the query asks for completed tasks
                keyed.append((TimelineKey(_aware(t.completed_at), RANK["task"], t.id), TimelineEntry(
                    "task", t.completed_at, t.completed_by, t.title,
                    element=t.spec_name, labels=t.title_labels)))
        if "email" in wanted:
            for m in repo.emails(record_id, key, limit + 1):
                keyed.append((TimelineKey(_aware(m.created_at), RANK["email"], str(m.id)), TimelineEntry(
                    "email", m.created_at, None, m.subject, text=m.to_address, source=m.status)))
        for r in repo.referencing(record_id, _sources(bundle, wanted), key, limit + 1):
            keyed.append((TimelineKey(_aware(r.created_at), RANK["record"], str(r.id)), _record_entry(bundle, r)))
        keyed.sort(key=lambda pair: pair[0], reverse=True)
        page = [(k, e) for k, e in keyed[:limit]]
        items = [TimelineEntry(**{**e.__dict__, "cursor": _cursor(k)}) for k, e in page]
        names = record_names(uow, actor, _reference_ids(bundle, card.entity, items))
        return TimelinePage(items, items[-1].cursor if len(keyed) > limit else None, names)


def _record_entry(bundle: Bundle, row: Any) -> TimelineEntry:
    entity = bundle.entities[row.entity]
    spec = entity.timeline
    assert spec is not None  # noqa: S101 - only entities with a timeline are read
    kind = str(row.data.get(spec.kind_field) or entity.name) if spec.kind_field else entity.name
    text = row.data.get(spec.text) if spec.text else None
    return TimelineEntry(kind, row.created_at, row.created_by, row.title, text=None if text is None else str(text),
                         record_id=row.id, entity=row.entity,
                         happened_at=row.data.get(spec.at) if spec.at else None)
