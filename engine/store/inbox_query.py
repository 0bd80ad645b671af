"""The inbox sorted by a column and narrowed by column filters (docs/lists.md): one statement per shape — which
tab, how many candidate groups, which sort, which filters are set — built once with bound parameters and shared,
like the unfiltered tabs of work_repos."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Select, String, and_, bindparam, case, false, func, null, or_, select, true
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import Boolean

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
    # the names the reader sees, for the task and process sorts (docs/lists.md): (element id, its BPMN name or
    # None when no other process has an element of that id, label) and (process id, label)
    task_labels: tuple[tuple[str, str | None, str], ...] = ()
    process_labels: tuple[tuple[str, str], ...] = ()

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
        for n, (element, bpmn_name, label) in enumerate(self._task_labels()):
            values.update({f"tl_e_{n}": element, f"tl_l_{n}": label})
            if bpmn_name is not None:
                values[f"tl_n_{n}"] = bpmn_name
        for n, (process, label) in enumerate(self.process_labels if self.sort == "process" else ()):
            values.update({f"pl_p_{n}": process, f"pl_l_{n}": label})
        return values

    def _task_labels(self) -> list[tuple[str, str | None, str]]:
        """The task labels the sort uses, those of elements no other process shares first."""
        return sorted(self.task_labels, key=lambda x: x[1] is not None) if self.sort == "task" else []

    def label_shape(self) -> tuple[int, int, int]:
        """How many task labels (unshared, shared elements) and process labels the sort binds (part of a shape)."""
        shared = sum(1 for x in self._task_labels() if x[1] is not None)
        processes = len(self.process_labels) if self.sort == "process" else 0
        return len(self._task_labels()) - shared, shared, processes


def record_title(task: Any = TaskRow) -> Any:
    """The title of a task's record, as a scalar subquery."""
    return select(RecordRow.title).where(RecordRow.id == task.record_id).scalar_subquery()


def assignee_name(task: Any = TaskRow) -> Any:
    """The username of a task's assignee, as a scalar subquery."""
    return select(UserRow.username).where(UserRow.id == task.assignee_id).scalar_subquery()


def assignee_display_name(task: Any = TaskRow) -> Any:
    """The display name of a task's assignee, as a scalar subquery."""
    return select(UserRow.display_name).where(UserRow.id == task.assignee_id).scalar_subquery()


PERSON_SEP, PEOPLE_SEP = "\x1f", "\x1e"  # between a login and its name, and between two people (in no name)


def candidate_people(task: Any = TaskRow) -> Any:
    """The login and display name of every user a task names as a candidate (the login for one no user has), as
    one text (login PERSON_SEP name, joined by PEOPLE_SEP; None when it names nobody), as a scalar subquery: from
    the task's candidate rows (its key) to each user by login, and only for a task whose candidate users are not
    empty."""
    name = func.coalesce(UserRow.display_name, TaskCandidateRow.name)
    people = (
        select(func.aggregate_strings(TaskCandidateRow.name + PERSON_SEP + name, PEOPLE_SEP))
        .select_from(TaskCandidateRow)
        .outerjoin(UserRow, UserRow.username == TaskCandidateRow.name)
        .where(TaskCandidateRow.task_id == task.id, TaskCandidateRow.kind == "user")
        .scalar_subquery()
    )
    return case((task.candidate_users != "", people), else_=null())


def process_name(task: Any = TaskRow, labels: int = 0) -> Any:
    """The name of a task's process version (None for a standalone task), as a scalar subquery; with `labels`,
    the name in the reader's language of the processes bound as pl_p_<n> / pl_l_<n>. Read by the task's copy of
    its instance's version (migration 0024), not through the instance: one lookup a task, not two."""
    return (
        select(process_label(ProcessVersionRow, labels))
        .where(ProcessVersionRow.id == task.process_version_id)
        .scalar_subquery()
    )


def process_label(version: Any, labels: int) -> Any:
    """The name of a process version (ProcessVersionRow or an alias of it) in the reader's language: the label
    bound for its process (pl_p_<n> → pl_l_<n>, `labels` of them), else its BPMN name."""
    if not labels:
        return version.name
    whens = [(version.process_id == bindparam(f"pl_p_{n}", type_=String), bindparam(f"pl_l_{n}", type_=String))
             for n in range(labels)]
    return case(*whens, else_=version.name)


def task_name(task: Any, unshared: int, shared: int, in_process: Any = None) -> Any:
    """A task's name in the reader's language: the label bound for its element (tl_e_<n> → tl_l_<n>; an element
    id several processes use also matches its BPMN name, tl_n_<n>), else its stored title (a standalone task's
    title, or an element without a label). `in_process`: whether the task has a process instance, where `task`
    has no instance_id (a row of tasks grouped by name)."""
    has_process = task.instance_id.is_not(None) if in_process is None else in_process
    whens = [
        (
            and_(task.spec_name == bindparam(f"tl_e_{n}", type_=String), has_process),
            bindparam(f"tl_l_{n}", type_=String),
        )
        for n in range(unshared)
    ]
    whens += [
        (
            and_(
                task.spec_name == bindparam(f"tl_e_{n}", type_=String),
                task.title == bindparam(f"tl_n_{n}", type_=String),
            ),
            bindparam(f"tl_l_{n}", type_=String),
        )
        for n in range(unshared, unshared + shared)
    ]
    return case(*whens, else_=task.title) if whens else task.title


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


class InProcess(ColumnElement[bool]):
    """Whether a task belongs to a version of the process bound as `process`. PostgreSQL: the task's copy of its
    version (migration 0024) among the process's versions, read once before the tasks (`= ANY(ARRAY(…))`, an
    index condition on the task's (…, process version, …) indexes); it estimated the per-row EXISTS through the
    instance and its version at a fifth of the tasks (one version of five) where every one matched, and sorted a
    whole tab (Overdue by record under a process filter: 72,097 rows, 1.2 s). An IN over the versions was worse
    (nested loops over every undated pooled task). SQLite: that EXISTS, which it runs well."""

    type = Boolean()
    inherit_cache = True
    _traverse_internals = [("process", InternalTraversal.dp_clauseelement)]  # noqa: RUF012 - SQLAlchemy reads it

    def __init__(self, process: Any) -> None:
        self.process = process


@compiles(InProcess)
def _in_process_exists(element: InProcess, compiler: Any, **kw: Any) -> str:
    exists = (select(InstanceRow.id)
              .join(ProcessVersionRow, ProcessVersionRow.id == InstanceRow.process_version_id)
              .where(InstanceRow.id == TaskRow.instance_id, ProcessVersionRow.process_id == element.process)
              .exists())
    return str(compiler.process(exists, **kw))


@compiles(InProcess, "postgresql")
def _in_process_versions(element: InProcess, compiler: Any, **kw: Any) -> str:
    versions = select(ProcessVersionRow.id).where(ProcessVersionRow.process_id == element.process)
    return str(compiler.process(TaskRow.process_version_id == func.any(func.array(versions.scalar_subquery())),
                                **kw))


def filter_conditions(given: tuple[str, ...], copied: bool = False) -> list[Any]:
    """The conditions of the set filters, on bound parameters named f_<filter>; `copied`: the record's title as
    copied onto the task (a column of the row, where the select over the whole tab reads the record's)."""
    where: list[Any] = []
    if "task" in given:
        where.append(
            or_(
                text_like(TaskRow.title, bindparam("f_task", type_=String)),
                TaskRow.spec_name.in_(bindparam("f_task_elements", expanding=True)),
            )
        )
    if "record" in given and copied:
        # COALESCE: PostgreSQL estimates half the rows match (as a condition it cannot see into), not the 0.5 % of a
        # LIKE on an expression, so it reads an index in order until it has a page instead of the whole tab
        where.append(func.coalesce(text_like(TaskRow.record_title, bindparam("f_record", type_=String)), false()))
    elif "record" in given:
        where.append(
            select(RecordRow.id)
            .where(RecordRow.id == TaskRow.record_id, text_like(RecordRow.title, bindparam("f_record", type_=String)))
            .exists()
        )
    if "assignee" in given:
        where.append(
            select(UserRow.id)
            .where(
                UserRow.id == TaskRow.assignee_id,
                or_(  # the name the page shows, or the login an admin types
                    text_like(UserRow.display_name, bindparam("f_assignee", type_=String)),
                    text_like(UserRow.username, bindparam("f_assignee", type_=String)),
                ),
            )
            .exists()
        )
    if "process" in given:
        where.append(InProcess(bindparam("f_process", type_=String)))
    if "due_from" in given:
        where.append(TaskRow.due_at >= bindparam("f_due_from", type_=TaskRow.due_at.type))
    if "due_before" in given:
        where.append(TaskRow.due_at < bindparam("f_due_before", type_=TaskRow.due_at.type))
    return where


# a sort key: the value of a task table's row (TaskRow, or the cursor's alias) and whether it sorts descending
SortKey = tuple[Callable[[Any], Any], bool]
TIE: list[SortKey] = [
    (lambda t: t.due_at.is_(None), False),
    (lambda t: t.due_at, False),
    (lambda t: t.created_at, False),
    (lambda t: t.id, False),
]


def sort_keys(sort: str | None, descending: bool, labels: tuple[int, int, int] = (0, 0, 0),
              copied: bool = False) -> list[SortKey]:
    """Empty values last either way, ties by due time, creation and id (a total, stable page order); `copied`:
    the record's title as copied onto the task."""
    keys: dict[str, Callable[[Any], Any]] = {
        "task": lambda t: task_name(t, labels[0], labels[1]),
        "record": (lambda t: t.record_title) if copied else record_title,
        "due": lambda t: t.due_at,
        "assignee": assignee_display_name,  # the name the page shows
        "process": lambda t: process_name(t, labels[2]),
        "created": lambda t: t.created_at,
    }
    if sort is None:
        return TIE
    value = keys[sort]
    return [(lambda t: value(t).is_(None), False), (value, descending), *TIE]


def order_by(keys: list[tuple[Any, bool]], backward: bool = False) -> list[Any]:
    """ORDER BY clauses of (value, descending) keys; `backward` reverses every one (a page before a cursor)."""
    return [value.desc() if descending != backward else value.asc() for value, descending in keys]


def beyond(keys: list[tuple[Any, Any, bool]], backward: bool = False) -> Any:
    """Rows past the cursor in the keys' order (before it, `backward`): (mine, the cursor's, descending) keys,
    compared as a row — k1 beyond c1, or k1 the same as c1 (NULL the same as NULL) and the rest beyond."""
    condition: Any = None
    for mine, theirs, descending in reversed(keys):
        past = mine < theirs if descending != backward else mine > theirs
        condition = past if condition is None else or_(past, and_(mine.is_not_distinct_from(theirs), condition))
    return condition


def task_keyset(keys: list[SortKey], backward: bool) -> Any:
    """The tasks past the one bound as `cursor` in `keys`' order: its sort values are read by uncorrelated
    subqueries (computed once per statement), so the cursor is only a task id."""
    cursor = aliased(TaskRow)
    cursor_id = bindparam("cursor", type_=String)
    return beyond(
        [
            (value(TaskRow), select(value(cursor)).where(cursor.id == cursor_id).scalar_subquery(), desc)
            for value, desc in keys
        ],
        backward,
    )


def page_select(
    tab: str,
    groups: int,
    sort: str | None,
    descending: bool,
    given: tuple[str, ...],
    labels: tuple[int, int, int] = (0, 0, 0),
    paging: str | None = None,
) -> Select[tuple[TaskRow]]:
    """A page of a tab's open tasks in a column's order, narrowed by the set filters: from the start (limit,
    offset) or after / before the task bound as `cursor` (keyset, `paging`)."""
    stmt = select(TaskRow).where(*_tab(tab, groups, "user_ids"), *filter_conditions(given))
    return task_page(stmt, sort_keys(sort, descending, labels), paging)


def task_page(stmt: Select[tuple[TaskRow]], keys: list[SortKey], paging: str | None) -> Select[tuple[TaskRow]]:
    """A select of tasks as a page in `keys`' order: from the start (limit, offset), or the tasks after / before
    the one bound as `cursor` (`paging`; a page before is read in reverse order)."""
    if paging is not None:
        stmt = stmt.where(task_keyset(keys, paging == "before"))
    return (
        stmt.order_by(*order_by([(value(TaskRow), desc) for value, desc in keys], paging == "before"))
        .limit(bindparam("limit", type_=BigInteger))
        .offset(bindparam("offset", type_=BigInteger))
    )
