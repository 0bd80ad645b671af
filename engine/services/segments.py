"""Segments: saved filters over one entity (target lists), who may keep them, and their current records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.config.model import Bundle, Entity
from engine.errors import Forbidden, NotFound, ValidationError
from engine.input_limits import MAX_ID
from engine.processes.deployed import active_bundle
from engine.services.access import SEGMENT_READERS as SEGMENT_READERS  # web names them from here
from engine.services.access import SEGMENT_WRITERS as SEGMENT_WRITERS
from engine.services.access import require_permission
from engine.services.finding import find_records, parse_filter
from engine.services.records import entity_of
from engine.services.views import Actor, RecordView
from engine.store.quality_models import SegmentRow
from engine.store.uow import UnitOfWork

MAX_NAME = 200
MAX_DESCRIPTION = 2000
MAX_PAGE = 500


@dataclass(frozen=True)
class SegmentView:
    id: int
    entity: str
    name: str
    description: str
    filter: dict[str, Any]
    created_by: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class SegmentResults:
    """One page of a segment's records the actor may see, and how many there are in all."""

    segment: SegmentView
    items: list[RecordView]
    total: int
    exact: bool = True  # False: `total` is an estimate (more than finding.COUNT_CAP match, on PostgreSQL)


def segment_view(row: SegmentRow) -> SegmentView:
    """A segment row as a view."""
    return SegmentView(row.id, row.entity, row.name, row.description or "", dict(row.filter), row.created_by,
                       row.created_at, row.updated_at)


def can_change(actor: Actor, segment: SegmentView | SegmentRow) -> bool:
    """Admins change every segment; sales and heads of sales their own ones."""
    if actor.has("admin") or "system" in actor.roles:
        return True
    return actor.has("sales", "head_of_sales") and segment.created_by == actor.username


def checked_filter(bundle: Bundle, entity: str, data: Any, *, prefix: str = "filter") -> dict[str, Any]:
    """A filter for `entity` validated against the deployed bundle; errors keyed `<prefix>.<JSON path>`."""
    if not isinstance(data, dict):
        raise ValidationError({prefix: ["must be a JSON object like {\"entity\": ..., \"where\": ...}"]})
    named = data.get("entity")
    if named is not None and named != entity:
        raise ValidationError({f"{prefix}.entity": [f"must be {entity} (the segment's entity), not {named!r}"]})
    clean = {**data, "entity": entity}
    try:
        parse_filter(bundle, clean)
    except ValidationError as exc:
        raise ValidationError({f"{prefix}.{k}" if k else prefix: v for k, v in exc.errors.items()}) from exc
    return clean


def filter_target(uow: UnitOfWork, data: Any) -> tuple[Bundle, Entity, dict[str, Any]]:
    """The deployed bundle, the entity a filter names and the filter validated for it."""
    bundle, _ = active_bundle(uow)
    entity_name = data.get("entity") if isinstance(data, dict) else None
    if not isinstance(entity_name, str):
        raise ValidationError({"filter.entity": ["is required: the entity the filter finds"]})
    entity = entity_of(bundle, entity_name)
    return bundle, entity, checked_filter(bundle, entity.name, data)


def _text(errors: dict[str, list[str]], key: str, value: Any, limit: int, *, required: bool) -> str:
    if not isinstance(value, str):
        errors[key] = ["must be text"]
        return ""
    text = str(value).strip()
    if required and not text:
        errors[key] = ["is required"]
    elif len(text) > limit:
        errors[key] = [f"at most {limit} characters"]
    return text


def _load(uow: UnitOfWork, segment_id: int) -> SegmentRow:
    row = uow.segments.get(segment_id)
    if row is None:
        raise NotFound(f"segment {segment_id} not found")
    return row


def _require_read(actor: Actor) -> None:
    require_permission(actor, "segment.read", action="read segments")


def _require_change(actor: Actor, row: SegmentRow) -> None:
    require_permission(actor, "segment.write", action="change segments")
    if not can_change(actor, row):
        raise Forbidden(f"{actor.username} may not change segment {row.name!r} of {row.created_by}")


def list_segments(uow: UnitOfWork, actor: Actor, entity: str | None = None) -> list[SegmentView]:
    """Every segment (of one entity when given), by entity and name."""
    _require_read(actor)
    with uow:
        return [segment_view(r) for r in uow.segments.all(entity)]


def get_segment(uow: UnitOfWork, actor: Actor, segment_id: int) -> SegmentView:
    """One segment."""
    _require_read(actor)
    with uow:
        return segment_view(_load(uow, segment_id))


def find_segment(uow: UnitOfWork, actor: Actor, ref: str, entity: str | None = None) -> SegmentView:
    """A segment by id or by name (a name two entities share needs `entity`)."""
    _require_read(actor)
    with uow:
        if ref.isdigit() and int(ref) <= MAX_ID and uow.segments.get(int(ref)) is not None:
            return segment_view(_load(uow, int(ref)))
        rows = [r for r in uow.segments.named(ref) if entity is None or r.entity == entity]
        if not rows:
            raise NotFound(f"no segment named {ref!r}" + (f" for {entity}" if entity else ""))
        if len(rows) > 1:
            raise ValidationError({"segment": [f"{ref!r} names segments of {', '.join(r.entity for r in rows)}; "
                                               "give the entity or the id"]})
        return segment_view(rows[0])


def create_segment(uow: UnitOfWork, actor: Actor, entity: str, name: str, filter: Any, now: datetime,
                   description: str = "") -> SegmentView:
    """Save a filter as a named segment of an entity (names are unique per entity)."""
    require_permission(actor, "segment.write", action="save segments")
    bundle, _ = active_bundle(uow)
    found = entity_of(bundle, entity)
    errors: dict[str, list[str]] = {}
    name = _text(errors, "name", name, MAX_NAME, required=True)
    description = _text(errors, "description", description, MAX_DESCRIPTION, required=False)
    try:
        clean = checked_filter(bundle, found.name, filter)
    except ValidationError as exc:
        errors |= exc.errors
    with uow:
        if "name" not in errors and uow.segments.by_name(found.name, name) is not None:
            errors["name"] = [f"a segment named {name!r} already exists for {found.name}"]
        if errors:
            raise ValidationError(errors)
        row = SegmentRow(entity=found.name, name=name, description=description, filter=clean,
                         created_by=actor.username[:80], created_at=now, updated_at=now)
        uow.segments.add(row)
        uow.commit()
        return segment_view(row)


def update_segment(uow: UnitOfWork, actor: Actor, segment_id: int, now: datetime, *, name: str | None = None,
                   filter: Any = None, description: str | None = None) -> SegmentView:
    """Rename, re-describe or re-filter a segment (its creator or an admin)."""
    bundle, _ = active_bundle(uow)
    with uow:
        row = _load(uow, segment_id)
        _require_change(actor, row)
        errors: dict[str, list[str]] = {}
        new_name = _text(errors, "name", name, MAX_NAME, required=True) if name is not None else row.name
        new_text = _text(errors, "description", description, MAX_DESCRIPTION, required=False) \
            if description is not None else row.description
        clean = row.filter
        if filter is not None:
            try:
                clean = checked_filter(bundle, row.entity, filter)
            except ValidationError as exc:
                errors |= exc.errors
        other = uow.segments.by_name(row.entity, new_name) if "name" not in errors else None
        if other is not None and other.id != row.id:
            errors["name"] = [f"a segment named {new_name!r} already exists for {row.entity}"]
        if errors:
            raise ValidationError(errors)
        row.name, row.description, row.filter, row.updated_at = new_name, new_text, clean, now
        uow.commit()
        return segment_view(row)


def delete_segment(uow: UnitOfWork, actor: Actor, segment_id: int) -> None:
    """Remove a segment (its creator or an admin); its records stay as they are."""
    with uow:
        row = _load(uow, segment_id)
        _require_change(actor, row)
        uow.segments.delete(row)
        uow.commit()


def run_segment(uow: UnitOfWork, actor: Actor, segment_id: int, now: datetime, limit: int = 50,
                offset: int = 0) -> SegmentResults:
    """One page of the segment's records the actor may see, with the total."""
    segment = get_segment(uow, actor, segment_id)
    found = find_records(uow, actor, segment.filter, now, limit=min(max(limit, 1), MAX_PAGE),
                         offset=max(offset, 0))
    return SegmentResults(segment, list(found.items), found.total, found.exact)
