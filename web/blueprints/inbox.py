"""The task inbox: my tasks, the pool, the team; one task with its form; claim, unclaim, complete."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from markupsafe import Markup
from werkzeug.wrappers import Response

from engine.errors import ConflictError, FlowError, Forbidden, NotFound, ValidationError
from engine.processes.deployed import active_bundle
from engine.services.access import DEPLOYERS, WORKERS, reads_everything
from engine.services.assignment import assignable_users, reassign_tasks
from engine.services.instances import get_instance
from engine.services.records import get_record
from engine.services.task_pages import around, named_in
from engine.services.tasks import (
    COUNT_CAP,
    InboxPage,
    claim_task,
    complete_task,
    get_task,
    inbox_page,
    unclaim_task,
)
from engine.services.titles import records_made_with
from engine.services.views import Actor, TaskDetail
from web import now, uow
from web.auth import actor, login_required, safe_next
from web.forms_render import build_widgets, localized, submitted_values, unplaced_errors
from web.i18n import engine_message, get_locale, t
from web.inbox_rows import inbox_rows
from web.lists import Column, inbox_columns, read_task_filter
from web.people import expect_people, know_people
from web.present import bundle_of, entity_label, process_label, remember_titles, step_label
from web.zones import user_zone

bp = Blueprint("inbox", __name__)
PAGE = 50


def tabs_for(who: Actor) -> list[str]:
    """The inbox tabs a role can use."""
    tabs = ["mine", "pool", "overdue"] if who.has(*WORKERS) else []
    if who.has("head_of_sales"):
        tabs.append("team")
    if reads_everything(who):
        tabs.append("all")
    return tabs or ["mine"]


@bp.get("/")
@login_required
def home() -> Response:
    """Everyone starts at the inbox, except designers who have no tasks."""
    who = actor()
    if who.has(*DEPLOYERS) and not who.has(*WORKERS) and not reads_everything(who):
        return redirect(url_for("designer.index"))
    return redirect(url_for("inbox.tasks"))


def _processes() -> list[tuple[str, str]]:
    """The deployed processes as (id, name in the request's language), by name."""
    definitions = active_bundle(uow())[1].values()
    return sorted(((d.process_id, process_label(d.process_id, d.name)) for d in definitions), key=lambda p: p[1])


def _elements_named(text: str) -> tuple[str, ...]:
    """Ids of the process elements whose name in the request's language contains `text` (the page shows
    translated task names, so the task filter matches them too)."""
    wanted = text.casefold()
    return tuple(sorted({e.id for d in active_bundle(uow())[1].values() for e in d.elements.values()
                         if wanted in step_label(d.process_id, e.id, e.name).casefold()}))


def _place(columns: list[Column], errors: dict[str, list[str]]) -> list[str]:
    """Put the engine's errors keyed by column next to their boxes; the rest are returned (translated)."""
    by_name, rest = {c.name: c for c in columns}, []
    for key, messages in errors.items():
        translated = [engine_message(m) for m in messages]
        if key in by_name:
            by_name[key].errors.extend(translated)
        else:
            rest.extend(translated)
    return rest


def render_inbox(tab: str | None, status: int = 200) -> tuple[str, int]:
    """The inbox page on one tab, sorted by a column and narrowed by column filters kept in the URL (also
    re-rendered, with a flash, after a lost claim race)."""
    who = actor()
    tabs = tabs_for(who)
    tab = tab if tab in tabs else tabs[0]
    after, before = request.args.get("after") or None, request.args.get("before") or None
    moment = now()
    columns = inbox_columns(_processes())
    flt, read = read_task_filter(columns, request.args, user_zone(), _elements_named)
    flt = named_in(uow(), flt, get_locale())  # sorted by the names the reader sees, in the database
    errors = list(read.problems)
    listed, reassign_to = InboxPage([], {}), []
    if not any(c.errors for c in columns):
        try:
            with uow() as work:  # the page's reads share one transaction (one connection checkout, not two)
                # first whom a head of sales may give work to: the same read tells the page who is in the team
                reassign_to = assignable_users(work, who) if tab == "team" and who.has("head_of_sales") else []
                # the tasks with their record titles, assignees and processes, and the tab counts: one statement
                listed = inbox_page(work, who, tab, moment, limit=PAGE + 1, flt=flt, after=after, before=before)
        except ValidationError as exc:
            errors += _place(columns, exc.errors)
    if status == 200 and (errors or any(c.errors for c in columns)):
        status = 422
    shown = around(listed.tasks, PAGE, after, before)
    know_people(listed.people)  # the candidate users' names came with the page
    expect_people(u for task in shown.tasks for u in task.candidate_users)  # named together, with the first asked
    kept = {k: v for k, v in request.args.items() if k not in ("tab", "page", "after", "before") and v}
    rows = inbox_rows(shown.tasks, tab, moment, select=bool(reassign_to))
    return render_template("inbox/list.html", tabs=tabs, tab=tab, rows=rows,
                           paged=bool(after or before), prev_before=shown.prev_before, next_after=shown.next_after,
                           reassign_to=reassign_to, counts=listed.counts, count_cap=COUNT_CAP, columns=columns,
                           read=read, kept=kept, errors=errors, filtered=bool(read.given)), status


@bp.get("/tasks")
@login_required
def tasks() -> tuple[str, int]:
    """My tasks, the pool, the team's tasks."""
    return render_inbox(request.args.get("tab"))


@bp.post("/tasks/reassign")
@login_required
def reassign() -> Any:
    """Give the tasks ticked on the Team tab to one member; nothing moves if any of them cannot."""
    try:
        done = reassign_tasks(uow(), actor(), request.form.getlist("task_ids"), request.form.get("to", ""), now())
    except ValidationError as exc:
        for messages in exc.errors.values():
            for message in messages:
                flash(engine_message(message), "error")
        return render_inbox("team", status=422)
    flash(t("assignment.reassigned", count=len(done.task_ids), to=", ".join(done.to)), "success")
    return redirect(url_for("inbox.tasks", tab="team"))


@bp.post("/tasks/<task_id>/claim")
@login_required
def claim(task_id: str) -> Any:
    """Take a task from the pool; losing a race shows who was faster rather than an error page."""
    try:
        claimed = claim_task(uow(), actor(), task_id, now())
    except ConflictError:
        flash(t("inbox.already_claimed"), "error")
        return render_inbox(request.form.get("tab") or "pool", status=409)
    flash(t("inbox.claimed", title=claimed.title), "success")
    return redirect(safe_next(request.form.get("next") or url_for("inbox.tasks", tab="mine")))


@bp.post("/tasks/<task_id>/unclaim")
@login_required
def unclaim(task_id: str) -> Any:
    """Give a task back to its pool."""
    try:
        task = unclaim_task(uow(), actor(), task_id, now())
    except ConflictError:
        flash(t("inbox.not_claimed"), "error")
        return render_inbox(request.form.get("tab") or "mine", status=409)
    flash(t("inbox.unclaimed", title=task.title), "success")
    return redirect(safe_next(request.form.get("next") or url_for("inbox.tasks", tab="mine")))


def render_task(detail: TaskDetail, values: dict[str, Any] | None = None,
                errors: dict[str, list[str]] | None = None, status: int = 200) -> tuple[str, int]:
    """The task page: process, record summary, the form (with what was posted and its errors)."""
    who, locale = actor(), get_locale()
    record = entity = None
    bundle = bundle_of(uow())
    if detail.task.record_id is not None:
        try:
            record = get_record(uow(), who, detail.task.record_id)
            entity = bundle.entities.get(record.entity)
        except FlowError:
            record = None
    widgets, form_errors, form_title = [], list((errors or {}).get("", [])), ""
    if detail.form_schema is not None:
        shown = values if values is not None else detail.values
        props = detail.form_schema.get("properties") or {}
        referenced = [int(v) for n, v in shown.items() if (isinstance(v, int) or str(v).isdigit())
                      and isinstance(props.get(n), dict) and props[n].get("x-field-type") == "reference"]
        widgets = build_widgets(detail.form_schema, detail.form_ui, shown, errors or {}, locale=locale,
                                currency=bundle.settings.currency, titles=remember_titles(referenced))
        form_errors = unplaced_errors(errors or {}, widgets, locale)
        form_title = localized(detail.form_schema, locale)
    return render_template("inbox/task.html", detail=detail, task=detail.task, record=record, entity=entity,
                           bundle=bundle, widgets=widgets, form_errors=form_errors, form_title=form_title,
                           now=now()), status


@bp.get("/tasks/<task_id>")
@login_required
def task(task_id: str) -> tuple[str, int]:
    """One task with its form."""
    return render_task(get_task(uow(), actor(), task_id))


def _next_steps(instance_id: int) -> list[str]:
    try:
        detail = get_instance(uow(), actor(), instance_id)
    except FlowError:
        return []
    return [f"{x.title} ({x.assignee})" if x.assignee else x.title for x in detail.tasks if x.state == "open"]


@bp.post("/tasks/<task_id>/complete")
@login_required
def complete(task_id: str) -> Any:
    """Submit the task's form; bad input comes back with messages next to the fields (422)."""
    who = actor()
    detail = get_task(uow(), who, task_id)
    schema = detail.form_schema or {}
    values = submitted_values(schema, detail.form_ui, request.form)
    try:
        done_at = now()
        done = complete_task(uow(), who, task_id, values, done_at)
    except ValidationError as exc:
        return render_task(detail, values, exc.errors, status=422)
    except ConflictError as exc:
        return render_task(get_task(uow(), who, task_id), values, {"": [str(exc)]}, status=409)
    except (NotFound, Forbidden):
        raise
    except FlowError as exc:  # a rule or script the completion set off refused: keep what was typed
        return render_task(detail, values, {"": [str(exc)]}, status=422)
    if done.record_id is not None:
        for record_id, entity, title in records_made_with(uow(), who, done.record_id, done_at):
            flash(Markup(t("inbox.record_made")).format(  # noqa: S704 - the catalog text is ours; values escaped
                entity=entity_label(bundle_of(uow()).entities[entity]),
                link=Markup('<a href="{}">{}</a>').format(url_for("records.card", record_id=record_id), title)),
                "success")
    upcoming = _next_steps(done.instance_id) if done.instance_id is not None else []
    if upcoming:
        flash(t("inbox.completed_next", title=done.title, next=", ".join(upcoming)), "success")
    else:
        flash(t("inbox.completed", title=done.title), "success")
    return redirect(url_for("inbox.tasks", tab="mine"))
