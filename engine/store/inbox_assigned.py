"""A page of the open tasks of a few assignees (the Mine and Team tabs) in the inbox's own order — tasks without a
due time last, then due time, creation, id — from the start or an offset, read through the (assignee, state, due,
created) index a bounded number of entries per assignee, in one statement whose shape does not depend on how many
assignees there are.

No index holds that order across assignees (nor, on SQLite, `due_at IS NULL` first), so the select over their
tasks read every open task of the team and sorted it (a team of 13 at 100,000 tasks: 5,234 index entries; SQLite
also looked each one up in the table and sorted them in a temporary B-tree, Mine too). Here each part of the order
— the dated tasks by due time, the undated ones by creation — is cut first: per assignee, an index probe finds the
value of its L-th task (L = offset + limit); the smallest of those bounds the part, since that assignee alone has L
tasks up to it. The part is then each assignee's index range up to that bound: at most L entries per assignee and
the ties of the bound. The undated part is read only when the dated one has fewer than L tasks. One part per
member as separate scans was tried before and cost more to plan (inbox_segments.SEGMENTED_TABS).

Keyset pages ("Next →") keep the select over the assignees' tasks: ranged by a cursor's due time (a bound it cannot
see), PostgreSQL read the (state, due) index for them, every assignee's tasks in the range (12,308 rows for a page
of 50 at 100,000 tasks, against 5,291 for the whole team)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Select, bindparam, func, select, union_all
from sqlalchemy.orm import aliased

from engine.store.inbox_query import TIE, order_by
from engine.store.models import TaskRow, UserRow

# the columns the page's order reads, carried from the index (PostgreSQL: INCLUDE id; SQLite: a table lookup each)
_CARRIED = (TaskRow.id, TaskRow.due_at, TaskRow.created_at)


def _part(undated: bool) -> Select[Any]:
    """The dated (by due time) or undated (by creation) open tasks of the assignees bound as user_ids, up to the
    smallest of the assignees' L-th values."""
    column = TaskRow.created_at if undated else TaskRow.due_at
    dated = TaskRow.due_at.is_(None) if undated else TaskRow.due_at.is_not(None)
    member = aliased(UserRow)
    probe = (
        select(column)
        .where(TaskRow.assignee_id == member.id, TaskRow.state == "open", dated)
        .order_by(TaskRow.assignee_id, TaskRow.state, *([TaskRow.due_at] if undated else []), column)
        .limit(1)
        .offset(bindparam("head_last", type_=BigInteger))
        .scalar_subquery()
    )
    ids: Any = bindparam("user_ids", expanding=True)
    bound = select(func.min(probe)).where(member.id.in_(ids)).scalar_subquery()
    # no bound (every assignee has fewer than L): the whole part, fewer than L a member
    limit = func.coalesce(bound, bindparam("latest", type_=TaskRow.due_at.type))
    return select(*_CARRIED).where(TaskRow.assignee_id.in_(ids), TaskRow.state == "open", dated, column <= limit)


def assigned_page() -> Select[tuple[TaskRow]]:
    """A page of the open tasks of the assignees bound as user_ids in the inbox's own order (TIE), from offset
    (limit; head_limit = limit + offset, head_last = head_limit - 1), read as the module's docstring says."""
    dated, undated = _part(False), _part(True)
    head = bindparam("head_limit", type_=BigInteger)
    enough = select(func.count()).select_from(dated.limit(head).subquery()).scalar_subquery()
    read = union_all(dated, undated.where(enough < head)).subquery()
    page = (
        select(*read.c)
        .order_by(*order_by([(value(read.c), desc) for value, desc in TIE]))
        .limit(bindparam("limit", type_=BigInteger))
        .offset(bindparam("offset", type_=BigInteger))
        .subquery()
    )
    ordered = order_by([(value(page.c), desc) for value, desc in TIE])
    return select(TaskRow).join(page, page.c.id == TaskRow.id).order_by(*ordered)


def assigned_params(limit: int, offset: int) -> dict[str, Any]:
    """The bound values `assigned_page` needs besides the assignees and the page."""
    return {"head_limit": limit + offset, "head_last": max(limit + offset - 1, 0)}
