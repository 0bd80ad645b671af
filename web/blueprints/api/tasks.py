"""API: the task inbox — list, read with form schema, claim, unclaim, complete."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from flask import Response, request

from engine.errors import ValidationError
from engine.filters.values import BadValue, coerce_value
from engine.services import task_pages, tasks
from engine.services.views import TaskView
from web import now, uow
from web.blueprints.api.base import actor, bp, json_body, page, reply
from web.present import task_title


def _in_language(task: TaskView) -> TaskView:
    """The task with its title in the reader's language (Accept-Language, else their locale)."""
    return replace(task, title=task_title(task))


def _task_filter() -> tasks.TaskFilter:
    """The sort and filters of the query string (the inbox page's columns); bad values are a 422 naming them."""
    args = request.args
    errors: dict[str, list[str]] = {}
    moments: dict[str, datetime | None] = {}
    for name in ("due_from", "due_before"):
        try:
            moments[name] = coerce_value("datetime", args[name]) if args.get(name) else None
        except BadValue as exc:
            errors[name] = [str(exc)]
    direction = args.get("dir", "asc")
    if direction not in ("asc", "desc"):
        errors["dir"] = ["must be one of: asc, desc"]
    if errors:
        raise ValidationError(errors)
    return tasks.TaskFilter(args.get("sort") or None, direction == "desc", args.get("task", ""), (),
                            args.get("record", ""), args.get("assignee", ""), args.get("process", ""),
                            moments["due_from"], moments["due_before"])


@bp.get("/tasks")
def list_tasks() -> Response:
    """Open tasks of a scope: mine (default), pool, overdue, team, all; sorted and filtered like the inbox; paged
    by keyset (`after` / `before` a task id: `next_after` and `prev_before` of a reply) or by offset."""
    limit, offset = page()
    scope = request.args.get("scope", "mine")
    after, before = request.args.get("after") or None, request.args.get("before") or None
    # one row more than asked says whether a page lies beyond (before the first row, when read backwards)
    items = tasks.list_tasks(uow(), actor(), scope, limit=limit + 1, offset=offset, now=now(), flt=_task_filter(),
                             after=after, before=before)
    listed = task_pages.around(items, limit, after, before)
    return reply({"items": [_in_language(t) for t in listed.tasks], "scope": scope, "limit": limit,
                  "offset": offset, "after": after, "before": before, "next_after": listed.next_after,
                  "prev_before": listed.prev_before})


@bp.get("/tasks/<task_id>")
def get_task(task_id: str) -> Response:
    """One task with its resolved form JSON Schema, UI hints and pre-filled values."""
    detail = tasks.get_task(uow(), actor(), task_id)
    return reply(replace(detail, task=_in_language(detail.task)))


@bp.post("/tasks/<task_id>/claim")
def claim_task(task_id: str) -> Response:
    """Take a task from the pool; a lost race is 409."""
    return reply(_in_language(tasks.claim_task(uow(), actor(), task_id, now())))


@bp.post("/tasks/<task_id>/unclaim")
def unclaim_task(task_id: str) -> Response:
    """Give a claimed task back to its pool."""
    return reply(_in_language(tasks.unclaim_task(uow(), actor(), task_id, now())))


@bp.post("/tasks/<task_id>/complete")
def complete_task(task_id: str) -> Response:
    """Submit the task's form (the JSON body) and move the process on."""
    return reply(_in_language(tasks.complete_task(uow(), actor(), task_id, json_body(), now())))
