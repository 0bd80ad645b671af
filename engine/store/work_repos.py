"""Repositories of process execution: instances, tasks and their candidates, step history, timers."""


from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, and_, bindparam, delete, func, insert, select, true, union_all, update
from sqlalchemy.orm import aliased

from engine.store.job_repos import not_in, retry_due
from engine.store.models import (
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


class InstanceRepository(_Repository):
    def get(self, instance_id: int) -> InstanceRow | None:
        """An instance by id."""
        return self.session.get(InstanceRow, instance_id)

    def running_of_versions(self, version_ids: Iterable[int]) -> list[InstanceRow]:
        """Running instances of these process versions, oldest first."""
        wanted = sorted(set(version_ids))
        if not wanted:
            return []
        stmt = (select(InstanceRow).where(InstanceRow.process_version_id.in_(wanted), InstanceRow.status == "running")
                .order_by(InstanceRow.id))
        return list(self.session.scalars(stmt).all())

    def for_record(self, record_id: int) -> list[InstanceRow]:
        """Instances running or run on a record."""
        stmt = select(InstanceRow).where(InstanceRow.record_id == record_id).order_by(InstanceRow.id)
        return list(self.session.scalars(stmt).all())


_ASSIGNEE = aliased(UserRow)
# built once: an alias and a six-way join cost more to construct (and to key for the statement cache) than the
# database takes to answer them
_TASK_WITH_CONTEXT = (
    select(TaskRow, InstanceRow, ProcessVersionRow, RecordRow, UserRow, _ASSIGNEE)
    .outerjoin(_ASSIGNEE, _ASSIGNEE.id == TaskRow.assignee_id)
    .outerjoin(InstanceRow, InstanceRow.id == TaskRow.instance_id)
    .outerjoin(ProcessVersionRow, ProcessVersionRow.id == InstanceRow.process_version_id)
    .outerjoin(RecordRow, RecordRow.id == TaskRow.record_id)
    .outerjoin(UserRow, UserRow.id == RecordRow.owner_id)
    .where(TaskRow.id == bindparam("task_id"))
)


class TaskRepository(_Repository):
    def get(self, task_id: str) -> TaskRow | None:
        """A task by its id."""
        return self.session.get(TaskRow, task_id)

    def add_candidates(self, task: TaskRow, groups: Iterable[str], users: Iterable[str]) -> None:
        """Index who may claim a task."""
        sort_at = task.due_at or task.created_at
        pooled = task.assignee_id is None and task.state == "open"
        for kind, names in (("group", groups), ("user", users)):
            for name in sorted(set(names)):
                self.session.add(TaskCandidateRow(task_id=task.id, kind=kind, name=name, pooled=pooled,
                                                  sort_at=sort_at))

    def set_pooled(self, task_id: str, pooled: bool) -> None:
        """Take a task out of (or put it back in) the claimable pool. Staged writes to other tables wait for the
        next flush (batched with their like), unless candidate rows are staged: this statement must see them."""
        staged = any(isinstance(row, TaskCandidateRow) for row in self.session.new)
        self.session.execute(
            update(TaskCandidateRow).where(TaskCandidateRow.task_id == task_id).values(pooled=pooled),
            execution_options={"autoflush": staged},
        )

    def load_with_context(self, task_id: str) -> tuple[object, ...]:
        """A task with its instance, process version, record and record owner, in one query: while the caller
        holds the result, `get`s of them in this unit of work are answered without reading again."""
        found = self.session.execute(_TASK_WITH_CONTEXT, {"task_id": task_id}).first()
        return tuple(found) if found is not None else ()

    def try_claim(self, task_id: str, user_id: int) -> bool:
        """Atomically assign an open, unassigned task; False if someone was first."""
        result = self.session.execute(
            update(TaskRow)
            .where(TaskRow.id == task_id, TaskRow.state == "open", TaskRow.assignee_id.is_(None))
            .values(assignee_id=user_id)
            .execution_options(synchronize_session="fetch")
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

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
        stmt = (
            select(TaskRow)
            .where(TaskRow.assignee_id.in_(user_ids), TaskRow.state == "open")
            .order_by(TaskRow.due_at.is_(None), TaskRow.due_at, TaskRow.created_at)
            .limit(limit)
            .offset(offset)
        )
        return list(self.session.scalars(stmt).all())

    def pool(self, groups: Iterable[str], username: str, limit: int, offset: int) -> list[TaskRow]:
        """Open unassigned tasks these groups (or this user by name) may claim, soonest due first.

        One index range scan per candidate name, each stopped after offset+limit rows, then merged: a task's
        rank is its earliest candidate row, and that row has fewer than offset+limit rows ahead of it in its
        own name's list, so the page is exact without grouping every pooled row."""
        wanted = [("group", g) for g in sorted(set(groups))] + [("user", username)]
        heads = []
        for kind, name in wanted:
            head = (
                select(TaskCandidateRow.task_id, TaskCandidateRow.sort_at)
                .where(TaskCandidateRow.kind == kind, TaskCandidateRow.name == name,
                       TaskCandidateRow.pooled == true())
                .order_by(TaskCandidateRow.sort_at, TaskCandidateRow.task_id)
                .limit(limit + offset)
                .subquery()
            )
            heads.append(select(head.c.task_id, head.c.sort_at))
        merged = union_all(*heads).subquery()
        first = func.min(merged.c.sort_at)
        page = (
            select(merged.c.task_id, first.label("sort_at"))
            .group_by(merged.c.task_id)
            .order_by(first, merged.c.task_id)
            .limit(limit)
            .offset(offset)
            .subquery()
        )
        stmt = select(TaskRow).join(page, page.c.task_id == TaskRow.id).order_by(page.c.sort_at, TaskRow.id)
        return list(self.session.scalars(stmt).all())

    def all_open(self, limit: int, offset: int) -> list[TaskRow]:
        """Every open task, soonest due first."""
        stmt = (
            select(TaskRow)
            .where(TaskRow.state == "open")
            .order_by(TaskRow.due_at.is_(None), TaskRow.due_at, TaskRow.created_at)
            .limit(limit)
            .offset(offset)
        )
        return list(self.session.scalars(stmt).all())


_EVENTS_INSERT = insert(cast(Table, InstanceEventRow.__table__))


class HistoryRepository(_Repository):
    def add_many(self, rows: list[dict[str, Any]]) -> None:
        """Append instance events (column values, every column in each) in one statement (executemany)."""
        if not rows:
            return
        if self._staged_first(InstanceRow, InstanceEventRow)["autoflush"]:
            self.session.flush()
        # a Core insert of the table: the ORM's bulk path costs as much again as the statement itself, for nothing
        # it adds here (no defaults to fetch, no objects to keep)
        self.session.execute(_EVENTS_INSERT, rows)

    def events(self, instance_id: int) -> list[InstanceEventRow]:
        """Every step of an instance, in order."""
        stmt = select(InstanceEventRow).where(InstanceEventRow.instance_id == instance_id)
        return list(self.session.scalars(stmt.order_by(InstanceEventRow.id)).all())


class TimerRepository(_Repository):
    def pending_for_instance(self, instance_id: int) -> list[TimerRow]:
        """Timers of an instance that have not fired."""
        stmt = select(TimerRow).where(TimerRow.instance_id == instance_id, TimerRow.fired_at.is_(None))
        return list(self.session.scalars(stmt).all())

    def forget(self, instance_id: int, task_ids: list[str]) -> None:
        """Delete the unfired timers of these tasks of an instance, in one statement; rows of them this unit of
        work holds count as deleted."""
        self.session.execute(
            delete(TimerRow)
            .where(TimerRow.instance_id == instance_id, TimerRow.task_id.in_(task_ids), TimerRow.fired_at.is_(None))
            .execution_options(synchronize_session="fetch")
        )

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
