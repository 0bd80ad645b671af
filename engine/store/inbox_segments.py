"""Sorted inbox tabs read through indexes (docs/lists.md): a tab's page in a column's order is a UNION ALL of
index range scans, each LIMITed, merged and cut to the page in one statement — never a read of the whole tab.

The page order is a list of sort keys (`inbox_query.sort_keys`). A *segment* is the tab's tasks whose leading keys
are the same constants (due date set or not; one assignee; a record or none), ordered within by one indexed column
`c` (due or creation time, or the record's title copied onto the task, in the page's direction for that key). A
segment's scan reads the index from the cursor (or its start) and stops at the page size: its L-th value of `c` is
found first, then every task up to that value is taken (ties on `c` included), which is a superset of the
segment's first L tasks in the full order, whatever direction the later keys have. The merge sorts those few rows
by the full keys (on the columns the scans carry) and joins the page's tasks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import (
    BigInteger,
    Select,
    String,
    and_,
    bindparam,
    false,
    func,
    literal,
    null,
    or_,
    select,
    true,
    union,
    union_all,
)
from sqlalchemy.orm import aliased

from engine.store.inbox_query import SortKey, beyond, filter_conditions, order_by, sort_keys, task_page
from engine.store.models import TaskCandidateRow, TaskRow, UserRow

SEGMENTED_SORTS = (None, "due", "created", "assignee", "record")  # the orders these scans answer (None: the tab's)
# not Team (its IN-list select): one part per member, tried and removed, read 2-3x fewer rows at 100,000 tasks, but
# PostgreSQL planned its statement for 13 members (~80 scans) in ~55 ms per request and it ran slower on both
# databases under load (bench/inbox_http.py)
SEGMENTED_TABS = ("mine", "pool", "overdue", "all")
EARLIEST = datetime(1, 1, 1, tzinfo=UTC)  # the bound of a scan that starts at its segment's first row
LATEST = datetime(9999, 12, 31, tzinfo=UTC)
DUE_FILTERS = ("due_from", "due_before")
BY_ASSIGNEE = (TaskRow.assignee_id, TaskRow.state)  # the equality prefix of a part of one assignee (or none)
# the task columns the sort keys of these pages read (inbox_query.sort_keys, copied record title)
CARRIED = (TaskRow.id, TaskRow.due_at, TaskRow.created_at, TaskRow.assignee_id, TaskRow.record_title)


@dataclass(frozen=True)
class Segment:
    """Tasks whose first `len(fixed)` sort keys are the values `fixed` (SQL expressions, the same for every row),
    narrowed by `where`; ordered next by the sort key at `len(fixed)`, a time column of the task."""

    where: tuple[Any, ...]
    fixed: tuple[Any, ...]
    on_c: tuple[Any, ...] = ()  # ranges of the ordered column: the scan's bounds, implied for the tasks tied on it
    prefix: tuple[Any, ...] = BY_ASSIGNEE  # the index columns its `where` fixes
    scope: tuple[Any, ...] = ()  # a text-ordered segment: its rows unfiltered, for the first value of its scan


@dataclass(frozen=True)
class Part:
    """Tasks of a tab that one index prefix holds: `where` fixes the index columns `prefix`; `name`: the display name
    of their one assignee (None: unassigned)."""

    where: list[Any]
    name: Any
    prefix: tuple[Any, ...] = BY_ASSIGNEE


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


def _assigned_to(key: str) -> Part:
    """The open tasks of the user bound as `key`."""
    name = select(UserRow.display_name).where(UserRow.id == bindparam(key)).scalar_subquery()
    return Part([TaskRow.assignee_id == bindparam(key), TaskRow.state == "open"], name)


def _parts(tab: str, groups: int, given: tuple[str, ...]) -> list[Part]:
    """The tab as disjoint parts, each one equality prefix of the task's (assignee, state, …) or (state, …)
    indexes; the pooled tasks none under an assignee filter (no assignee matches it: not a part to read through).
    The overdue tab's due bound is added by `_segments`."""
    pooled = Part([TaskRow.assignee_id.is_(None), TaskRow.state == "open", _pooled_exists(groups)], None)
    pool = [pooled] if "assignee" not in given else []
    if tab == "mine":
        return [_assigned_to("user_id")]
    if tab == "pool":
        return pool
    if tab == "overdue":
        return [_assigned_to("user_id"), *pool]
    return [Part([TaskRow.state == "open"], None, (TaskRow.state,))]  # all: by the (state, …) indexes


def _due_range(given: tuple[str, ...], opaque: bool) -> list[Any]:
    """The due range filters: as the bounds of a scan by due time, or (`opaque`) in a form no index range is taken
    for — a scan by creation time reads its index in order and checks them, where a range scan by due time would
    read and sort the whole range (a task without a due date is outside every range either way)."""
    due: Any = TaskRow.due_at
    out = []
    if "due_from" in given:
        low = func.coalesce(due, bindparam("earliest", type_=due.type)) if opaque else due
        out.append(low >= bindparam("f_due_from", type_=due.type))
    if "due_before" in given:
        high = func.coalesce(due, bindparam("latest", type_=due.type)) if opaque else due
        out.append(high < bindparam("f_due_before", type_=due.type))
    return out


def due_split(tab: str, given: tuple[str, ...]) -> tuple[list[Any], list[Any] | None, list[Any]]:
    """The conditions of a tab's dated tasks (the bounds of a scan by due time), of its undated ones (None: the tab
    or a due range has none), and the filters other than the due range."""
    dated: list[Any] = [TaskRow.due_at.is_not(None), *_due_range(given, opaque=False)]
    if tab == "overdue":  # only tasks with a due time, so no segment of undated ones
        dated.append(TaskRow.due_at < bindparam("now"))
    ranged = any(name in DUE_FILTERS for name in given)  # a due range: no undated task either
    undated = [TaskRow.due_at.is_(None)] if tab != "overdue" and not ranged else None
    narrowed = filter_conditions(tuple(name for name in given if name not in DUE_FILTERS), copied=True)
    return dated, undated, narrowed


def _segments(tab: str, groups: int, sort: str | None, given: tuple[str, ...]) -> list[Segment]:
    """The segments of a tab's page in `sort`'s order (see the module's docstring), narrowed by the set filters
    (each segment's scan stops once it has a page of matching tasks)."""
    dated, undated, narrowed = due_split(tab, given)
    # a scan by another column than due time: the overdue bound and a due range in a form the planner takes for
    # no range to scan by (it would read and sort the whole range instead of reading the index in order)
    late = [func.coalesce(TaskRow.due_at, bindparam("latest", type_=TaskRow.due_at.type)) < bindparam("now")]
    ranged_by_due = [*(late if tab == "overdue" else []), *_due_range(given, opaque=True)]
    out: list[Segment] = []
    for part in _parts(tab, groups, given):
        where = (*part.where, *narrowed)
        no_due = (*part.prefix, TaskRow.due_at)  # undated: by creation, after the due time
        if sort in (None, "due"):  # keys: due empty, due, (due: due empty, due,) created, id
            out.append(Segment(where, (literal(False),), tuple(dated), part.prefix))
            if undated:
                empty = (literal(True), null()) * (2 if sort else 1)
                out.append(Segment((*where, *undated), empty, (), no_due))
        elif sort == "created":  # keys: created empty, created, due empty, due, created, id
            out.append(Segment((*where, *ranged_by_due), (literal(False),), (), part.prefix))
        elif sort == "record":  # keys: title empty, title (the task's copy), due empty, due, created, id
            titled = TaskRow.record_title.is_not(None)
            out.append(Segment((*where, titled, *ranged_by_due), (literal(False),), (), part.prefix,
                               (*part.where, titled)))
            if "record" in given:
                continue  # no task without a record matches a record-title filter: no segment of them to read
            untitled = (*where, TaskRow.record_title.is_(None))  # no record: by due, then the undated by creation
            by_title = (*part.prefix, TaskRow.record_title)
            out.append(Segment(untitled, (literal(True), null(), literal(False)), tuple(dated), by_title))
            if undated:
                out.append(Segment((*untitled, *undated), (literal(True), null(), literal(True), null()), (),
                                   (*by_title, TaskRow.due_at)))
        else:  # assignee: one name per part (the assignee's, or none); then due, created, id
            head = (literal(False), part.name) if part.name is not None else (literal(True), null())
            out.append(Segment(where, (*head, literal(False)), tuple(dated), part.prefix))
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
        # the cursor's value when it is in this segment, else the segment's first value in the scan's order
        edge: Any = bindparam("latest" if downward else "earliest", type_=TaskRow.due_at.type)
        if isinstance(c.type, String):  # a text has no constant bound below or above every value: look it up
            edge = select(func.max(c) if downward else func.min(c)).where(*segment.scope).scalar_subquery()
        start: Any = func.coalesce(select(cursor_values[n]).where(same).scalar_subquery(), edge)
        where += [_at_or_beyond(keys, segment.fixed, cursor_values, paging == "before"), past_cursor]
        bounds.append(c <= start if downward else c >= start)
    # the equality prefix (assignee, state) in the ORDER BY too: PostgreSQL takes `assignee_id IS NULL` for no
    # constant, and would sort the whole part instead of reading the index in order
    order = [*segment.prefix, c]
    firsts = (select(*CARRIED, c.label("c")).where(*where, *bounds)
              .order_by(*[x.desc() if downward else x.asc() for x in order])
              .limit(bindparam("head_limit", type_=BigInteger)).cte())
    last = select(func.min(firsts.c.c) if downward else func.max(firsts.c.c)).scalar_subquery()
    # the first tasks, and those tied with the last of them on `c`: an equality, looked up in the index (the
    # scan's bounds on `c` left out, as the last value meets them: SQLite would range-scan by them instead)
    return [select(*[firsts.c[x.key] for x in CARRIED]), select(*CARRIED).where(*where, c == last)]


def segmented_page(tab: str, groups: int, sort: str | None, descending: bool, given: tuple[str, ...] = (),
                   paging: str | None = None) -> Select[tuple[TaskRow]]:
    """A page of a tab's open tasks in `sort`'s order narrowed by the filters `given`, read by bounded index range
    scans: from the start (limit, offset; head_limit = limit + offset) or after / before the task bound as
    `cursor` (keyset, `paging`)."""
    keys = sort_keys(sort, descending, copied=True)
    cursor = aliased(TaskRow)
    cursor_id = bindparam("cursor", type_=String)
    cursor_values = [select(value(cursor)).where(cursor.id == cursor_id).scalar_subquery() for value, _ in keys]
    past = beyond([(value(TaskRow), cursor_values[n], desc) for n, (value, desc) in enumerate(keys)],
                  paging == "before")
    segments = _segments(tab, groups, sort, given)
    scans = [scan for s in segments for scan in _scan(keys, s, paging, cursor_values, past)]
    if not scans:  # no part of the tab can hold a task under these filters
        return task_page(select(TaskRow).where(false()), keys, paging)
    # UNION, not UNION ALL: a tie may come twice. The rows carry the columns the keys read, so the page is cut
    # from them before the join to the task: a page of key lookups, where a join of every scanned row made
    # PostgreSQL hash the whole task table once the scans were many (one part per member of a team: 100,000 rows)
    read = union(*scans).subquery()
    carried = SimpleNamespace(**{x.key: read.c[x.key] for x in CARRIED})
    backward = paging == "before"
    page = (select(read.c.id).order_by(*order_by([(value(carried), desc) for value, desc in keys], backward))
            .limit(bindparam("limit", type_=BigInteger)).offset(bindparam("offset", type_=BigInteger)).subquery())
    return (select(TaskRow).join(page, page.c.id == TaskRow.id)
            .order_by(*order_by([(value(TaskRow), desc) for value, desc in keys], backward)))


def segmented(tab: str, sort: str | None, given: tuple[str, ...] = ()) -> bool:
    """Whether `segmented_page` answers this page (the others read the tab through `inbox_query.page_select`):
    every tab but Team in its own order or by due, creation, assignee or record title (the task's copy of it),
    with any filters (and not All by assignee)."""
    return tab in SEGMENTED_TABS and sort in SEGMENTED_SORTS and not (tab == "all" and sort == "assignee")


def count_columns(groups: int, given: tuple[str, ...]) -> list[Any]:
    """The mine / pool / overdue counts under the filters `given`, each stopped at cap1 rows, as uncorrelated
    scalar subqueries that ride along with the page: each part of the tab read in its index's order and checked
    row by row (a pooled task by a key probe of its candidates), so a count reads about cap1 matching rows."""

    def counted(tab: str) -> Any:
        reads = []
        for part in _parts(tab, groups, given):
            where = [*part.where, *filter_conditions(given, copied=True)]
            ranged = tab == "overdue" or any(name in DUE_FILTERS for name in given)
            time: Any = TaskRow.due_at if ranged else TaskRow.created_at  # a due range: a range of its index
            if tab == "overdue":
                where.append(TaskRow.due_at < bindparam("now"))
            elif "record" in given and not ranged:
                # by the record's title (no task without one matches): SQLite checks the title in that index and
                # reads the task only for those that match, where the creation index made it read every task
                where.append(TaskRow.record_title.is_not(None))
                time = TaskRow.record_title
            # the index's order, though a count needs none: PostgreSQL then reads the index up to the cap (a
            # bitmap scan, or an IN list of every pooled task, would read them all first)
            read = (select(TaskRow.id).where(*where).order_by(*part.prefix, time)
                    .limit(bindparam("cap1", type_=BigInteger)).subquery())
            reads.append(select(read.c.id))  # SQLite: a LIMITed select in a UNION must be a subquery
        if not reads:
            return literal(0, BigInteger).label(f"count_{tab}")
        ids = union_all(*reads).subquery()
        capped = select(ids.c.id).limit(bindparam("cap1", type_=BigInteger)).subquery()
        return select(func.count()).select_from(capped).scalar_subquery().label(f"count_{tab}")

    return [counted("mine"), counted("pool"), counted("overdue")]


def bounds() -> dict[str, datetime]:
    """The bound values the scans need besides the page's own."""
    return {"earliest": EARLIEST, "latest": LATEST}

