"""The inbox table's rows worked out in one pass per page (issue 12 item 4): a row's texts — its task's and
process's names, its dates in the reader's zone, its links, its candidates, the action it offers — are made in
Python with the request's language, labels, zone and routes looked up once per page, and the template writes them
out. Looked up per cell inside the template (filters, global functions, attribute lookups, `replace` on a route
per link) they were the largest part of the page's Python."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

from flask import url_for
from markupsafe import Markup

from engine.services.views import TaskView
from web.i18n import get_locale
from web.people import person
from web.present import format_datetime, process_labels, role_label, task_process_label, task_title
from web.zones import user_zone

CLAIMS = ("pool", "overdue")  # tabs whose unassigned tasks can be claimed from the row
UNCLAIMS = ("mine", "team", "overdue")  # tabs whose assigned tasks (of a pool) can be given back from the row
MARK = "~id~"  # stands for a task's id in a route built once per page


class InboxRow(NamedTuple):
    """One task as the inbox table shows it (the template unpacks it: no attribute lookup per cell)."""

    css: str  # the row's class: "overdue" or ""
    late: bool
    task_id: str
    task_href: str
    title: str
    record_href: str  # "" when the task names no record
    record_title: str | None
    due: str  # the due moment in the reader's zone; "" when the task has none
    process: str
    assignee: str | None
    assignee_shown: str | None  # the assignee's display name, else the login
    created: str
    badges: tuple[str | Markup, ...]  # the candidate groups by their labels, then the candidate users
    action: str  # "claim", "unclaim" or ""
    action_href: str


def inbox_rows(tasks: Iterable[TaskView], tab: str, now: datetime) -> list[InboxRow]:
    """The rows of a page of tasks on `tab` at `now`."""
    labels, locale, zone = process_labels(), get_locale(), user_zone()
    task_href, claim_href, unclaim_href = (
        url_for(f"inbox.{view}", task_id=MARK) for view in ("task", "claim", "unclaim")
    )
    record_href = url_for("records.card", record_id=0)[:-1]
    groups: dict[str, str] = {}
    rows = []
    for task in tasks:
        late = task.overdue(now)
        badges: list[str | Markup] = []
        for group in task.candidate_groups:
            if group not in groups:
                groups[group] = role_label(group)
            badges.append(groups[group])
        badges += [person(user) for user in task.candidate_users]
        if tab in CLAIMS and not task.assignee:
            action, action_href = "claim", claim_href.replace(MARK, task.id)
        elif tab in UNCLAIMS and task.assignee and badges:
            action, action_href = "unclaim", unclaim_href.replace(MARK, task.id)
        else:
            action, action_href = "", ""
        rows.append(
            InboxRow(
                "overdue" if late else "",
                late,
                task.id,
                task_href.replace(MARK, task.id),
                task_title(task, labels, locale),
                f"{record_href}{task.record_id}" if task.record_id else "",
                task.record_title,
                format_datetime(task.due_at, zone) if task.due_at else "",
                task_process_label(task, task.process, labels, locale) if task.process else "—",
                task.assignee,
                task.assignee_name or task.assignee,
                format_datetime(task.created_at, zone),
                tuple(badges),
                action,
                action_href,
            )
        )
    return rows
