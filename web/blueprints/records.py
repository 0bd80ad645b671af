"""Records of the configured entities: list, create, the record card with edit form and history."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, flash, jsonify, redirect, render_template, request, url_for

from engine.config.model import Bundle, Entity
from engine.errors import ConflictError, Forbidden, MergedRecord, NotFound, ValidationError
from engine.records.schema import entity_json_schema
from engine.services.access import RECORD_WRITERS, WORKERS, reads_everything, require
from engine.services.card_log import log_on_record
from engine.services.finding import find_after
from engine.services.instances import instances_for_record
from engine.services.links import link_kinds, link_records, record_links, unlink_records
from engine.services.list_settings import choose_columns, chosen_columns
from engine.services.mail import record_emails
from engine.services.records import create_record, get_record, record_history_page, update_record
from engine.services.tasks import record_tasks
from engine.services.titles import reference_choices
from engine.services.views import RecordView
from web import now, uow
from web.auth import actor, login_required
from web.card_parts import entry_title, kind_label, log_panels, log_schema, timeline_part
from web.edge import id_arg
from web.forms_render import Widget, build_widgets, record_values, submitted_values, unplaced_errors
from web.i18n import engine_message, get_locale, t
from web.lists import build_columns, default_columns, offered_columns, place_errors, read_query
from web.people import expect_changes, expect_people
from web.present import bundle_of, catalog_value_label, field_label, reference_values, remember_titles

bp = Blueprint("records", __name__, url_prefix="/records")
PAGE = 25


def _entity(bundle: Bundle, name: str) -> Entity:
    entity = bundle.entities.get(name)
    if entity is None:
        raise NotFound(f"unknown entity {name!r}")
    return entity


def list_columns(entity: Entity) -> list[str]:
    """Columns of filter results and of a list whose user has not chosen (see web/lists.py)."""
    return default_columns(entity)


def _widgets(bundle: Bundle, entity: Entity, values: dict[str, Any],
             errors: dict[str, list[str]]) -> tuple[list[Widget], list[str]]:
    schema = entity_json_schema(entity, bundle)
    widgets = build_widgets(schema, {}, values, errors, locale=get_locale(), currency=bundle.settings.currency,
                            titles=remember_titles(reference_values(entity, values)))
    for widget in widgets:  # values of a catalog tree read as paths: "Active › Periodic"
        catalog = bundle.catalogs.get(entity.fields[widget.name].catalog or "")
        if catalog is not None and any(v.parent for v in catalog.values):
            for option in widget.options:
                option.label = catalog_value_label(catalog, option.value)
    return widgets, unplaced_errors(errors, widgets, get_locale())


def _posted(bundle: Bundle, entity: Entity) -> tuple[dict[str, Any], dict[str, Any]]:
    """(what was posted, as strings, for re-display; the same as record JSON values)."""
    schema = entity_json_schema(entity, bundle)
    raw = submitted_values(schema, {}, request.form)
    return raw, record_values(schema, raw)


@bp.get("/<entity>")
@login_required
def index(entity: str) -> tuple[str, int]:
    """One page of an entity's records the actor may see: sorted by a column, filtered by column boxes, with the
    columns the user chose, keyset pages (?after=<last id>) and the total (estimated beyond a cap)."""
    who = actor()
    bundle = bundle_of(uow())
    found = _entity(bundle, entity)
    offered = offered_columns(found)
    chosen = chosen_columns(uow(), who, list_key(found), offered)
    columns = build_columns(bundle, found, chosen if chosen is not None else default_columns(found))
    query = read_query(found, columns, request.args)
    after = id_arg("after")
    errors: list[str] = list(query.problems)
    records: list[RecordView] = []
    total, exact, next_after = 0, True, None
    try:
        page = find_after(uow(), who, query.document, now(), after=after, limit=PAGE)
        records, total, exact, next_after = page.items, page.total, page.exact, page.next_after
    except ValidationError as exc:
        errors += [engine_message(m) for m in place_errors(query, exc.errors)]
    shown = {c.name for c in columns}
    return render_template("records/list.html", entity=found, bundle=bundle, records=records, columns=columns,
                           query=query, total=total, total_exact=exact, after=after, next_after=next_after,
                           errors=errors, offered=[(n, field_label(found, n), n in shown) for n in offered],
                           can_create=who.has(*RECORD_WRITERS)), 422 if errors or any(
                               c.errors for c in columns) else 200


def list_key(entity: Entity) -> str:
    """The name under which a user's columns of this entity's list are saved."""
    return f"records:{entity.name}"


@bp.post("/<entity>/columns")
@login_required
def save_columns(entity: str) -> Any:
    """Save the columns the user ticked for this entity's list (none ticked: back to the default columns); a view
    setting of the user's own, so whoever may read the list may choose (auditors too)."""
    who = actor()
    if not (reads_everything(who) or who.has(*WORKERS)):
        raise Forbidden(f"{who.username} may not read records")
    bundle = bundle_of(uow())
    found = _entity(bundle, entity)
    try:
        choose_columns(uow(), who, list_key(found), request.form.getlist("columns"),
                       offered_columns(found), now())
    except ValidationError as exc:
        for messages in exc.errors.values():
            for message in messages:
                flash(engine_message(message), "error")
    else:
        flash(t("lists.columns_saved"), "success")
    return redirect(url_for("records.index", entity=found.name))


@bp.route("/<entity>/new", methods=["GET", "POST"])
@login_required
def new(entity: str) -> Any:
    """The create form of an entity; bad input comes back with per-field messages (422)."""
    require(actor(), *RECORD_WRITERS, action="create records")
    bundle = bundle_of(uow())
    found = _entity(bundle, entity)
    values: dict[str, Any] = {n: f.default for n, f in found.fields.items() if f.default is not None}
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        raw, data = _posted(bundle, found)
        try:
            created = create_record(uow(), actor(), found.name, {k: v for k, v in data.items()
                                                                 if v not in (None, [])}, now())
        except ValidationError as exc:
            values, errors, status = raw, exc.errors, 422
        else:
            try:
                get_record(uow(), actor(), created.id)
            except NotFound:  # a rule gave it to someone whose records this user does not see
                flash(t("records.created_for", title=created.title, owner=created.owner or "—"), "success")
                return redirect(url_for("records.index", entity=found.name))
            flash(t("records.created", title=created.title), "success")
            return redirect(url_for("records.card", record_id=created.id))
    widgets, form_errors = _widgets(bundle, found, values, errors)
    return render_template("records/new.html", entity=found, widgets=widgets, form_errors=form_errors), status


def render_card(record: RecordView, values: dict[str, Any] | None = None,
                errors: dict[str, list[str]] | None = None, status: int = 200,
                link_errors: list[str] | None = None, link_form: dict[str, str] | None = None,
                refused_log: tuple[str, dict[str, Any], dict[str, list[str]]] | None = None) -> tuple[str, int]:
    """The record card: fields, edit form, log forms, timeline, links, e-mails, field history, processes, tasks."""
    who = actor()
    bundle = bundle_of(uow())
    entity = _entity(bundle, record.entity)
    remember_titles(reference_values(entity, record.data))
    can_edit = who.has(*RECORD_WRITERS) and record.merged_into_id is None  # a merged record is read-only
    widgets, form_errors = _widgets(bundle, entity, values if values is not None else record.data, errors or {}) \
        if can_edit else ([], [])
    try:
        history = record_history_page(uow(), who, record.id, before=_history_before())
    except ValidationError as exc:  # the service names its argument `before`; the card's link names it so
        raise ValidationError({"history_before": exc.errors.get("before", [])}) from exc
    remember_titles([i for c in history.items if c.field.startswith("link:") for i in (c.old_value, c.new_value)]
                    + [c.origin_id for c in history.items])
    can_log = who.has(*RECORD_WRITERS) and record.merged_into_id is None
    instances, tasks = instances_for_record(uow(), who, record.id), record_tasks(uow(), who, record.id)
    expect_changes(history.items)  # the page's people named in one statement
    expect_people([*(i.started_by for i in instances), *(n for x in tasks for n in (x.assignee, x.completed_by))])
    return render_template("records/card.html", record=record, entity=entity, bundle=bundle, widgets=widgets,
                           log_panels=log_panels(bundle, record, refused_log) if can_log else [],
                           **timeline_part(bundle, record), timeline_kind_label=kind_label, timeline_title=entry_title,
                           form_errors=form_errors, can_edit=can_edit, history=history.items,
                           history_older=history.older, history_paged=request.args.get("history_before") is not None,
                           instances=instances,
                           tasks=tasks, open_edit=bool(errors),
                           links=record_links(uow(), who, record.id), link_kinds=link_kinds(bundle),
                           link_errors=link_errors or [], link_form=link_form or {},
                           emails=record_emails(uow(), who, record.id)), status


def _history_before() -> int | None:
    """The `history_before` query parameter: the last change of the history page seen before."""
    raw = request.args.get("history_before", "")
    if not raw:
        return None
    if not raw.isdigit():
        raise ValidationError({"history_before": [f"must be the number of a change, not {raw!r}"]})
    return int(raw)


def merged_message(exc: MergedRecord) -> str:
    """The refusal to change a merged record, in the user's language."""
    return t("records.merged_readonly", id=exc.record_id, survivor=exc.merged_into_id)


def changed_fields(posted: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """The posted values that differ from the record (an empty box or unticked checkbox equals no value)."""
    def blank(value: Any) -> bool:
        return value is None or value == [] or value is False

    return {k: v for k, v in posted.items()
            if v != current.get(k) and not (blank(v) and current.get(k) is None)}


@bp.get("/<int:record_id>")
@login_required
def card(record_id: int) -> tuple[str, int]:
    """One record."""
    return render_card(get_record(uow(), actor(), record_id))


@bp.post("/<int:record_id>")
@login_required
def edit(record_id: int) -> Any:
    """Save the edit form; a stale revision (someone saved meanwhile) is a 409 with the fresh record."""
    who = actor()
    require(who, *RECORD_WRITERS, action="change records")
    record = get_record(uow(), who, record_id)
    bundle = bundle_of(uow())
    raw, data = _posted(bundle, _entity(bundle, record.entity))
    changes = changed_fields(data, record.data)
    revision = request.form.get("expected_revision", type=int)
    if not changes:
        flash(t("records.unchanged"), "info")
        return redirect(url_for("records.card", record_id=record_id))
    try:
        saved = update_record(uow(), who, record_id, changes, now(), expected_revision=revision)
    except ValidationError as exc:
        return render_card(record, raw, exc.errors, status=422)
    except MergedRecord as exc:
        flash(merged_message(exc), "error")
        return render_card(record, status=409)
    except ConflictError:
        flash(t("records.stale"), "error")
        return render_card(get_record(uow(), who, record_id), status=409)
    flash(t("records.saved", title=saved.title), "success")
    return redirect(url_for("records.card", record_id=record_id))



@bp.post("/<int:record_id>/links")
@login_required
def add_link(record_id: int) -> Any:
    """Link this record to another one, chosen in the picker (or by its number); mistakes come back next to the link
    form."""
    who = actor()
    record = get_record(uow(), who, record_id)
    typed = request.form.get("to_record_text", "").strip()  # the picker's text: a "#42" typed without scripts
    form = {"to_record_id": (request.form.get("to_record_id", "").strip() or typed).lstrip("#"),
            "to_record_text": typed, "kind": request.form.get("kind", "")}
    if not form["to_record_id"].isdigit():
        require(who, *RECORD_WRITERS, action="link records")
        return render_card(record, link_errors=[t("links.bad_number")], link_form=form, status=422)
    target = int(form["to_record_id"])
    try:
        link_records(uow(), who, record_id, target, form["kind"], now())
    except ValidationError as exc:
        messages = [engine_message(m) for ms in exc.errors.values() for m in ms]
        return render_card(record, link_errors=messages, link_form=form, status=422)
    except NotFound:
        return render_card(record, link_errors=[t("links.no_record", id=target)], link_form=form, status=422)
    except MergedRecord as exc:
        if exc.record_id == record_id:  # this card has no link form to show the message next to
            flash(merged_message(exc), "error")
        return render_card(record, link_errors=[merged_message(exc)], link_form=form, status=409)
    except ConflictError:
        return render_card(record, link_errors=[t("links.exists")], link_form=form, status=409)
    flash(t("links.added"), "success")
    return redirect(url_for("records.card", record_id=record_id) + "#links")


@bp.post("/<int:record_id>/links/<int:link_id>/delete")
@login_required
def remove_link(record_id: int, link_id: int) -> Any:
    """Remove a hand-made link shown on this record's card."""
    unlink_records(uow(), actor(), link_id, now())
    flash(t("links.removed"), "success")
    return redirect(url_for("records.card", record_id=record_id) + "#links")


@bp.get("/<entity>/choices")
@login_required
def choices(entity: str) -> Response:
    """JSON for a reference picker: the records of `entity` the user may see whose title contains `q`."""
    found = reference_choices(uow(), actor(), entity, request.args.get("q", ""))
    return jsonify({"items": [{"id": i, "title": title} for i, title in found]})


@bp.post("/<int:record_id>/log/<entity>")
@login_required
def log(record_id: int, entity: str) -> Any:
    """Submit a log form of the card (log a call): the record and its next task, or the form again with messages."""
    who = actor()
    require(who, *RECORD_WRITERS, action="log on records")
    record = get_record(uow(), who, record_id)
    bundle = bundle_of(uow())
    schema = log_schema(bundle, _entity(bundle, entity))
    raw = submitted_values(schema, {}, request.form)
    try:
        logged = log_on_record(uow(), who, record_id, entity, record_values(schema, raw), now(), get_locale())
    except ValidationError as exc:
        return render_card(record, refused_log=(entity, raw, exc.errors), status=422)
    flash(t("timeline.logged", title=logged.record.title, task=logged.task_title,
            due=logged.task_due_at.strftime("%Y-%m-%d")), "success")
    return redirect(url_for("records.card", record_id=record_id) + "#timeline")
