"""The filter builder: /find/<entity> finds records by a JSON filter (built by static/find.js, or typed), shows
them page by page with the total, saves the filter as a segment, and exports what it finds."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, render_template, request

from engine.config.model import Bundle, Entity
from engine.errors import NotFound, ValidationError
from engine.filters.model import SYSTEM_FIELDS
from engine.filters.values import ops_for
from engine.services.access import require
from engine.services.finding import find_records
from engine.services.segments import SEGMENT_READERS, SEGMENT_WRITERS, can_change, checked_filter, get_segment
from engine.services.views import RecordView
from web import now, uow
from web.auth import actor, login_required
from web.blueprints.records import list_columns
from web.edge import id_arg, page_number
from web.exports_http import export_response
from web.i18n import engine_message, label, t
from web.present import bundle_of, catalog_value_label

bp = Blueprint("find", __name__, url_prefix="/find")
PAGE = 25
OPS = ("eq", "ne", "in", "not_in", "is_empty", "is_not_empty", "gt", "gte", "lt", "lte", "between",
       "within_last_days", "older_than_days", "contains", "starts_with", "has_any", "has_all")
AGGREGATES = ("exists", "none", "count", "sum", "min", "max", "last")


def entity_or_404(bundle: Bundle, name: str) -> Entity:
    """The entity by name; 404 when the configuration has none."""
    entity = bundle.entities.get(name)
    if entity is None:
        raise NotFound(f"unknown entity {name!r}")
    return entity


def _fields(bundle: Bundle, entity: Entity) -> list[dict[str, Any]]:
    fields = []
    for name, field in entity.fields.items():
        catalog = bundle.catalogs.get(field.catalog or "")
        options = [{"value": v.code, "label": catalog_value_label(catalog, v.code)} for v in catalog.values] \
            if catalog is not None else []
        fields.append({"name": name, "type": field.type, "label": label(field.label, name), "options": options,
                       "ops": list(ops_for(field.type)), "entity": field.entity})
    for name, kind in SYSTEM_FIELDS.items():
        if name not in entity.fields:
            fields.append({"name": name, "type": kind, "label": t(f"find.system.{name}"), "options": [],
                           "ops": list(ops_for(kind)), "entity": None})
    return fields


def builder_schema(bundle: Bundle, entity: Entity) -> dict[str, Any]:
    """What the builder needs: fields (type, label, operators, catalog options) of this entity and of the
    entities whose reference fields point at it (the "has linked ..." conditions), and the UI words."""
    linked = []
    for other in bundle.entities.values():
        for name, field in other.fields.items():
            if field.type == "reference" and field.entity == entity.name:
                linked.append({"entity": other.name, "via": name,
                               "label": f"{label(other.label, other.name)} · {label(field.label, name)}",
                               "fields": _fields(bundle, other)})
    words = {key: t(f"find.ui.{key}") for key in (
        "all", "any", "add", "add_linked", "remove", "match_before", "match", "field", "op", "value", "linked",
        "where", "aggregate", "order_by", "and", "values_hint", "json_only", "no_conditions", "days", "mode", "link",
        "condition", "value_from", "value_to", "value_days")}
    return {"entity": entity.name, "fields": _fields(bundle, entity), "linked": linked, "words": words,
            "ops": {op: t(f"find.op.{op}") for op in OPS},
            "aggregates": {a: t(f"find.aggregate.{a}") for a in AGGREGATES}}


def export_choices(entity: Entity) -> list[tuple[str, str]]:
    """(column, label) an export may include, in the default order."""
    from engine.services.exports import default_columns

    choices = []
    for name in default_columns(entity):
        field = entity.fields.get(entity.title_field if name == "title" else name)
        choices.append((name, label(field.label, name) if field is not None else t(f"find.system.{name}")))
    return choices


def read_filter(text: str, entity: str) -> dict[str, Any]:
    """The posted JSON filter text as an object (empty text = every record of the entity)."""
    if not text.strip():
        return {"entity": entity}
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ValidationError({"": [t("find.bad_json", error=str(exc))]}) from exc
    if not isinstance(data, dict):
        raise ValidationError({"": [t("find.not_object")]})
    return data


def localized_errors(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    """Engine messages in the request's language, keyed by JSON path as the engine gave them."""
    return {path: [engine_message(m) for m in messages] for path, messages in errors.items()}


def results_page(data: dict[str, Any], page: int) -> tuple[list[RecordView], int, bool]:
    """One page of the records the filter finds for the actor, their total and whether it is exact."""
    found = find_records(uow(), actor(), data, now(), limit=PAGE, offset=(page - 1) * PAGE)
    return list(found.items), found.total, found.exact


@bp.get("/<entity>")
@login_required
def builder(entity: str) -> Any:
    """The filter builder with the records the filter finds (422 with messages by JSON path when it is bad);
    ?segment=<id> offers to save the filter back into that segment."""
    require(actor(), *SEGMENT_READERS, action="find records")
    bundle = bundle_of(uow())
    found = entity_or_404(bundle, entity)
    text = request.args.get("filter", "")
    page = page_number()
    errors: dict[str, list[str]] = {}
    records: list[RecordView] = []
    total, exact = 0, True
    data: dict[str, Any] = {"entity": found.name}
    try:
        data = read_filter(text, found.name)
        data = checked_filter(bundle, found.name, data, prefix="")
        records, total, exact = results_page(data, page)
    except ValidationError as exc:
        errors = localized_errors({k.lstrip("."): v for k, v in exc.errors.items()})
    shown = text if text.strip() else json.dumps(data, ensure_ascii=False)
    segment_id = id_arg("segment")
    segment = get_segment(uow(), actor(), segment_id) if segment_id else None
    if segment is not None and (segment.entity != found.name or not can_change(actor(), segment)):
        segment = None
    return render_template(
        "find/builder.html", entity=found, bundle=bundle, schema=builder_schema(bundle, found), filter_text=shown,
        errors=errors, records=records, total=total, total_exact=exact, page=page, has_next=page * PAGE < total,
        columns=list_columns(found), can_save=actor().has(*SEGMENT_WRITERS), segment=segment,
        export_columns=export_choices(found),
        searched=not errors), 422 if errors else 200


@bp.get("/<entity>/export.<fmt>")
@login_required
def export(entity: str, fmt: str) -> Any:
    """The records the filter finds as CSV or XLSX (?filter=JSON&columns=a,b)."""
    bundle = bundle_of(uow())
    found = entity_or_404(bundle, entity)
    data = read_filter(request.args.get("filter", ""), found.name)
    return export_response(fmt, {**data, "entity": data.get("entity", found.name)}, f"{found.name.lower()}-export")
