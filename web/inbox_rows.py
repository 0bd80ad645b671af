"""The inbox table's rows worked out and written in one pass per page (issue 12 item 4): a row's texts — its
task's and process's names, its dates in the reader's zone, its links, its candidates, the action it offers — are
made in Python with the request's language, labels, zone, words and routes looked up once per page. Looked up per
cell inside the template (filters, global functions, attribute lookups, `replace` on a route per link) they were
the largest part of the page's Python; written out by the template, a row's cells still cost an escape call (a
Markup made) and a generator step each, about a thousand a page and a third of a plain page's CPU. Each row is
now one piece of HTML, its values escaped here with the same entities, in the bytes the template wrote
(tests/web/test_page_floor.py compares them with a template that looks up every cell)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from flask import url_for
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape

from engine.services.views import TaskView
from web.i18n import get_locale, t
from web.people import person
from web.present import format_datetime, process_labels, role_label, task_process_label, task_title
from web.zones import user_zone

CLAIMS = ("pool", "overdue")  # tabs whose unassigned tasks can be claimed from the row
UNCLAIMS = ("mine", "team", "overdue")  # tabs whose assigned tasks (of a pool) can be given back from the row
MARK = "~id~"  # stands for a task's id in a route built once per page


def _h(value: Any) -> str:
    """`value` escaped as the template's autoescape escaped it (the same five characters, the same entities); HTML
    (a person with a tooltip) as it is."""
    if type(value) is str:  # nearly every value: no isinstance chain
        return (
            value.replace("&", "&amp;")
            .replace("<", "&lt;")
            .replace(">", "&gt;")
            .replace('"', "&#34;")
            .replace("'", "&#39;")
        )
    if isinstance(value, Markup):
        return str(value)
    return str(escape(value))


def inbox_rows(tasks: Iterable[TaskView], tab: str, now: datetime, select: bool = False) -> list[Markup]:
    """The rows of a page of tasks on `tab` at `now`, each as its HTML (`select`: with the reassign checkbox)."""
    labels, locale, zone = process_labels(), get_locale(), user_zone()
    task_href, claim_href, unclaim_href = (
        url_for(f"inbox.{view}", task_id=MARK) for view in ("task", "claim", "unclaim")
    )
    record_href = url_for("records.card", record_id=0)[:-1]
    w_select, w_overdue, w_claim, w_unclaim, w_open = (
        _h(t(k)) for k in ("assignment.select", "inbox.overdue", "inbox.claim", "inbox.unclaim", "inbox.open")
    )
    csrf, on_tab, tab_href = _h(generate_csrf()), _h(tab), _h(url_for("inbox.tasks", tab=tab))
    late_badge = f' <span class="badge danger">{w_overdue}</span>'
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
        task_id, title, href = _h(task.id), _h(task_title(task, labels, locale)), _h(task_href.replace(MARK, task.id))
        if tab in CLAIMS and not task.assignee:
            action = CLAIM.format(_h(claim_href.replace(MARK, task.id)), csrf, on_tab, w_claim)
        elif tab in UNCLAIMS and task.assignee and badges:
            action = UNCLAIM.format(_h(unclaim_href.replace(MARK, task.id)), csrf, on_tab, tab_href, w_unclaim)
        else:
            action = ""
        if task.due_at:
            due = (
                f'<span class="due{" late" if late else ""}">{_h(format_datetime(task.due_at, zone))}</span>'
                f"{late_badge if late else ''}"
            )
        else:
            due = "—"
        process = task_process_label(task, task.process, labels, locale) if task.process else "—"
        shown = (
            f'<span class="person" title="{_h(task.assignee)}">{_h(task.assignee_name or task.assignee)}</span>'
            if task.assignee
            else "—"
        )
        html = ROW.format(
            "overdue" if late else "",
            SELECT.format(task_id, w_select, title) if select else "",
            href,
            title,
            f'<a href="{_h(record_href)}{_h(task.record_id)}">{_h(task.record_title)}</a>' if task.record_id else "—",
            due,
            _h(process),
            shown,
            _h(format_datetime(task.created_at, zone)),
            "".join([f'<span class="badge">{_h(b)}</span> ' for b in badges]) if badges else "—",
            action,
            w_open,
        )
        rows.append(Markup(html))  # noqa: S704 - every value in it is escaped above
    return rows


# One row as web/templates/inbox/list.html wrote it cell by cell, its whitespace included (the fields, in order:
# the row's class, the checkbox cell, the task's link and name, the record, due, process, assignee, created and
# candidates cells, the action's form, the word "open").
ROW = (
    "\n      "
    + """
      <tr class="{0}">
        {1}
        <td><a class="strong" href="{2}">{3}</a></td>
        <td class="name">{4}</td>
        <td class="when">{5}</td>
        <td>{6}</td>
        <td>{7}</td>
        <td class="when">{8}</td>
        <td>{9}</td>
        <td class="actions">
          {10}
          <a class="button small" href="{2}">{11}</a>
        </td>
      </tr>
    """
)
SELECT = (
    '<td class="select"><input type="checkbox" name="task_ids" value="{}" form="reassign-form" '
    'aria-label="{}: {}"></td>'
)
CLAIM = """
            <form method="post" action="{0}" class="inline">
              <input type="hidden" name="csrf_token" value="{1}">
              <input type="hidden" name="tab" value="{2}">
              <button type="submit" class="small primary">{3}</button>
            </form>
          """
UNCLAIM = """
            <form method="post" action="{0}" class="inline">
              <input type="hidden" name="csrf_token" value="{1}">
              <input type="hidden" name="tab" value="{2}">
              <input type="hidden" name="next" value="{3}">
              <button type="submit" class="small">{4}</button>
            </form>
          """
