"""Sorted inbox tabs read through indexes (docs/lists.md): a tab's page in a column's order is a UNION ALL of
index range scans, each LIMITed, merged and cut to the page in one statement — never a read of the whole tab.

The page order is a list of sort keys (`inbox_query.sort_keys`). A *segment* is the tab's tasks whose leading keys
are the same constants (due date set or not; one assignee), ordered within by one indexed time column `c`
(due or creation time, in the page's direction for that key). A segment's scan reads the index from the cursor
(or its start) and stops at the page size: its L-th value of `c` is found first, then every task up to that value
is taken (ties on `c` included), which is a superset of the segment's first L tasks in the full order, whatever
direction the later keys have. The merge sorts those few rows by the full keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Select, String, and_, bindparam, func, literal, null, or_, select, true, union
from sqlalchemy.orm import aliased

from engine.store.inbox_query import SortKey, beyond, sort_keys, task_page
from engine.store.models import TaskCandidateRow, TaskRow, UserRow

SEGMENTED_SORTS = ("due", "created", "assignee")  # the sorts whose pages these scans answer
SEGMENTED_TABS = ("mine", "pool", "overdue")  # the tabs, without column filters
EARLIEST = datetime(1, 1, 1, tzinfo=UTC)  # the bound of a scan that starts at its segment's first row
LATEST = datetime(9999, 12, 31, tzinfo=UTC)


@dataclass(frozen=True)
class Segment:
    """Tasks whose first `len(fixed)` sort keys are the values `fixed` (SQL expressions, the same for every row),
    narrowed by `where`; ordered next by the sort key at `len(fixed)`, a time column of the task."""

    where: tuple[Any, ...]
    fixed: tuple[Any, ...]
    on_c: tuple[Any, ...] = ()  # ranges of the ordered column: the scan's bounds, implied for the tasks tied on it
    prefix: tuple[Any, ...] = (TaskRow.assignee_id, TaskRow.state)  # the index columns its `where` fixes


def _pooled_exists(groups: int) -> Any:
    """The task is pooled for one of the reader's candidate names (a probe of the candidate table's key)."""
    names: list[Any] = [bindparam(f"cand_{n}") for n in range(groups)]
    named = [and_(TaskCandidateRow.kind == "user", TaskCandidateRow.name == bindparam("cand_user"))]
    if names:
        named.append(and_(TaskCandidateRow.kind == "group", TaskCandidateRow.name.in_(names)))
    return (
        select(TaskCandidateRow.task_id)
        .where(TaskCandidateRow.task_id == TaskRow.id, TaskCandidateRow.pooled == true(), or_(*named))
        .exists()
    )


def _parts(tab: str, groups: int) -> list[tuple[bool, list[Any]]]:
    """The tab as disjoint parts, each one equality prefix of the task's (assignee, state, …) indexes: (assigned
    to the reader, conditions). The overdue tab's due bound is added by `_segments`."""
    mine = [TaskRow.assignee_id == bindparam("user_id"), TaskRow.state == "open"]
    pooled = [TaskRow.assignee_id.is_(None), TaskRow.state == "open", _pooled_exists(groups)]
    if tab == "mine":
        return [(True, mine)]
    if tab == "pool":
        return [(False, pooled)]
    return [(True, mine), (False, pooled)]


def _segments(tab: str, groups: int, sort: str) -> list[Segment]:
    """The segments of a tab's page in `sort`'s order (see the module's docstring)."""
    dated: list[Any] = [TaskRow.due_at.is_not(None)]
    if tab == "overdue":  # only tasks with a due time, so no segment of undated ones
        dated.append(TaskRow.due_at < bindparam("now"))
    undated = [TaskRow.due_at.is_(None)] if tab != "overdue" else None
    no_due = (TaskRow.assignee_id, TaskRow.state, TaskRow.due_at)  # undated: by creation, after the due time
    out: list[Segment] = []
    for assigned, where in _parts(tab, groups):
        if sort == "due":  # keys: due empty, due, due empty, due, created, id
            out.append(Segment(tuple(where), (literal(False),), tuple(dated)))
            if undated:
                out.append(Segment((*where, *undated), (literal(True), null(), literal(True), null()), (), no_due))
        elif sort == "created":  # keys: created empty, created, due empty, due, created, id
            # overdue: a due bound the planner cannot take for a range to scan by (the scan goes by creation)
            late = [func.coalesce(TaskRow.due_at, bindparam("latest", type_=TaskRow.due_at.type)) < bindparam("now")]
            out.append(Segment((*where, *(late if tab == "overdue" else [])), (literal(False),)))
        else:  # assignee: one name per part (the reader's, or none in the pool); then due, created, id
            name = select(UserRow.display_name).where(UserRow.id == bindparam("user_id")).scalar_subquery()
            head = (literal(False), name) if assigned else (literal(True), null())
            out.append(Segment(tuple(where), (*head, literal(False)), tuple(dated)))
            if undated:
                out.append(Segment((*where, *undated), (*head, literal(True), null()), (), no_due))
    return out


def _at_or_beyond(keys: list[SortKey], fixed: tuple[Any, ...], cursor_values: list[Any], backward: bool) -> Any:
    """The segment's fixed keys are at or beyond the cursor's in the page's order: a condition on no row (the
    database decides it once and skips the scan of a segment wholly before the cursor)."""
    triples = [(fixed[n], cursor_values[n], keys[n][1]) for n in range(len(fixed))]
    same = and_(*[mine.is_not_distinct_from(theirs) for mine, theirs, _ in triples])
    return or_(beyond(triples, backward), same)


def _scan(keys: list[SortKey], segment: Segment, paging: str | None, cursor_values: list[Any],
          past_cursor: Any) -> list[Select[Any]]:
    """The ids of a segment's first head_limit tasks past the cursor, and the ties of the last one (see above)."""
    n = len(segment.fixed)
    column, descending = keys[n]
    c = column(TaskRow)
    downward = descending != (paging == "before")
    where: list[Any] = list(segment.where)
    bounds: list[Any] = list(segment.on_c)
    if paging is not None:
        same = and_(*[segment.fixed[i].is_not_distinct_from(cursor_values[i]) for i in range(n)])
        start: Any = func.coalesce(
            select(cursor_values[n]).where(same).scalar_subquery(),
            bindparam("latest" if downward else "earliest", type_=TaskRow.due_at.type),
        )
        where += [_at_or_beyond(keys, segment.fixed, cursor_values, paging == "before"), past_cursor]
        bounds.append(c <= start if downward else c >= start)
    # the equality prefix (assignee, state) in the ORDER BY too: PostgreSQL takes `assignee_id IS NULL` for no
    # constant, and would sort the whole part instead of reading the index in order
    order = [*segment.prefix, c]
    firsts = (select(TaskRow.id, c.label("c")).where(*where, *bounds)
              .order_by(*[x.desc() if downward else x.asc() for x in order])
              .limit(bindparam("head_limit", type_=BigInteger)).subquery())
    last = select(func.min(firsts.c.c) if downward else func.max(firsts.c.c)).scalar_subquery()
    # the first tasks, and those tied with the last of them on `c`: an equality, looked up in the index (the
    # scan's bounds on `c` left out, as the last value meets them: SQLite would range-scan by them instead)
    return [select(firsts.c.id), select(TaskRow.id).where(*where, c == last)]


def segmented_page(tab: str, groups: int, sort: str, descending: bool, paging: str | None = None,
                   ) -> Select[tuple[TaskRow]]:
    """A page of a tab's open tasks in `sort`'s order, read by bounded index range scans: from the start (limit,
    offset; head_limit = limit + offset) or after / before the task bound as `cursor` (keyset, `paging`)."""
    keys = sort_keys(sort, descending)
    cursor = aliased(TaskRow)
    cursor_id = bindparam("cursor", type_=String)
    cursor_values = [select(value(cursor)).where(cursor.id == cursor_id).scalar_subquery() for value, _ in keys]
    past = beyond([(value(TaskRow), cursor_values[n], desc) for n, (value, desc) in enumerate(keys)],
                  paging == "before")
    scans = [scan for s in _segments(tab, groups, sort) for scan in _scan(keys, s, paging, cursor_values, past)]
    # UNION, not UNION ALL: a tie may come twice; then a join on the task's key, a few rows
    ids = union(*scans).subquery()
    return task_page(select(TaskRow).join(ids, ids.c.id == TaskRow.id), keys, paging)


def segmented(tab: str, given: tuple[str, ...], sort: str | None) -> bool:
    """Whether `segmented_page` answers this page (the others read the tab through `inbox_query.page_select`)."""
    return tab in SEGMENTED_TABS and not given and sort in SEGMENTED_SORTS


def bounds() -> dict[str, datetime]:
    """The bound values the scans need besides the page's own."""
    return {"earliest": EARLIEST, "latest": LATEST}

