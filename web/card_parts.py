"""Parts of the record card beyond its fields: the activity timeline with its kind filter, and the one-step log
forms (log a call) the bundle offers on it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import request

from engine.config.model import Bundle, Entity
from engine.errors import ValidationError
from engine.records.schema import entity_json_schema
from engine.services.card_log import log_fields, log_forms
from engine.services.timeline import FIXED_KINDS, TimelineEntry, record_timeline, timeline_kinds
from engine.services.views import RecordView
from web import uow
from web.auth import actor
from web.forms_render import Widget, build_widgets, unplaced_errors
from web.i18n import get_locale, label, t
from web.people import expect_changes
from web.present import element_title, process_label, remember_titles

KIND_PARAM = "kind"
AFTER_PARAM = "timeline_after"


@dataclass
class LogPanel:
    """One log form on the card: its entity, heading, inputs and the messages of a refused submission."""

    entity: str
    heading: str
    widgets: list[Widget]
    errors: list[str] = field(default_factory=list)
    open: bool = False


def kind_label(bundle: Bundle, kind: str) -> str:
    """A timeline kind in the user's language: a catalog value of a kind field, an entity, or a fixed kind."""
    for entity in bundle.entities.values():
        spec = entity.timeline
        if spec is None:
            continue
        if kind == entity.name and spec.kind_field is None:
            return label(entity.label, entity.name)
        field_ = entity.fields.get(spec.kind_field or "")
        catalog = bundle.catalogs.get(field_.catalog or "") if field_ is not None else None
        if catalog is not None and catalog.value(kind) is not None:
            return catalog.label_of(kind, get_locale())
    return t(f"timeline.kind_{kind}") if kind in FIXED_KINDS else kind


def entry_title(entry: TimelineEntry) -> str:
    """A step's or a task's name in the user's language; a process's own events (started, completed) are named by
    the process; every other entry by its stored title."""
    if entry.kind not in ("step", "task"):
        return entry.title
    process_id = entry.source.rsplit(" v", 1)[0] if entry.kind == "step" and entry.source else None
    if entry.element is None:
        return process_label(process_id, process_id) if process_id else entry.title
    return element_title(entry.element, entry.title, process_id, entry.labels)


def timeline_part(bundle: Bundle, record: RecordView) -> dict[str, Any]:
    """The card's timeline page, narrowed by the `kind` query parameter, paged by `timeline_after`."""
    chosen = request.args.get(KIND_PARAM, "")
    try:
        page = record_timeline(uow(), actor(), record.id, kinds=[chosen] if chosen else [],
                               after=request.args.get(AFTER_PARAM) or None)
    except ValidationError as exc:  # the service names its arguments; the card's links name them so
        raise ValidationError({KIND_PARAM if k == "kind" else AFTER_PARAM: v for k, v in exc.errors.items()}) \
            from exc
    remember_titles(page.names)
    expect_changes(page.items)
    return {"timeline": page, "timeline_kinds": timeline_kinds(bundle), "timeline_kind": chosen,
            "timeline_paged": bool(request.args.get(AFTER_PARAM))}


def _schema(bundle: Bundle, entity: Entity, names: tuple[str, ...]) -> dict[str, Any]:
    whole = entity_json_schema(entity, bundle)
    return {**whole, "properties": {n: whole["properties"][n] for n in names}, "required": list(names)}


def log_schema(bundle: Bundle, entity: Entity) -> dict[str, Any]:
    """The JSON Schema of an entity's log form: the asked fields, every one required."""
    log = entity.timeline.log if entity.timeline is not None else None
    return _schema(bundle, entity, log_fields(log)) if log is not None else {"properties": {}}


def log_panels(bundle: Bundle, record: RecordView, refused: tuple[str, dict[str, Any], dict[str, list[str]]] | None
               ) -> list[LogPanel]:
    """The log forms of this card; `refused` = (entity, posted values, errors) of a submission to show again."""
    panels = []
    for entity, log, _ in log_forms(bundle, record.entity):
        values, errors = (refused[1], refused[2]) if refused and refused[0] == entity.name else ({}, {})
        widgets = build_widgets(log_schema(bundle, entity), {}, values, errors, locale=get_locale(),
                                currency=bundle.settings.currency)
        panels.append(LogPanel(entity.name, label(log.label, entity.name), widgets,
                               unplaced_errors(errors, widgets, get_locale()), bool(errors)))
    return panels
