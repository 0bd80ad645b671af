"""The inbox sorted by a column and narrowed by column filters (docs/lists.md): one statement per shape — which
tab, how many candidate groups, which sort, which filters are set — built once with bound parameters and shared,
like the unfiltered tabs of work_repos."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Select, String, and_, bindparam, func, or_, select, true

from engine.store.filter_sql import like_pattern, text_like
from engine.store.models import InstanceRow, ProcessVersionRow, RecordRow, TaskCandidateRow, TaskRow, UserRow

SORTS = ("task", "record", "due", "assignee", "process", "created")  # the inbox columns a reader may sort by
TEXT_FILTERS = ("task", "record", "assignee")  # matched as "contains", case-insensitive, in every script


@dataclass(frozen=True)
class TaskFilter:
    """The sort and column filters of an inbox tab: values checked, times in UTC. `task_elements`: the process
    elements whose name in the reader's language contains `task` (the page shows translated names)."""

    sort: str | None = None  # one of SORTS; None: soonest due first
    descending: bool = False
    task: str = ""
    task_elements: tuple[str, ...] = ()
    record: str = ""
    assignee: str = ""
    process: str = ""  # a process id
    due_from: datetime | None = None  # due at or after
    due_before: datetime | None = None  # due before

    def given(self) -> tuple[str, ...]:
        """The names of the filters that are set (part of a statement's shape)."""
        names = ("task", "record", "assignee", "process", "due_from", "due_before")
        return tuple(n for n in names if getattr(self, n))

    def plain(self) -> bool:
        """No sort and no filter: the tab's own bounded index scans answer it."""
        return self.sort is None and not self.given()

    def params(self) -> dict[str, Any]:
        """The bound values of the set filters."""
        values: dict[str, Any] = {}
        for name in self.given():
            value = getattr(self, name)
            values[f"f_{name}"] = like_pattern(value) if name in TEXT_FILTERS else value
        if self.task:
            values["f_task_elements"] = list(self.task_elements)
        return values


def record_title() -> Any:
    """The title of a task's record, as a scalar subquery."""
    return select(RecordRow.title).where(RecordRow.id == TaskRow.record_id).scalar_subquery()


def assignee_name() -> Any:
    """The username of a task's assignee, as a scalar subquery."""
    return select(UserRow.username).where(UserRow.id == TaskRow.assignee_id).scalar_subquery()


def process_name() -> Any:
    """The name of a task's process version (None for a standalone task), as a scalar subquery."""
    return (
        select(ProcessVersionRow.name)
        .join(InstanceRow, InstanceRow.process_version_id == ProcessVersionRow.id)
        .where(InstanceRow.id == TaskRow.instance_id)
        .scalar_subquery()
    )


def _pooled(groups: int) -> Any:
    """Ids of tasks pooled for one of the reader's candidate names (cand_0.. groups, cand_user)."""
    names: list[Any] = [bindparam(f"cand_{n}") for n in range(groups)]
    named = [and_(TaskCandidateRow.kind == "user", TaskCandidateRow.name == bindparam("cand_user"))]
    if names:
        named.append(and_(TaskCandidateRow.kind == "group", TaskCandidateRow.name.in_(names)))
    return select(TaskCandidateRow.task_id).where(TaskCandidateRow.pooled == true(), or_(*named))


def _tab(tab: str, groups: int, users_key: str) -> list[Any]:
    """The open tasks of a tab: `users_key` names the assignee ids (mine, team), the candidate names the pool."""
    where: list[Any] = [TaskRow.state == "open"]
    if tab in ("mine", "team"):
        where.append(TaskRow.assignee_id.in_(bindparam(users_key, expanding=True)))
    elif tab == "pool":
        where += [TaskRow.assignee_id.is_(None), TaskRow.id.in_(_pooled(groups))]
    elif tab == "overdue":
        where += [
            TaskRow.due_at < bindparam("now"),
            or_(TaskRow.assignee_id == bindparam("user_id"), TaskRow.id.in_(_pooled(groups))),
        ]
    return where


def _filters(given: tuple[str, ...]) -> list[Any]:
    """The conditions of the set filters, on bound parameters named f_<filter>."""
    where: list[Any] = []
    if "task" in given:
        where.append(
            or_(
                text_like(TaskRow.title, bindparam("f_task", type_=String)),
                TaskRow.spec_name.in_(bindparam("f_task_elements", expanding=True)),
            )
        )
    if "record" in given:
        where.append(
            select(RecordRow.id)
            .where(RecordRow.id == TaskRow.record_id, text_like(RecordRow.title, bindparam("f_record", type_=String)))
            .exists()
        )
    if "assignee" in given:
        where.append(
            select(UserRow.id)
            .where(
                UserRow.id == TaskRow.assignee_id, text_like(UserRow.username, bindparam("f_assignee", type_=String))
            )
            .exists()
        )
    if "process" in given:
        where.append(
            select(InstanceRow.id)
            .join(ProcessVersionRow, ProcessVersionRow.id == InstanceRow.process_version_id)
            .where(
                InstanceRow.id == TaskRow.instance_id,
                ProcessVersionRow.process_id == bindparam("f_process", type_=String),
            )
            .exists()
        )
    if "due_from" in given:
        where.append(TaskRow.due_at >= bindparam("f_due_from", type_=TaskRow.due_at.type))
    if "due_before" in given:
        where.append(TaskRow.due_at < bindparam("f_due_before", type_=TaskRow.due_at.type))
    return where


def _order(sort: str | None, descending: bool) -> list[Any]:
    """Empty values last either way, ties by due time, creation and id (a stable page order)."""
    keys: dict[str, Callable[[], Any]] = {
        "task": lambda: TaskRow.title,
        "record": record_title,
        "due": lambda: TaskRow.due_at,
        "assignee": assignee_name,
        "process": process_name,
        "created": lambda: TaskRow.created_at,
    }
    tie = [TaskRow.due_at.is_(None), TaskRow.due_at, TaskRow.created_at, TaskRow.id]
    if sort is None:
        return tie
    expr = keys[sort]()
    return [expr.is_(None), expr.desc() if descending else expr.asc(), *tie]


def page_select(
    tab: str, groups: int, sort: str | None, descending: bool, given: tuple[str, ...]
) -> Select[tuple[TaskRow]]:
    """A page (limit/offset) of a tab's open tasks in a column's order, narrowed by the set filters."""
    return (
        select(TaskRow)
        .where(*_tab(tab, groups, "user_ids"), *_filters(given))
        .order_by(*_order(sort, descending))
        .limit(bindparam("limit", type_=BigInteger))
        .offset(bindparam("offset", type_=BigInteger))
    )


def count_columns(groups: int, given: tuple[str, ...]) -> list[Any]:
    """The mine / pool / overdue counts under the same filters, each stopped at cap1 rows, as uncorrelated scalar
    subqueries that ride along with the page (one statement)."""

    def counted(tab: str) -> Any:
        ids = (
            select(TaskRow.id)
            .where(*_tab(tab, groups, "count_user_ids"), *_filters(given))
            .limit(bindparam("cap1", type_=BigInteger))
            .subquery()
        )
        return select(func.count()).select_from(ids).scalar_subquery().label(f"count_{tab}")

    return [counted("mine"), counted("pool"), counted("overdue")]
