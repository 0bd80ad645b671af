"""Repositories of process execution: instances, tasks and their candidates, step history, timers."""


from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from threading import Lock
from typing import Any, Protocol, cast

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    Table,
    and_,
    bindparam,
    delete,
    func,
    insert,
    select,
    true,
    union_all,
    update,
)
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from engine.store.bulk_insert import insert_rows
from engine.store.db import PLANNED_PER_RUN
from engine.store.direct import Prebuilt
from engine.store.inbox_assigned import assigned_page, assigned_params
from engine.store.inbox_names import (
    MAX_SPANNED,
    assignee_counts,
    keyset_span,
    name_counts,
    name_ordered,
    name_page,
    page_span,
    process_counts,
    span_params,
    span_shape,
)
from engine.store.inbox_query import (
    PEOPLE_SEP,
    PERSON_SEP,
    TIE,
    TaskFilter,
    assignee_display_name,
    assignee_name,
    beyond,
    candidate_people,
    order_by,
    page_select,
    process_name,
    task_page,
)
from engine.store.inbox_segments import bounds, segmented, segmented_page
from engine.store.inbox_segments import count_columns as filtered_counts
from engine.store.inbox_team import team_page
from engine.store.inserted_rows import insert_held, insert_held_many
from engine.store.job_repos import not_in, retry_due
from engine.store.models import (
    ConfigVersionRow,
    InstanceEventRow,
    InstanceRow,
    ProcessVersionRow,
    RecordRow,
    TaskCandidateRow,
    TaskRow,
    TimerRow,
    UserRow,
)
from engine.store.repo_base import _Repository

# a page of tasks before it is run: the shared statement and its parameter values (services pass it back to `named`)
TaskQuery = tuple[Select[tuple[TaskRow]], dict[str, Any]]


class TaskFields(Protocol):
    """What an inbox page reads of each task (`TaskRepository.named`): the columns a task view shows."""

    id: str
    instance_id: int | None
    record_id: int | None
    spec_name: str
    title: str
    form_key: str | None
    candidate_groups: str
    candidate_users: str
    state: str
    due_at: datetime | None
    created_at: datetime
    completed_at: datetime | None
    completed_by: str | None
    title_labels: dict[str, str] | None


_TASK_TABLE = cast(Table, TaskRow.__table__)
_SHOWN_COLUMNS = tuple(_TASK_TABLE.c[name] for name in TaskFields.__annotations__)
COUNTED = ("mine", "pool", "overdue")  # the inbox tabs `TaskRepository.inbox_counts` counts, in column order


class InstanceRepository(_Repository):
    def insert_new(self, row: InstanceRow) -> None:
        """Insert a new instance row (every column set on it) by a prebuilt statement, sent now, and hold it as a
        loaded row (engine.store.inserted_rows): no ORM flush of it or of the unit of work's other staged rows."""
        insert_held(self.session, row, _INSERT_INSTANCE)

    def insert_new_many(self, rows: Sequence[InstanceRow]) -> None:
        """insert_new for many new instance rows, in multi-row statements (their workflow states tell them apart:
        each holds its own task ids); each takes its id in order."""
        insert_held_many(self.session, rows, "state_json", _INSERT_INSTANCE)

    def get(self, instance_id: int) -> InstanceRow | None:
        """An instance by id."""
        return self._get(InstanceRow, instance_id)

    def running_of_versions(self, version_ids: Iterable[int]) -> list[InstanceRow]:
        """Running instances of these process versions, oldest first."""
        wanted = sorted(set(version_ids))
        if not wanted:
            return []
        stmt = (select(InstanceRow).where(InstanceRow.process_version_id.in_(wanted), InstanceRow.status == "running")
                .order_by(InstanceRow.id))
        return list(self.session.scalars(stmt).all())

    def process_names(self, instance_ids: Iterable[int]) -> dict[int, str]:
        """The process version's name of each of these instances: from the rows this unit of work holds (a step
        or claim read them with its task), the others in one query."""
        names: dict[int, str] = {}
        wanted: list[int] = []
        for instance_id in sorted(set(instance_ids)):
            # only loaded values count: reading an expired attribute would be a query of its own
            instance = self._in_map(InstanceRow, instance_id)
            version_id = vars(instance).get("process_version_id") if instance is not None else None
            version = (self._in_map(ProcessVersionRow, version_id)
                       if version_id is not None else None)
            name = vars(version).get("name") if version is not None else None
            if name is not None:
                names[instance_id] = name
            else:
                wanted.append(instance_id)
        if wanted:
            stmt = (select(InstanceRow.id, ProcessVersionRow.name)
                    .join(ProcessVersionRow, ProcessVersionRow.id == InstanceRow.process_version_id)
                    .where(InstanceRow.id.in_(wanted)))
            names.update({instance_id: name for instance_id, name in self.session.execute(stmt).all()})
        return names

    def for_record(self, record_id: int) -> list[InstanceRow]:
        """Instances running or run on a record."""
        stmt = select(InstanceRow).where(InstanceRow.record_id == record_id).order_by(InstanceRow.id)
        return list(self.session.scalars(stmt).all())

    def save_state(self, row: InstanceRow, values: dict[str, Any]) -> None:
        """Write a stored instance's state columns (`values`: state_json, serializer_version, status, ended_at) in
        one prebuilt UPDATE checked by its revision, as the ORM's flush would, without the flush: the row object
        takes the values and the next revision as already stored. A revision someone else saved meanwhile raises
        StaleDataError, as the flush would."""
        old = row.revision

        def check(matched: int) -> None:
            if matched != 1:
                # what the ORM's flush raises on a stale version: the unit of work turns it into ConflictError, and
                # a worker sees a lost race to retry on its next tick (not a failure); on PostgreSQL raised when
                # the held write is sent (at the latest before the commit), so nothing of the unit is stored
                raise StaleDataError(f"process instance {row.id} was saved by someone else in the meantime "
                                     f"(revision {old} is stale)")

        _SAVE_INSTANCE.send(self.session, {**values, "row_id": row.id, "old_revision": old, "new_revision": old + 1},
                            check)
        for name, value in (*values.items(), ("revision", old + 1)):
            set_committed_value(row, name, value)


_INSTANCES = cast(Table, InstanceRow.__table__)
_INSERT_INSTANCE = Prebuilt(insert(_INSTANCES), returning="id")
_SAVE_INSTANCE = Prebuilt(
    update(_INSTANCES)
    .where(_INSTANCES.c.id == bindparam("row_id"), _INSTANCES.c.revision == bindparam("old_revision"))
    .values(state_json=bindparam("state_json"), serializer_version=bindparam("serializer_version"),
            status=bindparam("status"), ended_at=bindparam("ended_at"), revision=bindparam("new_revision")),
    guarded=True,
)
_TASKS = cast(Table, TaskRow.__table__)
# prebuilt: a claim and the end of a task are the hot path's task writes (an ORM-enabled UPDATE with its session
# synchronization cost several times the statement)
# the task row, when it is still claimable and no other transaction holds it: on PostgreSQL a claim that meets a
# task another one is claiming (or writing) loses at once (409) instead of queueing on the row lock until that
# transaction ends, however slow it is; SQLite has no row locks and renders no FOR UPDATE
_CLAIMABLE = (
    select(_TASKS.c.id)
    .where(_TASKS.c.id == bindparam("task_id"), _TASKS.c.state == "open", _TASKS.c.assignee_id.is_(None))
    .with_for_update(skip_locked=True)
    .scalar_subquery()
)
_CLAIM_TASK = Prebuilt(update(_TASKS).where(_TASKS.c.id == _CLAIMABLE).values(assignee_id=bindparam("user_id")))
_FINISH_TASK = Prebuilt(
    update(_TASKS)
    .where(_TASKS.c.id == bindparam("task_id"))
    .values(state=bindparam("state"), completed_at=bindparam("completed_at"), completed_by=bindparam("completed_by"))
)
_ASSIGNEE = aliased(UserRow)
# built once: an alias and a six-way join cost more to construct (and to key for the statement cache) than the
# database takes to answer them
_NEWEST_CONFIG = select(ConfigVersionRow).order_by(ConfigVersionRow.id.desc()).limit(1)
_TASK_WITH_CONTEXT = (
    select(TaskRow, InstanceRow, ProcessVersionRow, RecordRow, UserRow, _ASSIGNEE,
           # the active configuration's key, which a request asks anyway: in the same statement
           _NEWEST_CONFIG.with_only_columns(ConfigVersionRow.id).scalar_subquery(),
           _NEWEST_CONFIG.with_only_columns(ConfigVersionRow.content_hash).scalar_subquery())
    .outerjoin(_ASSIGNEE, _ASSIGNEE.id == TaskRow.assignee_id)
    .outerjoin(InstanceRow, InstanceRow.id == TaskRow.instance_id)
    .outerjoin(ProcessVersionRow, ProcessVersionRow.id == InstanceRow.process_version_id)
    .outerjoin(RecordRow, RecordRow.id == TaskRow.record_id)
    .outerjoin(UserRow, UserRow.id == RecordRow.owner_id)
    .where(TaskRow.id == bindparam("task_id"))
)


_TASKS = cast(Table, TaskRow.__table__)
_TASK_INSERT = Prebuilt(insert(_TASKS))
_CANDIDATES = cast(Table, TaskCandidateRow.__table__)
_CANDIDATE_INSERT = Prebuilt(insert(_CANDIDATES))
# prebuilt Core UPDATE: the ORM-enabled one, built per call, synchronized the session's candidate objects (there are
# none on the hot path) and cost several times the statement
_SET_POOLED = Prebuilt(update(_CANDIDATES).where(_CANDIDATES.c.task_id == bindparam("of_task")).values(
    pooled=bindparam("to_pooled")))
_NO_COUNTS: tuple[list[Any], dict[str, Any]] = ([], {})  # one object: the built statement is shared per query


def _candidates(values: dict[str, Any], groups: Iterable[str], users: Iterable[str]) -> list[dict[str, Any]]:
    """The candidate rows of a new open task (its columns in `values`): its groups, then its users, each sorted."""
    sort_at = values["due_at"] or values["created_at"]
    pooled = values["assignee_id"] is None
    return [{"task_id": values["id"], "kind": kind, "name": name, "pooled": pooled, "sort_at": sort_at,
             "due_at": values["due_at"]}
            for kind, names in (("group", groups), ("user", users)) for name in sorted(set(names))]


class TaskRepository(_Repository):
    def get(self, task_id: str) -> TaskRow | None:
        """A task by its id."""
        return self._get(TaskRow, task_id)

    def add_candidates(self, task: TaskRow, groups: Iterable[str], users: Iterable[str]) -> None:
        """Index who may claim a task."""
        sort_at = task.due_at or task.created_at
        pooled = task.assignee_id is None and task.state == "open"
        for kind, names in (("group", groups), ("user", users)):
            for name in sorted(set(names)):
                self.session.add(TaskCandidateRow(task_id=task.id, kind=kind, name=name, pooled=pooled,
                                                  sort_at=sort_at, due_at=task.due_at))

    def insert_open(self, values: dict[str, Any], groups: Iterable[str], users: Iterable[str]) -> None:
        """Insert a new open task (every column of `task` in `values`) and its candidate rows, as Core statements
        sent now: no ORM flush of the unit of work's other changes, no object kept (a later `get` reads the row).
        A task of an instance carries the instance's process version (the inbox's sort by process reads it)."""
        if values.get("instance_id") is not None and values.get("process_version_id") is None:
            raise ValueError(f"task {values.get('id')}: a task of an instance needs its process_version_id")
        _TASK_INSERT.send(self.session, values)
        _CANDIDATE_INSERT.insert_rows(self.session, _candidates(values, groups, users))

    def insert_open_many(self, tasks: Sequence[tuple[dict[str, Any], Iterable[str], Iterable[str]]]) -> None:
        """insert_open for many new open tasks (values, groups, users of each): the tasks in one statement, then
        all their candidate rows in one (COPY on PostgreSQL from a few dozen rows, engine.store.bulk_insert), in
        the order insert_open would write them one task after another."""
        if not tasks:
            return
        for values, _, _ in tasks:
            if values.get("instance_id") is not None and values.get("process_version_id") is None:
                raise ValueError(f"task {values.get('id')}: a task of an instance needs its process_version_id")
        insert_rows(self.session, _TASKS, [values for values, _, _ in tasks])
        insert_rows(self.session, _CANDIDATES, [candidate for values, groups, users in tasks
                                                for candidate in _candidates(values, groups, users)])

    def set_pooled(self, task_id: str, pooled: bool) -> None:
        """Take a task out of (or put it back in) the claimable pool. Staged writes to other tables wait for the
        next flush (batched with their like), unless candidate rows are staged: this statement must see them.
        A task is pooled exactly while it is open without an assignee: whatever gives it an assignee, gives it
        back or ends it calls this (completing a task relies on that)."""
        staged = any(isinstance(row, TaskCandidateRow) for row in self.session.new)
        if staged or any(isinstance(row, TaskCandidateRow) for row in self.session.identity_map.values()):
            # candidate objects made in this unit of work (`add_candidates`): flushed first, and kept in step
            self.session.execute(
                update(TaskCandidateRow).where(TaskCandidateRow.task_id == task_id).values(pooled=pooled),
                execution_options={"autoflush": staged},
            )
            return
        _SET_POOLED.send(self.session, {"of_task": task_id, "to_pooled": pooled})

    def load_with_context(self, task_id: str) -> tuple[object, ...]:
        """A task with its instance, process version, record and record owner, in one query: while the caller
        holds the result, `get`s of them in this unit of work are answered without reading again. The active
        configuration's key comes with it (`config_key`)."""
        found = self.session.execute(_TASK_WITH_CONTEXT, {"task_id": task_id}).first()
        return tuple(found) if found is not None else ()

    @staticmethod
    def config_key(context: tuple[object, ...]) -> tuple[int, str] | None:
        """(id, content hash) of the active configuration as `load_with_context` read it; None when it read no
        task or no configuration is deployed."""
        if len(context) < 8 or context[6] is None:
            return None
        return int(cast(int, context[6])), str(context[7])

    def try_claim(self, task_id: str, user_id: int) -> bool:
        """Atomically assign an open, unassigned task; False if someone was first. The task's row, when this unit
        of work holds it, takes the assignee as stored."""
        staged = any(isinstance(row, TaskRow) for row in self.session.new)  # a task made in this transaction
        if staged:  # this statement must see it
            self.session.flush()
        claimed = _CLAIM_TASK.run(self.session, {"task_id": task_id, "user_id": user_id}) == 1
        held = self._in_map(TaskRow, task_id)
        if claimed and held is not None:
            set_committed_value(held, "assignee_id", user_id)
        return claimed

    def finish(self, row: TaskRow, state: str, now: datetime, by: str | None) -> None:
        """End an open task (completed or cancelled) in one prebuilt UPDATE, not an ORM flush of its row; the row
        takes the values as stored."""
        values = {"state": state, "completed_at": now, "completed_by": by}
        _FINISH_TASK.send(self.session, {**values, "task_id": row.id})
        for name, value in values.items():
            set_committed_value(row, name, value)

    def open_for_instance(self, instance_id: int) -> list[TaskRow]:
        """Open tasks of an instance."""
        stmt = select(TaskRow).where(TaskRow.instance_id == instance_id, TaskRow.state == "open")
        return list(self.session.scalars(stmt).all())

    def for_instance(self, instance_id: int) -> list[TaskRow]:
        """All tasks of an instance, oldest first."""
        stmt = select(TaskRow).where(TaskRow.instance_id == instance_id).order_by(TaskRow.created_at)
        return list(self.session.scalars(stmt).all())

    def for_record(self, record_id: int) -> list[TaskRow]:
        """All tasks on a record, newest first."""
        stmt = select(TaskRow).where(TaskRow.record_id == record_id).order_by(TaskRow.created_at.desc())
        return list(self.session.scalars(stmt).all())

    def assigned(self, user_ids: list[int], limit: int, offset: int) -> list[TaskRow]:
        """Open tasks assigned to these users, soonest due first."""
        return self._run(self.assigned_query(user_ids, limit, offset))

    @staticmethod
    def assigned_query(user_ids: list[int], limit: int, offset: int, paging: str | None = None,
                       cursor: str | None = None) -> TaskQuery:
        """The query of `assigned`; a keyset page after / before the task `cursor` with `paging`."""
        if paging is None:  # cut per assignee first (engine/store/inbox_assigned.py)
            stmt = _shape(("assigned",), assigned_page)
            return stmt, {"user_ids": list(user_ids), "limit": limit, "offset": offset, **bounds(),
                          **assigned_params(limit, offset)}
        stmt = _shape(("assigned", paging), lambda: _open_page(
            TaskRow.assignee_id.in_(bindparam("user_ids", expanding=True)), paging))
        return stmt, {"user_ids": list(user_ids), "limit": limit, "offset": offset, "cursor": cursor}

    def pool(self, groups: Iterable[str], username: str, limit: int, offset: int) -> list[TaskRow]:
        """Open unassigned tasks these groups (or this user by name) may claim, soonest due first.

        One index range scan per candidate name, each stopped after offset+limit rows, then merged: a task's
        rank is its earliest candidate row, and that row has fewer than offset+limit rows ahead of it in its
        own name's list, so the page is exact without grouping every pooled row."""
        return self._run(self.pool_query(groups, username, limit, offset))

    @staticmethod
    def pool_query(groups: Iterable[str], username: str, limit: int, offset: int, paging: str | None = None,
                   cursor: str | None = None) -> TaskQuery:
        """The query of `pool`; a keyset page after / before the task `cursor` with `paging`."""
        names = _candidate_names(groups, username)
        groups_n = len(names) - 1
        stmt = _shape(("pool", groups_n, paging), lambda: _merged_page(
            _pool_heads(groups_n, "head_limit", due=False, paging=paging), paging))
        return stmt, {**names, "limit": limit, "offset": offset, "head_limit": limit + offset, "cursor": cursor}

    def overdue(self, user_id: int, groups: Iterable[str], username: str, now: datetime, limit: int,
                offset: int) -> list[TaskRow]:
        """Open tasks past their due time that are assigned to the user or that they may claim, most overdue
        first (the same bounded index scans as `pool`, stopped at `now`)."""
        return self._run(self.overdue_query(user_id, groups, username, now, limit, offset))

    @staticmethod
    def overdue_query(user_id: int, groups: Iterable[str], username: str, now: datetime, limit: int,
                      offset: int, paging: str | None = None, cursor: str | None = None) -> TaskQuery:
        """The query of `overdue`; a keyset page after / before the task `cursor` with `paging`."""
        names = _candidate_names(groups, username)
        groups_n = len(names) - 1
        stmt = _shape(("overdue", groups_n, paging), lambda: _merged_page(
            [_assigned_overdue_head("head_limit", paging), *_pool_heads(groups_n, "head_limit", due=True,
                                                                         paging=paging)], paging))
        return stmt, {**names, "user_id": user_id, "now": now, "limit": limit, "offset": offset,
                      "head_limit": limit + offset, "cursor": cursor}

    def inbox_counts(self, user_id: int, groups: Iterable[str], username: str, now: datetime,
                     cap: int) -> dict[str, int]:
        """How many tasks are mine, in my pool and overdue, each counted up to `cap` + 1 (more reads as "more
        than cap"), in one statement of bounded index scans."""
        columns, params = self.count_columns(user_id, groups, username, now, cap)
        row = self.session.execute(select(*columns), params).one()
        return {name: int(row[n]) for n, name in enumerate(COUNTED)}

    @staticmethod
    def count_columns(user_id: int, groups: Iterable[str], username: str, now: datetime,
                      cap: int) -> tuple[list[Any], dict[str, Any]]:
        """The counts of `inbox_counts` as uncorrelated scalar subqueries (computed once per statement), so they
        can ride along with a page query; and their parameter values."""
        names = _candidate_names(groups, username)
        groups_n = len(names) - 1
        columns = _shape(("counts", groups_n), lambda: _count_columns(groups_n))
        return columns, {**names, "user_id": user_id, "now": now, "cap1": cap + 1}

    def filtered_query(self, tab: str, user_ids: list[int], groups: Iterable[str], username: str,
                       now: datetime | None, flt: TaskFilter, limit: int, offset: int, user_id: int = 0,
                       paging: str | None = None, cursor: str | None = None) -> TaskQuery:
        """A page of a tab's open tasks sorted by a column and narrowed by column filters (docs/lists.md); a
        keyset page after / before the task `cursor` with `paging`. A page by task name counts the tab's tasks
        per name first (a statement of its own, engine/store/inbox_names.py)."""
        names = _candidate_names(groups, username)
        groups_n = len(names) - 1
        params = {**names, **flt.params(), "user_ids": list(user_ids), "user_id": user_id, "now": now,
                  "limit": limit, "offset": offset, "cursor": cursor}
        if name_ordered(tab, flt.sort):
            sort, keyed = flt.sort or "task", paging is not None
            counts = _group_counts(tab, groups_n, flt, keyed)
            rows = self.session.execute(counts, {**params, "cap": offset + limit}).all()
            spanned: list[Any] | None
            if keyed:  # the groups from the cursor's on (None: no group holds it, the whole tab is read)
                keyset = keyset_span(rows, limit, paging == "before")
                spanned, within, cursor_rank = (keyset[0], 0, keyset[1]) if keyset else (None, 0, 0)
            else:
                (spanned, within), cursor_rank = page_span(rows, offset, limit), 0
            if spanned is not None and len(spanned) <= MAX_SPANNED:
                page_key = (tab, groups_n, flt.given(), span_shape(spanned), sort, paging, cursor_rank)
                stmt = _shape(("names", *page_key), lambda: _per_run(tab, flt, name_page(*page_key)))
                return stmt, {**params, **span_params(spanned, sort), **bounds(), "offset": within,
                              "head_limit": limit + within}
        if segmented(tab, flt.sort, flt.given()):
            # bounded index range scans, not a read of the whole tab (engine/store/inbox_segments.py)
            key = (tab, groups_n, flt.sort, flt.descending, flt.given(), paging)
            stmt = _shape(("segmented", *key), lambda: _per_run(tab, flt, segmented_page(*key)))
            return stmt, {**params, **bounds(), "head_limit": limit + offset}
        shape = (tab, groups_n, flt.sort, flt.descending, flt.given(), flt.label_shape(), paging)
        if tab == "team":  # the page's ids cut from narrow rows first (engine/store/inbox_team.py)
            team = (groups_n, flt.sort, flt.descending, flt.given(), flt.label_shape(), paging)
            return _shape(("team", *team), lambda: _per_run(tab, flt, team_page(*team))), params
        return _shape(("filtered", *shape), lambda: _per_run(tab, flt, page_select(*shape))), params

    @staticmethod
    def filtered_count_columns(user_id: int, groups: Iterable[str], username: str, now: datetime, cap: int,
                               flt: TaskFilter) -> tuple[list[Any], dict[str, Any]]:
        """`count_columns` under the column filters of `flt` (the tab counts say what the filters leave)."""
        if not flt.given():
            return TaskRepository.count_columns(user_id, groups, username, now, cap)
        names = _candidate_names(groups, username)
        groups_n = len(names) - 1
        columns = _shape(("filtered_counts", groups_n, flt.given()), lambda: filtered_counts(groups_n, flt.given()))
        return columns, {**names, **flt.params(), "user_id": user_id, "now": now,
                         "cap1": cap + 1}

    def named_counts(self, counts: tuple[list[Any], dict[str, Any]]) -> list[int]:
        """The values of `count_columns` alone (a tab with nothing to list)."""
        columns, params = counts
        return [int(v) for v in self._plain_rows(select(*columns), params)[0]]

    def named(self, query: TaskQuery, counts: tuple[list[Any], dict[str, Any]] | None = None, people: bool = False,
              ) -> tuple[list[tuple[TaskFields, str | None, str | None, str | None, str | None]], list[int],
                         dict[str, str]]:
        """A page of tasks with each task's record title, assignee's username, process name and assignee's display
        name, and the `counts` columns, in one statement; the counts are read alone when the page is empty.
        `people`: also the display names of the users the page's tasks name as candidates, by login (the page
        shows them; a separate statement read them after the page). The tasks come as plain rows of the columns a
        task view shows (`TaskFields`), not as rows the session holds: a page is shown, never written back."""
        stmt, params = query
        extra, extra_params = counts or _NO_COUNTS

        def build() -> tuple[Any, Any, Select[Any]]:
            # scalar subqueries, not joins: PostgreSQL evaluates them for the page's rows only, after the sort and
            # limit (a join would first fetch a title for every open task of the user: 10.9 ms against 1.7 ms). The
            # record's title and the process version are the task's own copies (kept current in the transaction
            # that changes them, engine/store/task_titles.py; a task's version never changes), which the page's
            # filters and sorts read too: a lookup of the record and one of the instance per row read ~6 buffers
            # of a page's row (~300 of a page of 51)
            shown = (TaskRow.record_title, assignee_name(), process_name(), assignee_display_name())
            return stmt, extra, stmt.with_only_columns(
                *_SHOWN_COLUMNS, *shown, *([candidate_people()] if people else []), *extra)

        made = _shape(("named", id(stmt), id(extra), people), build)
        if made[0] is not stmt or made[1] is not extra:  # an id reused by a statement that was never shared
            made = build()
        named = made[2]
        rows = self._plain_rows(named, {**params, **extra_params})  # a row's task columns read by name, as a task's
        first_shown = len(_SHOWN_COLUMNS)
        page = [(cast(TaskFields, r), r[first_shown], r[first_shown + 1], r[first_shown + 2], r[first_shown + 3])
                for r in rows]
        first = first_shown + (5 if people else 4)  # where the counts begin
        named_people: dict[str, str] = {}
        for row in rows if people else ():
            for pair in (row[first_shown + 4] or "").split(PEOPLE_SEP):
                if pair:
                    login, _, name = pair.partition(PERSON_SEP)
                    named_people[login] = name
        if not extra:
            return page, [], named_people
        if rows:
            return page, [int(v) for v in rows[0][first:]], named_people
        return [], [int(v) for v in self._plain_rows(select(*extra), extra_params)[0]], named_people

    def run(self, query: TaskQuery) -> list[TaskRow]:
        """The tasks of a query."""
        return self._run(query)

    def _run(self, query: TaskQuery) -> list[TaskRow]:
        stmt, params = query
        return list(self.session.scalars(stmt, params).all())


# The inbox queries are built once per shape (which query, how many candidate names) with bound parameters and
# shared: building and hashing these unions of index scans per request cost more than running them. The shapes
# used last are kept: a tab's pages by name, labels and cursor are many shapes, and a cache that kept only the first
# 512 built every shape after them on every request (2-20 ms each, and its cache key hashed again).
_SHAPES: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_MAX_SHAPES = 512
_SHAPES_LOCK = Lock()


def _shape(key: tuple[Any, ...], build: Callable[[], Any]) -> Any:
    with _SHAPES_LOCK:
        found = _SHAPES.get(key)
        if found is not None:
            _SHAPES.move_to_end(key)
            return found
    found = build()  # outside the lock: two threads may build one shape, the first kept
    with _SHAPES_LOCK:
        found = _SHAPES.setdefault(key, found)
        _SHAPES.move_to_end(key)
        while len(_SHAPES) > _MAX_SHAPES:
            _SHAPES.popitem(last=False)
    return found


def _per_run(tab: str, flt: TaskFilter, stmt: Any) -> Any:
    """A page's statement, planned by PostgreSQL for the values of each request (db.PLANNED_PER_RUN) where the plan it
    would keep for any values reads several times more: pages filtered by record title or process (a pattern, a
    process: the kept plan guesses how many tasks match; up to 289 times the buffers at 100,000 tasks) and the Team
    tab sorted or filtered (3.4 times). Elsewhere the kept plan reads the same or up to twice as much, and keeping it
    saves planning the page each time (~1-2 ms): per-request plans made the sorted Pool and Overdue pages 1.06 times
    slower at p50 (interleaved, load 1.3)."""
    if tab == "team" or {"record", "process"} & set(flt.given()):
        return stmt.execution_options(**{PLANNED_PER_RUN: True})
    return stmt


def _group_counts(tab: str, groups: int, flt: TaskFilter, keyed: bool) -> Select[Any]:
    """The count statement of a page read by name groups (engine/store/inbox_names.py); `keyed`: a keyset page's,
    which marks the cursor task's group."""
    if flt.sort == "assignee":
        key: tuple[Any, ...] = (flt.given(), flt.descending, keyed)
        return cast(Select[Any], _shape(("assignee_counts", *key), lambda: assignee_counts(*key)))
    if flt.sort == "process":
        key = (tab, groups, flt.given(), flt.label_shape()[2], flt.descending, keyed)
        return cast(Select[Any], _shape(("process_counts", *key), lambda: process_counts(*key)))
    key = (tab, groups, flt.given(), flt.label_shape(), flt.descending, keyed)
    return cast(Select[Any], _shape(("name_counts", *key), lambda: name_counts(*key)))


def _candidate_names(groups: Iterable[str], username: str) -> dict[str, str]:
    """Parameter values of the candidate names: cand_0.. for the groups (sorted), cand_user for the user (so a
    user's groups number one less than the names)."""
    return {**{f"cand_{n}": g for n, g in enumerate(sorted(set(groups)))}, "cand_user": username}


def _open_page(where: Any, paging: str | None) -> Select[tuple[TaskRow]]:
    """A keyset page of open tasks (narrowed by `where`), soonest due first, ties by creation and id: the page's ids
    cut from the (assignee, state, due, created) index first, then their rows. Sorting whole rows read every task
    of the assignees from the table (Team at 100,000 tasks on PostgreSQL: 5,234 rows of 2,000 heap pages, 25 ms);
    the ids and times come from an index-only scan (1.8 ms)."""
    ids = select(TaskRow.id, TaskRow.due_at, TaskRow.created_at).where(TaskRow.state == "open")
    page = task_page(cast(Select[tuple[TaskRow]], ids if where is None else ids.where(where)), TIE, paging).subquery()
    return (select(TaskRow).join(page, page.c.id == TaskRow.id)
            .order_by(*order_by([(value(page.c), desc) for value, desc in TIE], paging == "before")))


def _cursor_sort_at(due: bool) -> Any:
    """The sort time of the task bound as `cursor`: on its candidate rows (the time the heads rank by; due time
    for the overdue tab), else — a task assigned without candidates, on the overdue tab — on the task itself."""
    candidate, task = aliased(TaskCandidateRow), aliased(TaskRow)
    at = candidate.due_at if due else candidate.sort_at
    own = task.due_at if due else func.coalesce(task.due_at, task.created_at)
    return func.coalesce(
        select(func.min(at)).where(candidate.task_id == bindparam("cursor")).scalar_subquery(),
        select(own).where(task.id == bindparam("cursor")).scalar_subquery(),
    )


def _pool_heads(groups: int, limit_key: str, *, due: bool, paging: str | None = None) -> list[Select[Any]]:
    """Per candidate name: the first pooled task ids by sort time (due, else created), at most `limit_key`. With
    `due`: the tasks due before `now`, by due time (an index range that holds no undated task). With `paging`:
    those after / before the task bound as `cursor` (each head's index range starts at the cursor)."""
    at = TaskCandidateRow.due_at if due else TaskCandidateRow.sort_at
    wanted = [("group", f"cand_{n}") for n in range(groups)] + [("user", "cand_user")]
    backward = paging == "before"
    heads = []
    for kind, key in wanted:
        head = select(TaskCandidateRow.task_id, at.label("sort_at")).where(
            TaskCandidateRow.kind == kind, TaskCandidateRow.name == bindparam(key), TaskCandidateRow.pooled == true())
        if due:
            head = head.where(TaskCandidateRow.due_at < bindparam("now"))
        if paging is not None:
            head = head.where(beyond([(at, _cursor_sort_at(due), False),
                                      (TaskCandidateRow.task_id, bindparam("cursor"), False)], backward))
        sub = (head.order_by(*order_by([(at, False), (TaskCandidateRow.task_id, False)], backward))
               .limit(bindparam(limit_key, type_=BigInteger)).subquery())
        heads.append(select(sub.c.task_id, sub.c.sort_at))
    return heads


def _assigned_overdue_head(limit_key: str, paging: str | None = None, counted: bool = False) -> Select[Any]:
    """The reader's own tasks due before `now`, by due time (`counted`: any of them, in the index's order)."""
    backward = paging == "before"
    head = select(TaskRow.id.label("task_id"), TaskRow.due_at.label("sort_at")).where(
        TaskRow.assignee_id == bindparam("user_id"), TaskRow.state == "open", TaskRow.due_at < bindparam("now"))
    if paging is not None:
        cursor = aliased(TaskRow)
        due = select(cursor.due_at).where(cursor.id == bindparam("cursor")).scalar_subquery()
        head = head.where(beyond([(TaskRow.due_at, due, False), (TaskRow.id, bindparam("cursor"), False)], backward))
    # a count needs no order, but says the index's: PostgreSQL then reads the index up to the cap, where a bitmap
    # scan would read every one of the reader's overdue tasks first
    ordered = order_by([(TaskRow.due_at, False), (TaskRow.id, False)], backward) if not counted else \
        [TaskRow.assignee_id, TaskRow.state, TaskRow.due_at]
    sub = head.order_by(*ordered).limit(bindparam(limit_key, type_=BigInteger)).subquery()
    return select(sub.c.task_id, sub.c.sort_at)


def _merged_page(heads: list[Select[Any]], paging: str | None = None) -> Select[tuple[TaskRow]]:
    """Merge per-name heads of (task_id, sort_at): each task ranked by its earliest row, one page of tasks (in
    reverse order for a page before a cursor)."""
    backward = paging == "before"
    merged = union_all(*heads).subquery()
    first = func.min(merged.c.sort_at)
    page = (
        select(merged.c.task_id, first.label("sort_at"))
        .group_by(merged.c.task_id)
        .order_by(*order_by([(first, False), (merged.c.task_id, False)], backward))
        .limit(bindparam("limit", type_=BigInteger))
        .offset(bindparam("offset", type_=BigInteger))
        .subquery()
    )
    return (select(TaskRow).join(page, page.c.task_id == TaskRow.id)
            .order_by(*order_by([(page.c.sort_at, False), (TaskRow.id, False)], backward)))


def _count_columns(groups: int) -> list[Any]:
    def distinct_count(heads: list[Select[Any]]) -> Any:
        merged = union_all(*heads).subquery()
        ids = select(merged.c.task_id).group_by(merged.c.task_id).limit(bindparam("cap1", type_=BigInteger)).subquery()
        return select(func.count()).select_from(ids).scalar_subquery()

    mine = (select(TaskRow.id).where(TaskRow.assignee_id == bindparam("user_id"), TaskRow.state == "open")
            .order_by(TaskRow.assignee_id, TaskRow.state, TaskRow.created_at)  # read up to the cap: see above
            .limit(bindparam("cap1", type_=BigInteger)).subquery())
    return [
        select(func.count()).select_from(mine).scalar_subquery().label("count_mine"),
        distinct_count(_pool_heads(groups, "cap1", due=False)).label("count_pool"),
        distinct_count([_assigned_overdue_head("cap1", counted=True), *_pool_heads(groups, "cap1", due=True)])
        .label("count_overdue"),
    ]


_EVENTS_INSERT = Prebuilt(insert(cast(Table, InstanceEventRow.__table__)))


class HistoryRepository(_Repository):
    def add_many(self, rows: list[dict[str, Any]]) -> None:
        """Append instance events (column values, every column in each) in one statement (executemany)."""
        if not rows:
            return
        if self._staged_first(InstanceRow, InstanceEventRow)["autoflush"]:
            self.session.flush()
        # a Core insert of the table: the ORM's bulk path costs as much again as the statement itself, for nothing
        # it adds here (no defaults to fetch, no objects to keep)
        _EVENTS_INSERT.insert_rows(self.session, rows)

    def add_batch(self, rows: list[dict[str, Any]]) -> None:
        """add_many for the events of many instances (a batch of starts): through COPY on PostgreSQL from a few
        dozen rows (one multi-row INSERT would pass the driver's limit of parameters), an executemany on SQLite."""
        if rows and self._staged_first(InstanceRow, InstanceEventRow)["autoflush"]:
            self.session.flush()
        insert_rows(self.session, cast(Table, InstanceEventRow.__table__), rows)

    def events(self, instance_id: int) -> list[InstanceEventRow]:
        """Every step of an instance, in order."""
        stmt = select(InstanceEventRow).where(InstanceEventRow.instance_id == instance_id)
        return list(self.session.scalars(stmt.order_by(InstanceEventRow.id)).all())


_TIMERS = cast(Table, TimerRow.__table__)
_TIMER_INSERT = Prebuilt(insert(_TIMERS))  # prebuilt: a step's new timer rows, sent at once (no ORM object, no flush)
_FORGET_TIMERS = delete(_TIMERS).where(_TIMERS.c.instance_id == bindparam("instance_id"),
                                       _TIMERS.c.task_id.in_(bindparam("task_ids", expanding=True)),
                                       _TIMERS.c.fired_at.is_(None))
_FORGET_TIMER = Prebuilt(delete(_TIMERS).where(_TIMERS.c.instance_id == bindparam("instance_id"),
                                               _TIMERS.c.task_id == bindparam("task_id"),
                                               _TIMERS.c.fired_at.is_(None)))  # one task's (a step's usual case)


class TimerRepository(_Repository):
    def insert_awaited(self, rows: list[dict[str, Any]]) -> None:
        """Insert new timer rows (instance_id, task_id, element_id, due_at each) in one prebuilt Core statement
        sent now, not ORM objects flushed at the commit: nothing of the unit of work is flushed first and no
        object is kept (a later read finds the rows in the database; a savepoint or transaction that rolls back
        takes them with it). On PostgreSQL the table's trigger wakes the worker at the commit (engine.store.wakeup)."""
        if not rows:
            return
        _TIMER_INSERT.insert_rows(self.session, [{**row, "fired_at": None} for row in rows])

    def pending_for_instance(self, instance_id: int) -> list[TimerRow]:
        """Timers of an instance that have not fired."""
        stmt = select(TimerRow).where(TimerRow.instance_id == instance_id, TimerRow.fired_at.is_(None))
        return list(self.session.scalars(stmt).all())

    def forget(self, instance_id: int, task_ids: list[str]) -> None:
        """Delete the unfired timers of these tasks of an instance, in one statement; rows of them this unit of
        work holds count as deleted."""
        # a timer row of the instance held here (one being fired; an expired one is not read to find out): the
        # ORM's delete marks the rows it holds as deleted
        held = any(isinstance(row, TimerRow) and row.__dict__.get("instance_id", instance_id) == instance_id
                   for row in self.session.identity_map.values())
        if held:
            self.session.execute(
                delete(TimerRow)
                .where(TimerRow.instance_id == instance_id, TimerRow.task_id.in_(task_ids),
                       TimerRow.fired_at.is_(None))
                .execution_options(synchronize_session="fetch")
            )
            return
        # none held (a user task completed before its deadline): a prebuilt Core DELETE, without the ORM's
        # bulk-delete bookkeeping (a fetch of the deleted ids and a search of the session for them)
        wanted = sorted(set(task_ids))
        if len(wanted) == 1:
            _FORGET_TIMER.send(self.session, {"instance_id": instance_id, "task_id": wanted[0]})
        else:
            self.session.execute(_FORGET_TIMERS, {"instance_id": instance_id, "task_ids": wanted})

    def move(self, instance_id: int, task_id: str, due_at: datetime) -> None:
        """Give the unfired timer of a task a new due time (a cycle's next one)."""
        self.session.execute(
            update(TimerRow)
            .where(TimerRow.instance_id == instance_id, TimerRow.task_id == task_id, TimerRow.fired_at.is_(None))
            .values(due_at=due_at)
            .execution_options(synchronize_session="fetch")
        )

    def get(self, timer_id: int) -> TimerRow | None:
        """A timer by id."""
        return self.session.get(TimerRow, timer_id)

    @staticmethod
    def due_condition(now: datetime) -> ColumnElement[bool]:
        """Unfired, due by `now`, not parked, not waiting for a later retry."""
        return and_(TimerRow.fired_at.is_(None), TimerRow.due_at <= now, retry_due(TimerRow, now))

    def due(self, now: datetime, limit: int, skip: Iterable[int] = ()) -> list[TimerRow]:
        """Due timers (but those in `skip`), oldest first, locked for this transaction; rows other workers hold
        are skipped."""
        stmt = (
            select(TimerRow)
            .where(self.due_condition(now), not_in(TimerRow.id, skip))
            .order_by(TimerRow.due_at, TimerRow.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list(self.session.scalars(stmt).all())

    def delete(self, row: TimerRow) -> None:
        """Forget a timer whose task went away."""
        self.session.delete(row)
