"""The Team tab sorted or filtered (docs/lists.md): its page is cut from narrow rows before any task is read whole.

The select over the team's tasks (`inbox_query.page_select`) read every open task of the team from the table — a
few thousand at 100,000 tasks — and worked out each one's sort key by a subquery per row: the record's title from
the record, the assignee's display name from the users, the process name through the instance and its version; a
record-title filter looked up each task's record, a process filter each task's instance and version. Here the page's
ids are cut first from the columns the task's indexes hold (PostgreSQL: INCLUDE), with the copies the task carries
(its record's title, its process version) and the assignee's and version's rows joined once, not asked per row;
only the page's tasks are then read and ordered by the same keys as the whole-tab select. Per-member index scans
were tried before and cost more to plan (inbox_segments.SEGMENTED_TABS)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Select, String, bindparam, select
from sqlalchemy.orm import aliased

from engine.store.inbox_query import (
    TIE,
    SortKey,
    _tab,
    beyond,
    filter_conditions,
    order_by,
    process_label,
    sort_keys,
)
from engine.store.models import ProcessVersionRow, TaskRow, UserRow


def team_page(groups: int, sort: str | None, descending: bool, given: tuple[str, ...],
              labels: tuple[int, int, int] = (0, 0, 0), paging: str | None = None) -> Select[tuple[TaskRow]]:
    """A page of the open tasks of the assignees bound as user_ids in `sort`'s order under the filters `given`:
    from the start (limit, offset) or after / before the task bound as `cursor` (keyset, `paging`)."""
    keys = sort_keys(sort, descending, labels, copied=True)  # per task: the page's few rows and the cursor
    person, version = aliased(UserRow), aliased(ProcessVersionRow)
    joined: list[SortKey] = keys
    narrowed = filter_conditions(tuple(name for name in given if name != "process"), copied=True)
    if "process" in given:  # the task's copy of its process version (migration 0024), not its instance's per row
        process = bindparam("f_process", type_=String)
        narrowed.append(TaskRow.process_version_id.in_(select(ProcessVersionRow.id).where(
            ProcessVersionRow.process_id == process)))
    if "record" in given:  # no task without a record matches; and SQLite then reads the (…, record title, …)
        # index, checking the title there before it reads the task (it took another index and read every task)
        narrowed.append(TaskRow.record_title.is_not(None))
    stmt = select(TaskRow.id).where(*_tab("team", groups, "user_ids"), *narrowed)
    if sort in ("assignee", "process"):  # the one row a key reads, joined (the same value as its subquery)
        if sort == "assignee":
            stmt = stmt.outerjoin(person, person.id == TaskRow.assignee_id)
            named: Any = person.display_name
        else:
            stmt = stmt.outerjoin(version, version.id == TaskRow.process_version_id)
            named = process_label(version, labels[2])
        joined = [(lambda _t: named.is_(None), False), (lambda _t: named, descending), *TIE]
    backward = paging == "before"
    if paging is not None:
        cursor = aliased(TaskRow)
        cursor_id = bindparam("cursor", type_=String)
        stmt = stmt.where(beyond([
            (mine(TaskRow), select(value(cursor)).where(cursor.id == cursor_id).scalar_subquery(), desc)
            for (mine, _), (value, desc) in zip(joined, keys, strict=True)
        ], backward))
    page = (stmt.order_by(*order_by([(value(TaskRow), desc) for value, desc in joined], backward))
            .limit(bindparam("limit", type_=BigInteger)).offset(bindparam("offset", type_=BigInteger)).subquery())
    return (select(TaskRow).join(page, page.c.id == TaskRow.id)
            .order_by(*order_by([(value(TaskRow), desc) for value, desc in keys], backward)))
