"""Inbox tabs sorted by task name read through indexes (docs/lists.md). The name a reader sees depends on the
reader's language (a label per process element, else the task's stored title), so no column holds the order; but a
task's name is fixed by its (element id, title, whether it has a process), and the tab holds few such groups.

A page is two statements: the tab's tasks counted per group, the groups in the order of their names (the database
sorts these few rows by the same expression and collation as the select over the whole tab, so the order is the
same); then, for the groups the page spans (found from the counts), bounded range scans of the (…, spec_name,
title, due_at, created_at) indexes (migration 0023), merged and cut to the page as in inbox_segments. Within one
name the order is the tab's ties (due empty, due, creation, id), groups of one name merged by them.

The same reads serve All by assignee (a group per user, and nobody) and every tab but Team by process (a group per
process version, and the standalone tasks: the version is copied onto the task, migration 0024), and keyset pages
of all three: the counts mark the cursor task's group, and the page is the rest of its name's groups past the
cursor (or before it) and the names after (before) it up to a page."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from sqlalchemy import (
    BigInteger,
    Select,
    String,
    and_,
    bindparam,
    case,
    false,
    func,
    literal,
    literal_column,
    null,
    select,
    union,
    union_all,
)
from sqlalchemy.orm import aliased

from engine.store.inbox_query import (
    TIE,
    SortKey,
    beyond,
    filter_conditions,
    order_by,
    process_label,
    task_name,
    task_page,
)
from engine.store.inbox_segments import BY_ASSIGNEE, CARRIED, SEGMENTED_TABS, Segment, _parts, _scan, due_split
from engine.store.models import ProcessVersionRow, TaskRow, UserRow

# a process version's tasks counted in the (…, version, due) indexes' order: with the version alone PostgreSQL took
# the order for given (an equality) and scanned the whole table for each version without open tasks (All by process
# at 100,000 tasks: 125 ms)
VERSION_ORDER = (TaskRow.process_version_id, TaskRow.due_at)
MAX_SPANNED = 12  # a page across more name groups (standalone tasks' free-text titles) reads the whole tab


@dataclass(frozen=True)
class Group:
    """Open tasks of a tab that share one name in any language: (spec_name, title, in a process) for the task
    name, (assignee id,) for the assignee's, (process version id,) for the process's; `count` stopped at the
    page's end."""

    key: tuple[Any, ...]
    count: int


def name_ordered(tab: str, sort: str | None) -> bool:
    """Whether a page is read by name groups: a tab but Team sorted by task name or process, or All by assignee."""
    return (tab in SEGMENTED_TABS and sort in ("task", "process")) or (tab == "all" and sort == "assignee")


def _capped(tab: str, groups: int, given: tuple[str, ...], match: Any, outer: Any, key: tuple[Any, ...]) -> Any:
    """The tab's open tasks under the filters `given` that `match` one group (a condition on the row `outer` of
    the groups: the task columns `key` fixed), counted up to cap rows per part of the tab (enough to place a page
    that ends at cap)."""
    parts = []
    for part in _parts(tab, groups, given):
        where = [*part.where, *filter_conditions(given, copied=True), match]
        if tab == "overdue":
            where.append(TaskRow.due_at < bindparam("now"))
        # in the order of the index the group's columns come first in (a count needs none): SQLite took the state for no
        # filter worth an index and scanned the whole table for a group without tasks (All by process at 100,000
        # tasks: 155 ms for the standalone ones, none)
        read = (select(TaskRow.id).where(*where).correlate(outer).order_by(*part.prefix, *key)
                .limit(bindparam("cap", type_=BigInteger)).subquery())
        parts.append(select(func.count()).select_from(read).scalar_subquery())
    return sum(parts[1:], parts[0]) if parts else literal(0, BigInteger)


def _holds_cursor(*match: Any) -> Any:
    """Whether the task bound as `cursor` is of a group (`match`: conditions on the task's row): marks the group a
    keyset page starts from."""
    return select(TaskRow.id).where(TaskRow.id == bindparam("cursor", type_=String), *match).exists()


def _ordered(counted: list[Select[Any]], descending: bool) -> Select[Any]:
    """The group rows in the page's order of their names (empty names last either way)."""
    rows = union_all(*counted).subquery()
    return select(rows).order_by(rows.c.name.is_(None), rows.c.name.desc() if descending else rows.c.name.asc())


def _in_process(in_process: bool) -> Any:
    """Whether a task has a process instance, in the form the name indexes' WHERE has (each holds one kind: a
    planner takes a partial index only for a query that says its condition)."""
    return TaskRow.instance_id.is_not(None) if in_process else TaskRow.instance_id.is_(None)


def _open_groups(in_process: bool) -> Any:
    """The (spec_name, title) pairs of the open tasks of a process (`in_process`) or the standalone ones, walked in
    their (state, spec_name, title, …) index's order one pair after the other (a loose index scan: a few probes per
    pair, not a read of every task). The next pair is the next title of the same element id, else the first of the
    next element id: SQLite ranges an index by the first column of a row comparison only, so
    `(spec_name, title) > (s, t)` read every task of the element id s (All by task name at 100,000 tasks: 30-40 ms
    of the count statement). A pair of one kind only is no group of the other (each kind has its own index,
    migration 0025): counting a process element's standalone tasks read every task of the element."""

    def first(column: Any, *where: Any) -> Any:
        return (select(column).where(TaskRow.state == "open", _in_process(in_process), *where)
                .order_by(TaskRow.spec_name, TaskRow.title).limit(1).scalar_subquery())

    seed = select(first(TaskRow.spec_name).label("spec_name"), first(TaskRow.title).label("title"))
    walk = seed.cte("name_group" if in_process else "standalone_group", recursive=True)
    same = first(TaskRow.title, TaskRow.spec_name == walk.c.spec_name, TaskRow.title > walk.c.title)
    later = TaskRow.spec_name > walk.c.spec_name
    return walk.union_all(
        select(case((same.is_not(None), walk.c.spec_name), else_=first(TaskRow.spec_name, later)),
               func.coalesce(same, first(TaskRow.title, later))).where(walk.c.spec_name.is_not(None))
    )


def name_counts(tab: str, groups: int, given: tuple[str, ...], labels: tuple[int, int, int], descending: bool,
                keyed: bool = False) -> Select[Any]:
    """The tab's open tasks under the filters `given` counted per name group (`_capped`): (name, spec_name, title,
    in_process, count) rows in the page's order of names; `keyed`: and whether the cursor task is of the group."""
    counted = []
    for in_process in (True, False):
        walk = _open_groups(in_process)
        match = (_in_process(in_process), TaskRow.spec_name == walk.c.spec_name, TaskRow.title == walk.c.title)
        name = task_name(walk.c, labels[0], labels[1], in_process=literal(in_process))
        columns = [name.label("name"), walk.c.spec_name, walk.c.title, literal(in_process).label("in_process"),
                   _capped(tab, groups, given, and_(*match), walk, (TaskRow.spec_name, TaskRow.title)).label("n")]
        if keyed:
            columns.append(_holds_cursor(*match).label("cur"))
        counted.append(select(*columns).where(walk.c.spec_name.is_not(None)))
    return _ordered(counted, descending)


def assignee_counts(given: tuple[str, ...], descending: bool, keyed: bool = False) -> Select[Any]:
    """The All tab's open tasks under the filters `given` counted per assignee (each user, and none), each count
    stopped at cap: (display name, assignee id, count) rows in the page's order (the unassigned last); `keyed`:
    and whether the cursor task is of the group."""
    user = aliased(UserRow)  # the list's own: the assignee filter's subquery correlates to the task's user
    counted = []
    for name, key, match in ((user.display_name, user.id, TaskRow.assignee_id == user.id),
                             (null(), null(), TaskRow.assignee_id.is_(None))):
        columns = [name.label("name"), key.label("assignee"),
                   _capped("all", 0, given, match, user, (TaskRow.assignee_id,)).label("n")]
        if keyed:
            columns.append(_holds_cursor(match).label("cur"))
        counted.append(select(*columns))
    return _ordered(counted, descending)


def process_counts(tab: str, groups: int, given: tuple[str, ...], labels: int, descending: bool,
                   keyed: bool = False) -> Select[Any]:
    """The tab's open tasks under the filters `given` counted per process version, and the standalone ones (each
    `_capped`): (name in the reader's language, version id, count) rows in the page's order (the standalone
    last); `keyed`: and whether the cursor task is of the group."""
    version = aliased(ProcessVersionRow)  # the list's own: the process filter's subquery correlates to the task's
    counted = []
    for name, key, match in ((process_label(version, labels), version.id, TaskRow.process_version_id == version.id),
                             (null(), null(), TaskRow.process_version_id.is_(None))):
        columns = [name.label("name"), key.label("version"),
                   _capped(tab, groups, given, match, version, VERSION_ORDER).label("n")]
        if keyed:
            columns.append(_holds_cursor(match).label("cur"))
        counted.append(select(*columns))
    return _ordered(counted, descending)


def page_span(rows: Sequence[Any], offset: int, limit: int) -> tuple[list[tuple[int, Group]], int]:
    """The groups a page from `offset` spans (`rows`: name, key columns…, count, in the page's order), each with
    the rank of its name in the page's order (groups of one name share it), and the page's offset within the
    first of them."""
    spanned: list[tuple[int, Group]] = []
    before, rank, last_name, within = 0, -1, object(), 0
    names: list[tuple[Any, list[Group]]] = []
    for name, *key, count in rows:
        if not count:  # none in the tab: no scan to read it (it would check its whole range to find none)
            continue
        if not names or name != last_name:
            names.append((name, []))
            last_name = name
        names[-1][1].append(Group(tuple(key), int(count)))
    for _, members in names:
        size = sum(g.count for g in members)
        if before + size <= offset:
            before += size
            continue
        if not spanned:
            within = offset - before
        rank += 1
        spanned += [(rank, g) for g in members]
        before += size
        if before >= offset + limit:
            break
    return spanned, within


def keyset_span(rows: Sequence[Any], limit: int, backward: bool) -> tuple[list[tuple[int, Group]], int] | None:
    """The groups a keyset page spans (`rows`: name, key columns…, count, whether the cursor is of the group, in
    the page's order): every group of the cursor's name, then those of the names after it (`backward`: before it)
    until their counts make a page; each with the rank of its name in the page's order. And the rank of the
    cursor's name; None when no group holds the cursor (a task gone, or of a name no open task has any more)."""
    names: list[tuple[Any, list[Group]]] = []
    at: int | None = None
    for name, *key, count, cursor in rows:
        if not names or name != names[-1][0]:
            names.append((name, []))
        if cursor:
            at = len(names) - 1
        if count or cursor:
            names[-1][1].append(Group(tuple(key), int(count)))
    if at is None:
        return None
    taken, size = [at], 0
    step = -1 if backward else 1
    n = at + step
    while 0 <= n < len(names) and size < limit:
        taken.append(n)
        size += sum(g.count for g in names[n][1])
        n += step
    taken.sort()
    return [(rank, g) for rank, n in enumerate(taken) for g in names[n][1] if g.count], taken.index(at)


def span_shape(spanned: list[tuple[int, Group]]) -> tuple[tuple[int, bool], ...]:
    """The part of a page statement's shape its span fixes: each group's rank, and whether it is in a process
    (task name) or has nobody (assignee) or no process (process)."""
    return tuple((rank, bool(g.key[2]) if len(g.key) == 3 else g.key[0] is None) for rank, g in spanned)


def span_params(spanned: list[tuple[int, Group]], sort: str) -> dict[str, Any]:
    """The bound element ids and titles, assignees or process versions of the spanned groups."""
    values: dict[str, Any] = {}
    for n, (_, g) in enumerate(spanned):
        if len(g.key) == 3:
            values.update({f"g_s_{n}": g.key[0], f"g_t_{n}": g.key[1]})
        else:
            values[f"g_{sort[0]}_{n}"] = g.key[0]
    return values


def _group_parts(tab: str, groups: int, given: tuple[str, ...], sort: str, n: int,
                 flag: bool) -> list[tuple[tuple[Any, ...], tuple[Any, ...]]]:
    """The conditions and index prefix of each part of the tab that group n holds: a task name's (bound as g_s_<n>,
    g_t_<n>; `flag`: in a process) or a process version's (g_p_<n>; `flag`: standalone) in each part of the tab,
    or one assignee's (g_a_<n>; `flag`: nobody)."""
    if sort == "assignee":
        assignee = TaskRow.assignee_id.is_(None) if flag else TaskRow.assignee_id == bindparam(f"g_a_{n}")
        return [((assignee, TaskRow.state == "open"), BY_ASSIGNEE)]
    if sort == "process":
        version = TaskRow.process_version_id
        of = version.is_(None) if flag else version == bindparam(f"g_p_{n}")
        return [((*part.where, of), (*part.prefix, version)) for part in _parts(tab, groups, given)]
    named = (TaskRow.spec_name == bindparam(f"g_s_{n}", type_=String),
             TaskRow.title == bindparam(f"g_t_{n}", type_=String), _in_process(flag))
    return [((*part.where, *named), (*part.prefix, TaskRow.spec_name, TaskRow.title))
            for part in _parts(tab, groups, given)]


def name_page(tab: str, groups: int, given: tuple[str, ...], shape: tuple[tuple[int, bool], ...],
              sort: str = "task", paging: str | None = None, cursor_rank: int = 0) -> Select[tuple[TaskRow]]:
    """A page of the tasks of the spanned groups `shape` (see `_group_parts`), from the offset within the first:
    per group and part of the tab, its dated tasks by due time and its undated ones by creation, each scan stopped
    at head_limit rows (with the ties of its last), merged by (rank, ties). A keyset page (`paging`): the tasks
    after / before the one bound as `cursor`, whose name has the rank `cursor_rank` (the scans of its groups
    start at the cursor; a page before is read in reverse order)."""
    keys: list[SortKey] = [(lambda t: t.due_at, False), *TIE]  # the first: the name's rank, fixed per segment
    cursor = aliased(TaskRow)
    at_cursor = [literal_column(str(cursor_rank)), *[
        select(value(cursor)).where(cursor.id == bindparam("cursor", type_=String)).scalar_subquery()
        for value, _ in TIE]]
    backward = paging == "before"
    dated, undated, narrowed = due_split(tab, given)
    scans: list[Select[Any]] = []
    for n, (rank, flag) in enumerate(shape):
        rk: Any = literal_column(str(rank))
        # past the cursor in (rank, ties): every task of a later name, the cursor's name's by its ties
        past = None if paging is None else beyond(
            [(rk, at_cursor[0], False), *[(value(TaskRow), at_cursor[m + 1], desc)
                                          for m, (value, desc) in enumerate(TIE)]], backward)
        for conditions, prefix in _group_parts(tab, groups, given, sort, n, flag):
            where = (*conditions, *narrowed)
            segments = [Segment(where, (literal(rank), literal(False)), tuple(dated), prefix)]
            if undated:
                segments.append(Segment((*where, *undated), (literal(rank), literal(True), null()), (),
                                        (*prefix, TaskRow.due_at)))
            scans += [scan.add_columns(rk.label("rk")) for s in segments
                      for scan in _scan(keys, s, paging, at_cursor, past)]
    if not scans:
        return task_page(select(TaskRow).where(false()), TIE, paging)
    read = union(*scans).subquery()
    carried = SimpleNamespace(**{x.key: read.c[x.key] for x in CARRIED})
    page = (select(read.c.id, read.c.rk)
            .order_by(*order_by([(read.c.rk, False), *[(value(carried), desc) for value, desc in TIE]], backward))
            .limit(bindparam("limit", type_=BigInteger)).offset(bindparam("offset", type_=BigInteger)).subquery())
    return (select(TaskRow).join(page, page.c.id == TaskRow.id)
            .order_by(*order_by([(page.c.rk, False), *[(value(TaskRow), desc) for value, desc in TIE]], backward)))
