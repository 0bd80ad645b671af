"""Segments (saved filters): list, results with mass actions and exports, save, change, delete."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from engine.errors import Forbidden, ValidationError
from engine.records.schema import entity_json_schema
from engine.services.access import RECORD_WRITERS, require
from engine.services.finding import count_records
from engine.services.mass_actions import KINDS, MassAction, parse_action, run_segment_action, startable_processes
from engine.services.segments import (
    SEGMENT_READERS,
    SEGMENT_WRITERS,
    SegmentView,
    can_change,
    create_segment,
    delete_segment,
    get_segment,
    list_segments,
    run_segment,
    update_segment,
)
from engine.services.views import RecordView
from web import nav, now, uow
from web.auth import actor, login_required
from web.blueprints.find import PAGE, export_choices, localized_errors, read_filter
from web.blueprints.records import list_columns
from web.edge import page_number
from web.exports_http import export_response
from web.forms_render import record_values
from web.i18n import t
from web.people import expect_people
from web.present import bundle_of

bp = Blueprint("segments", __name__, url_prefix="/segments")
nav.add("segments.index", "segments.nav", *SEGMENT_READERS)


@bp.get("")
@login_required
def index() -> str:
    """Every segment, by entity and name."""
    segments = list_segments(uow(), actor())
    expect_people(s.created_by for s in segments)  # named in one statement
    return render_template("segments/list.html", segments=segments, bundle=bundle_of(uow()),
                           can_save=actor().has(*SEGMENT_WRITERS))


def render_segment(segment_id: int, *, errors: dict[str, list[str]] | None = None, form: dict[str, str] | None = None,
                   action_errors: dict[str, list[str]] | None = None, status: int = 200) -> tuple[str, int]:
    """The segment page: its records (paged, with the total), the edit form, mass actions, exports."""
    who = actor()
    page = page_number()
    segment = get_segment(uow(), who, segment_id)
    records: list[RecordView] = []
    total, exact = 0, True
    try:
        results = run_segment(uow(), who, segment_id, now(), limit=PAGE, offset=(page - 1) * PAGE)
        records, total, exact = results.items, results.total, results.exact
    except ValidationError as exc:  # the configuration moved on under the saved filter: show why, let it be fixed
        errors = {**{f"filter.{k}" if k else "filter": v for k, v in localized_errors(exc.errors).items()},
                  **(errors or {})}
        status = 422
    bundle = bundle_of(uow())
    entity = bundle.entities.get(segment.entity)
    tag_fields = [n for n, f in entity.fields.items() if f.type == "multi_enum"] if entity else []
    from engine.services.assignment import assignable_users

    users = assignable_users(uow(), who) if who.has("head_of_sales", "admin") else []
    processes = startable_processes(uow(), segment.entity)
    return render_template(
        "segments/detail.html", segment=segment, entity=entity, bundle=bundle, records=records,
        total=total, total_exact=exact, page=page, has_next=page * PAGE < total,
        columns=list_columns(entity) if entity else [], can_change=can_change(who, segment),
        export_columns=export_choices(entity) if entity else [],
        can_act=who.has(*RECORD_WRITERS), can_assign=who.has("head_of_sales", "admin"), users=users,
        tag_fields=tag_fields, processes=processes, kinds=KINDS, errors=_edit_errors(errors or {}), form=form or {},
        action_errors=action_errors or {},
        filter_text=json.dumps(segment.filter, ensure_ascii=False, indent=2)), status


def _edit_errors(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    """Errors of the edit form by box: name, description, filter (messages prefixed by their JSON path), ""."""
    boxes: dict[str, list[str]] = {}
    for key, messages in errors.items():
        if key in ("name", "description", "filter"):
            boxes.setdefault(key, []).extend(messages)
        elif key.startswith("filter."):
            boxes.setdefault("filter", []).extend(f"{key.removeprefix('filter.')}: {m}" for m in messages)
        else:
            boxes.setdefault("", []).extend(f"{key}: {m}" if key else m for m in messages)
    return boxes


@bp.get("/<int:segment_id>")
@login_required
def detail(segment_id: int) -> Any:
    """One segment with its records."""
    return render_segment(segment_id)


@bp.post("")
@login_required
def save() -> Any:
    """Save a filter as a segment (from the builder); mistakes come back on the builder page."""
    require(actor(), *SEGMENT_WRITERS, action="save segments")
    entity = request.form.get("entity", "")
    try:
        data = read_filter(request.form.get("filter", ""), entity)
        segment = create_segment(uow(), actor(), entity, request.form.get("name", ""), data, now(),
                                 description=request.form.get("description", ""))
    except ValidationError as exc:
        return _builder_again(entity, localized_errors(exc.errors))
    flash(t("segments.saved", name=segment.name), "success")
    return redirect(url_for("segments.detail", segment_id=segment.id))


def _builder_again(entity: str, errors: dict[str, list[str]]) -> tuple[str, int]:
    from web.blueprints.find import builder_schema, entity_or_404

    bundle = bundle_of(uow())
    found = entity_or_404(bundle, entity)
    filter_errors = {k.removeprefix("filter").lstrip("."): v for k, v in errors.items() if k.startswith("filter")}
    other = {k: v for k, v in errors.items() if not k.startswith("filter")}
    return render_template(
        "find/builder.html", entity=found, bundle=bundle, schema=builder_schema(bundle, found),
        filter_text=request.form.get("filter", ""), errors=filter_errors, save_errors=other,
        save_form=request.form, records=[], total=0, page=1, has_next=False, columns=list_columns(found),
        can_save=True, searched=False), 422


@bp.post("/<int:segment_id>")
@login_required
def update(segment_id: int) -> Any:
    """Change a segment's name, description or filter."""
    segment = get_segment(uow(), actor(), segment_id)
    try:
        data = read_filter(request.form.get("filter", ""), segment.entity)
        update_segment(uow(), actor(), segment_id, now(), name=request.form.get("name", ""), filter=data,
                       description=request.form.get("description", ""))
    except ValidationError as exc:
        return render_segment(segment_id, errors=localized_errors(exc.errors), form=dict(request.form), status=422)
    flash(t("segments.updated_flash"), "success")
    return redirect(url_for("segments.detail", segment_id=segment_id))


@bp.post("/<int:segment_id>/delete")
@login_required
def delete(segment_id: int) -> Any:
    """Remove a segment (the form confirms with confirm=yes; without it: 422, nothing removed)."""
    segment = get_segment(uow(), actor(), segment_id)
    require(actor(), *SEGMENT_WRITERS, action="change segments")
    if not can_change(actor(), segment):
        raise Forbidden(f"{actor().username} may not change segment {segment.name!r} of {segment.created_by}")
    if request.form.get("confirm") != "yes":
        return render_segment(segment_id, errors={"": [t("segments.confirm_delete")]}, status=422)
    delete_segment(uow(), actor(), segment_id)
    flash(t("segments.deleted", name=segment.name), "success")
    return redirect(url_for("segments.index"))


def _posted_action(segment: SegmentView) -> MassAction:
    """The mass action of the posted form; `set` values are read as the field's type."""
    form = request.form
    kind = form.get("action", "")
    data: dict[str, Any] = {"action": kind}
    if kind == "assign":
        data["to"] = form.get("to", "")
    elif kind in ("tag", "untag"):
        data |= {"code": form.get("code", ""), "field": form.get("field") or None}
    elif kind == "set":
        name = form.get("field", "")
        raw: Any = form.get("value", "")
        entity = bundle_of(uow()).entities.get(segment.entity)
        if entity is not None and name in entity.fields:
            if entity.fields[name].type == "multi_enum":
                raw = [c.strip() for c in str(raw).split(",") if c.strip()]
            raw = record_values(entity_json_schema(entity, bundle_of(uow())), {name: raw})[name]
        data |= {"field": name, "value": raw}
    elif kind == "start":
        data["process"] = form.get("process", "")
    return parse_action(data)


@bp.post("/<int:segment_id>/actions")
@login_required
def act(segment_id: int) -> Any:
    """A mass action: first a confirmation with the number of records, then (confirm=yes) the change itself."""
    who = actor()
    require(who, *RECORD_WRITERS, action="change records")
    segment = get_segment(uow(), who, segment_id)
    try:
        action = _posted_action(segment)
        if action.kind == "assign":
            require(who, "head_of_sales", "admin", action="assign owners")
        if request.form.get("confirm") != "yes":
            count = count_records(uow(), who, segment.filter, now())
            bundle = bundle_of(uow())
            return render_template("segments/confirm.html", segment=segment, action=action, count=count,
                                   form=request.form, bundle=bundle, entity=bundle.entities.get(segment.entity))
        summary = run_segment_action(uow(), who, segment_id, action, now())
    except ValidationError as exc:
        return render_segment(segment_id, action_errors=localized_errors(exc.errors), form=dict(request.form),
                              status=422)
    flash(t("segments.action_done", records=summary.records, changed=summary.changed, skipped=summary.skipped),
          "success")
    return redirect(url_for("segments.detail", segment_id=segment_id))


@bp.get("/<int:segment_id>/export.<fmt>")
@login_required
def export(segment_id: int, fmt: str) -> Any:
    """The segment's records as CSV or XLSX (?columns=a,b)."""
    segment = get_segment(uow(), actor(), segment_id)
    name = "".join(c if (c.isascii() and c.isalnum()) or c in "-_" else "-" for c in segment.name.lower())
    return export_response(fmt, segment.filter, name.strip("-") or f"segment-{segment_id}")
