"""Inbox tabs sorted by task name read through indexes (docs/lists.md). The name a reader sees depends on the
reader's language (a label per process element, else the task's stored title), so no column holds the order; but a
task's name is fixed by its (element id, title, whether it has a process), and the tab holds few such groups.

A page is two statements: the tab's tasks counted per group, the groups in the order of their names (the database
sorts these few rows by the same expression and collation as the select over the whole tab, so the order is the
same); then, for the groups the page spans (found from the counts), bounded range scans of the (…, spec_name,
title, due_at, created_at) indexes (migration 0023), merged and cut to the page as in inbox_segments. Within one
name the order is the tab's ties (due empty, due, creation, id), groups of one name merged by them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from sqlalchemy import (
    BigInteger,
    Select,
    String,
    bindparam,
    false,
    func,
    literal,
    literal_column,
    null,
    select,
    tuple_,
    union,
    union_all,
)
from sqlalchemy.orm import aliased

from engine.store.inbox_query import TIE, SortKey, filter_conditions, order_by, task_name, task_page
from engine.store.inbox_segments import BY_ASSIGNEE, CARRIED, SEGMENTED_TABS, Segment, _parts, _scan, due_split
from engine.store.models import TaskRow, UserRow

MAX_SPANNED = 12  # a page across more name groups (standalone tasks' free-text titles) reads the whole tab


@dataclass(frozen=True)
class Group:
    """Open tasks of a tab that share one name in any language: (spec_name, title, in a process) for the task
    name, (assignee id,) for the assignee's; `count` stopped at the page's end."""

    key: tuple[Any, ...]
    count: int


def name_ordered(tab: str, sort: str | None, paging: str | None) -> bool:
    """Whether a page is read by name groups: a tab but Team sorted by task name, or All by assignee, from an
    offset (a keyset page reads the whole tab)."""
    by_name = (tab in SEGMENTED_TABS and sort == "task") or (tab == "all" and sort == "assignee")
    return by_name and paging is None


def _open_groups() -> Any:
    """The (spec_name, title) pairs of the open tasks, walked in the (state, spec_name, title, …) index's order one
    pair after the other (a loose index scan: a probe per pair, not a read of every task)."""

    def first(column: Any, after: Any = None) -> Any:
        where = [TaskRow.state == "open"]
        if after is not None:
            where.append(tuple_(TaskRow.spec_name, TaskRow.title) > tuple_(*after))
        return (select(column).where(*where).order_by(TaskRow.spec_name, TaskRow.title).limit(1)
                .scalar_subquery())

    seed = select(first(TaskRow.spec_name).label("spec_name"), first(TaskRow.title).label("title"))
    walk = seed.cte("name_group", recursive=True)
    after = (walk.c.spec_name, walk.c.title)
    return walk.union_all(
        select(first(TaskRow.spec_name, after), first(TaskRow.title, after)).where(walk.c.spec_name.is_not(None))
    )


def name_counts(tab: str, groups: int, given: tuple[str, ...], labels: tuple[int, int, int],
                descending: bool) -> Select[Any]:
    """The tab's open tasks under the filters `given` counted per name group, each count stopped at cap rows per
    part of the tab (enough to place a page that ends at cap): (name, spec_name, title, in_process, count) rows in
    the page's order of names (empty names last either way)."""
    walk = _open_groups()
    counted = []
    for in_process in (True, False):
        process = TaskRow.instance_id.is_not(None) if in_process else TaskRow.instance_id.is_(None)
        parts = []
        for part in _parts(tab, groups, given):
            where = [*part.where, *filter_conditions(given, copied=True), process,
                     TaskRow.spec_name == walk.c.spec_name, TaskRow.title == walk.c.title]
            if tab == "overdue":
                where.append(TaskRow.due_at < bindparam("now"))
            read = (select(TaskRow.id).where(*where).correlate(walk)
                    .limit(bindparam("cap", type_=BigInteger)).subquery())
            parts.append(select(func.count()).select_from(read).scalar_subquery())
        count: Any = sum(parts[1:], parts[0]) if parts else literal(0, BigInteger)
        name = task_name(walk.c, labels[0], labels[1], in_process=literal(in_process))
        counted.append(select(name.label("name"), walk.c.spec_name, walk.c.title,
                              literal(in_process).label("in_process"), count.label("n"))
                       .where(walk.c.spec_name.is_not(None)))
    rows = union_all(*counted).subquery()
    return select(rows).order_by(rows.c.name.is_(None), rows.c.name.desc() if descending else rows.c.name.asc())


def assignee_counts(given: tuple[str, ...], descending: bool) -> Select[Any]:
    """The All tab's open tasks under the filters `given` counted per assignee (each user, and none), each count
    stopped at cap: (display name, assignee id, count) rows in the page's order (the unassigned last)."""
    user = aliased(UserRow)  # the list's own: the assignee filter's subquery correlates to the task's user

    def capped(assignee: Any) -> Any:
        where = [assignee, TaskRow.state == "open", *filter_conditions(given, copied=True)]
        read = (select(TaskRow.id).where(*where).correlate(user)
                .limit(bindparam("cap", type_=BigInteger)).subquery())
        return select(func.count()).select_from(read).scalar_subquery()

    users = select(user.display_name.label("name"), user.id.label("assignee"),
                   capped(TaskRow.assignee_id == user.id).label("n"))
    nobody = select(null().label("name"), null().label("assignee"), capped(TaskRow.assignee_id.is_(None)))
    rows = union_all(users, nobody).subquery()
    return select(rows).order_by(rows.c.name.is_(None), rows.c.name.desc() if descending else rows.c.name.asc())


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


def span_shape(spanned: list[tuple[int, Group]]) -> tuple[tuple[int, bool], ...]:
    """The part of a page statement's shape its span fixes: each group's rank, and whether it is in a process
    (task name) or has nobody (assignee)."""
    return tuple((rank, bool(g.key[2]) if len(g.key) == 3 else g.key[0] is None) for rank, g in spanned)


def span_params(spanned: list[tuple[int, Group]]) -> dict[str, Any]:
    """The bound element ids and titles, or assignees, of the spanned groups."""
    values: dict[str, Any] = {}
    for n, (_, g) in enumerate(spanned):
        if len(g.key) == 3:
            values.update({f"g_s_{n}": g.key[0], f"g_t_{n}": g.key[1]})
        else:
            values[f"g_a_{n}"] = g.key[0]
    return values


def _group_parts(tab: str, groups: int, given: tuple[str, ...], sort: str, n: int,
                 flag: bool) -> list[tuple[tuple[Any, ...], tuple[Any, ...]]]:
    """The conditions and index prefix of each part of the tab that group n holds: a task name's (bound as g_s_<n>,
    g_t_<n>; `flag`: in a process) in each part of the tab, or one assignee's (g_a_<n>; `flag`: nobody)."""
    if sort == "assignee":
        assignee = TaskRow.assignee_id.is_(None) if flag else TaskRow.assignee_id == bindparam(f"g_a_{n}")
        return [((assignee, TaskRow.state == "open"), BY_ASSIGNEE)]
    process = TaskRow.instance_id.is_not(None) if flag else TaskRow.instance_id.is_(None)
    named = (TaskRow.spec_name == bindparam(f"g_s_{n}", type_=String),
             TaskRow.title == bindparam(f"g_t_{n}", type_=String), process)
    return [((*part.where, *named), (*part.prefix, TaskRow.spec_name, TaskRow.title))
            for part in _parts(tab, groups, given)]


def name_page(tab: str, groups: int, given: tuple[str, ...], shape: tuple[tuple[int, bool], ...],
              sort: str = "task") -> Select[tuple[TaskRow]]:
    """A page of the tasks of the spanned groups `shape` (see `_group_parts`), from the offset within the first:
    per group and part of the tab, its dated tasks by due time and its undated ones by creation, each scan stopped
    at head_limit rows (with the ties of its last), merged by (rank, ties)."""
    keys: list[SortKey] = [(lambda t: t.due_at, False), *TIE]  # the first: the name's rank, fixed per segment
    dated, undated, narrowed = due_split(tab, given)
    scans: list[Select[Any]] = []
    for n, (rank, flag) in enumerate(shape):
        rk: Any = literal_column(str(rank)).label("rk")
        for conditions, prefix in _group_parts(tab, groups, given, sort, n, flag):
            where = (*conditions, *narrowed)
            segments = [Segment(where, (literal(rank), literal(False)), tuple(dated), prefix)]
            if undated:
                segments.append(Segment((*where, *undated), (literal(rank), literal(True), null()), (),
                                        (*prefix, TaskRow.due_at)))
            scans += [scan.add_columns(rk) for s in segments for scan in _scan(keys, s, None, [], None)]
    if not scans:
        return task_page(select(TaskRow).where(false()), TIE, None)
    read = union(*scans).subquery()
    carried = SimpleNamespace(**{x.key: read.c[x.key] for x in CARRIED})
    page = (select(read.c.id, read.c.rk)
            .order_by(read.c.rk, *order_by([(value(carried), desc) for value, desc in TIE]))
            .limit(bindparam("limit", type_=BigInteger)).offset(bindparam("offset", type_=BigInteger)).subquery())
    return (select(TaskRow).join(page, page.c.id == TaskRow.id)
            .order_by(page.c.rk, *order_by([(value(TaskRow), desc) for value, desc in TIE])))
