"""Repositories: every query the services need, so nothing above the store imports SQLAlchemy."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, exists, func, or_, select, true, union_all, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.store.models import (
    ApiTokenRow,
    AssignmentCursorRow,
    ConfigVersionRow,
    FieldChangeRow,
    InboundEventRow,
    InstanceEventRow,
    InstanceRow,
    MessageWaitRow,
    OutboxRow,
    ProcessVersionRow,
    RecordLinkRow,
    RecordRow,
    ReminderRow,
    RuleScheduleRow,
    TaskCandidateRow,
    TaskRow,
    TimerRow,
    UserRow,
)


def _candidate(groups: Iterable[str], username: str) -> Any:
    """Candidate rows naming one of these groups or this user."""
    return or_(
        and_(TaskCandidateRow.kind == "group", TaskCandidateRow.name.in_(sorted(set(groups)))),
        and_(TaskCandidateRow.kind == "user", TaskCandidateRow.name == username),
    )


def _inbox_record_ids(user_id: int, groups: Iterable[str], username: str) -> Any:
    """Select of record ids with an open task assigned to, or claimable by, a user."""
    pooled = (
        select(TaskRow.record_id)
        .join(TaskCandidateRow, TaskCandidateRow.task_id == TaskRow.id)
        .where(TaskCandidateRow.pooled == true(), _candidate(groups, username))
    )
    mine = select(TaskRow.record_id).where(TaskRow.assignee_id == user_id, TaskRow.state == "open")
    return union_all(pooled, mine)


class _Repository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, row: object) -> None:
        """Stage a new row in this unit of work."""
        self.session.add(row)

    def flush(self) -> None:
        """Assign ids to staged rows."""
        self.session.flush()


class UserRepository(_Repository):
    def get(self, user_id: int) -> UserRow | None:
        """A user by id."""
        return self.session.get(UserRow, user_id)

    def by_username(self, username: str) -> UserRow | None:
        """A user by login name."""
        return self.session.scalar(select(UserRow).where(UserRow.username == username))

    def all(self) -> Sequence[UserRow]:
        """Every user, by login name."""
        return self.session.scalars(select(UserRow).order_by(UserRow.username)).all()

    def by_ids(self, ids: Iterable[int]) -> dict[int, UserRow]:
        """Users by id, for labelling lists."""
        wanted = set(ids)
        if not wanted:
            return {}
        rows = self.session.scalars(select(UserRow).where(UserRow.id.in_(wanted))).all()
        return {r.id: r for r in rows}

    def team_member_ids(self, team: str) -> list[int]:
        """Ids of the active users of a team."""
        stmt = select(UserRow.id).where(UserRow.team == team, UserRow.active.is_(True))
        return list(self.session.scalars(stmt).all())

    def token(self, token_hash: str) -> ApiTokenRow | None:
        """An API token by its hash."""
        return self.session.scalar(select(ApiTokenRow).where(ApiTokenRow.token_hash == token_hash))


class ConfigRepository(_Repository):
    def latest(self) -> ConfigVersionRow | None:
        """The active (most recently deployed) configuration."""
        return self.session.scalar(select(ConfigVersionRow).order_by(ConfigVersionRow.id.desc()).limit(1))

    def latest_id(self) -> int | None:
        """Id of the active configuration."""
        return self.session.scalar(select(func.max(ConfigVersionRow.id)))

    def latest_key(self) -> tuple[int, str] | None:
        """(id, content hash) of the active configuration, cheap enough to ask on every request."""
        row = self.session.execute(
            select(ConfigVersionRow.id, ConfigVersionRow.content_hash).order_by(ConfigVersionRow.id.desc()).limit(1)
        ).first()
        return (row[0], row[1]) if row else None

    def get_config(self, config_id: int) -> ConfigVersionRow | None:
        """A deployed configuration by id."""
        return self.session.get(ConfigVersionRow, config_id)

    def process_version(self, version_id: int) -> ProcessVersionRow | None:
        """A process version by id."""
        return self.session.get(ProcessVersionRow, version_id)

    def latest_process(self, process_id: str) -> ProcessVersionRow | None:
        """The newest version of a process."""
        return self.session.scalar(
            select(ProcessVersionRow)
            .where(ProcessVersionRow.process_id == process_id)
            .order_by(ProcessVersionRow.version.desc())
            .limit(1)
        )

    def process_by_hash(self, process_id: str, content_hash: str) -> ProcessVersionRow | None:
        """The version of a process with this content, if deployed before."""
        return self.session.scalar(
            select(ProcessVersionRow).where(
                ProcessVersionRow.process_id == process_id, ProcessVersionRow.content_hash == content_hash
            )
        )

    def latest_processes(self) -> list[ProcessVersionRow]:
        """The newest version of every process."""
        newest = (
            select(ProcessVersionRow.process_id, func.max(ProcessVersionRow.version).label("v"))
            .group_by(ProcessVersionRow.process_id)
            .subquery()
        )
        stmt = select(ProcessVersionRow).join(
            newest,
            and_(ProcessVersionRow.process_id == newest.c.process_id, ProcessVersionRow.version == newest.c.v),
        )
        return list(self.session.scalars(stmt.order_by(ProcessVersionRow.process_id)).all())

    def all_process_versions(self) -> list[tuple[ProcessVersionRow, int]]:
        """Every process version with its count of running instances."""
        running = (
            select(InstanceRow.process_version_id, func.count().label("n"))
            .where(InstanceRow.status == "running")
            .group_by(InstanceRow.process_version_id)
            .subquery()
        )
        stmt = (
            select(ProcessVersionRow, func.coalesce(running.c.n, 0))
            .outerjoin(running, running.c.process_version_id == ProcessVersionRow.id)
            .order_by(ProcessVersionRow.process_id, ProcessVersionRow.version.desc())
        )
        return [(row, int(n)) for row, n in self.session.execute(stmt).all()]


class RecordRepository(_Repository):
    def get(self, record_id: int) -> RecordRow | None:
        """A record by id."""
        return self.session.get(RecordRow, record_id)

    def page(
        self, entity: str, *, owner_ids: list[int] | None, include_unowned: bool = False,
        inbox_of: tuple[int, Iterable[str], str] | None = None, limit: int = 50, offset: int = 0,
    ) -> list[RecordRow]:
        """Records of an entity, newest first. `owner_ids=None` means no ownership filter; `inbox_of`
        (user id, groups, username) also admits records with an open task in that user's inbox or pool."""
        stmt = select(RecordRow).where(RecordRow.entity == entity, RecordRow.merged_into_id.is_(None))
        if owner_ids is not None:
            visible = [RecordRow.owner_id.in_(owner_ids)]
            if include_unowned:
                visible.append(RecordRow.owner_id.is_(None))
            if inbox_of is not None:
                visible.append(RecordRow.id.in_(_inbox_record_ids(*inbox_of)))
            stmt = stmt.where(or_(*visible))
        stmt = stmt.order_by(RecordRow.id.desc()).limit(limit).offset(offset)
        return list(self.session.scalars(stmt).all())

    def in_inbox_of(self, record_id: int, user_id: int, groups: Iterable[str], username: str) -> bool:
        """True if the record has an open task assigned to, or claimable by, this user."""
        pooled = (
            select(TaskRow.id)
            .join(TaskCandidateRow, TaskCandidateRow.task_id == TaskRow.id)
            .where(TaskRow.record_id == record_id, TaskCandidateRow.pooled == true(), _candidate(groups, username))
        )
        mine = select(TaskRow.id).where(TaskRow.record_id == record_id, TaskRow.assignee_id == user_id,
                                        TaskRow.state == "open")
        return bool(self.session.scalar(select(exists(pooled) | exists(mine))))

    def list_any(self) -> bool:
        """True if any record exists."""
        return self.session.scalar(select(RecordRow.id).limit(1)) is not None

    def titles(self, ids: Iterable[int]) -> dict[int, str]:
        """Record titles by id, in one query."""
        wanted = set(ids)
        if not wanted:
            return {}
        rows = self.session.execute(select(RecordRow.id, RecordRow.title).where(RecordRow.id.in_(wanted))).all()
        return {record_id: title for record_id, title in rows}

    def changes(self, record_id: int) -> list[FieldChangeRow]:
        """Field history of a record, oldest first."""
        stmt = select(FieldChangeRow).where(FieldChangeRow.record_id == record_id).order_by(FieldChangeRow.id)
        return list(self.session.scalars(stmt).all())

    def by_ids(self, ids: Iterable[int]) -> dict[int, RecordRow]:
        """Records by id, in one query."""
        wanted = set(ids)
        if not wanted:
            return {}
        return {r.id: r for r in self.session.scalars(select(RecordRow).where(RecordRow.id.in_(wanted))).all()}

    def referencing(self, record_id: int, entity: str, via: str) -> list[RecordRow]:
        """Records of `entity` whose reference field `via` points at a record (through record_link), oldest first."""
        stmt = (
            select(RecordRow)
            .join(RecordLinkRow, RecordLinkRow.from_record_id == RecordRow.id)
            .where(RecordLinkRow.to_record_id == record_id, RecordLinkRow.kind == "reference",
                   RecordLinkRow.field == via, RecordRow.entity == entity)
            .order_by(RecordRow.id)
        )
        return list(self.session.scalars(stmt).all())

    def by_field(self, entity: str, field: str, value: str) -> RecordRow | None:
        """The first record of an entity whose text field `field` equals `value`."""
        stmt = (select(RecordRow).where(RecordRow.entity == entity, RecordRow.data[field].as_string() == value)
                .order_by(RecordRow.id).limit(1))
        return self.session.scalar(stmt)

    def batch(self, entity: str, after_id: int, limit: int) -> list[RecordRow]:
        """The next `limit` records of an entity with ids above `after_id` (keyset paging for batch jobs)."""
        stmt = (select(RecordRow).where(RecordRow.entity == entity, RecordRow.id > after_id)
                .order_by(RecordRow.id).limit(limit))
        return list(self.session.scalars(stmt).all())


class InstanceRepository(_Repository):
    def get(self, instance_id: int) -> InstanceRow | None:
        """An instance by id."""
        return self.session.get(InstanceRow, instance_id)

    def for_record(self, record_id: int) -> list[InstanceRow]:
        """Instances running or run on a record."""
        stmt = select(InstanceRow).where(InstanceRow.record_id == record_id).order_by(InstanceRow.id)
        return list(self.session.scalars(stmt).all())


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
        """Take a task out of (or put it back in) the claimable pool."""
        self.session.execute(
            update(TaskCandidateRow).where(TaskCandidateRow.task_id == task_id).values(pooled=pooled)
        )

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


class HistoryRepository(_Repository):
    def events(self, instance_id: int) -> list[InstanceEventRow]:
        """Every step of an instance, in order."""
        stmt = select(InstanceEventRow).where(InstanceEventRow.instance_id == instance_id)
        return list(self.session.scalars(stmt.order_by(InstanceEventRow.id)).all())


class TimerRepository(_Repository):
    def pending_for_instance(self, instance_id: int) -> list[TimerRow]:
        """Timers of an instance that have not fired."""
        stmt = select(TimerRow).where(TimerRow.instance_id == instance_id, TimerRow.fired_at.is_(None))
        return list(self.session.scalars(stmt).all())

    def due(self, now: datetime, limit: int) -> list[TimerRow]:
        """Due, unfired timers, locked for this transaction; rows other workers hold are skipped."""
        stmt = (
            select(TimerRow)
            .where(TimerRow.fired_at.is_(None), TimerRow.due_at <= now)
            .order_by(TimerRow.due_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list(self.session.scalars(stmt).all())

    def delete(self, row: TimerRow) -> None:
        """Forget a timer whose task went away."""
        self.session.delete(row)


class LinkRepository(_Repository):
    """Links between records (reference fields and hand-made links)."""

    def outgoing(self, record_id: int) -> list[RecordLinkRow]:
        """Links from a record, oldest first."""
        stmt = select(RecordLinkRow).where(RecordLinkRow.from_record_id == record_id).order_by(RecordLinkRow.id)
        return list(self.session.scalars(stmt).all())

    def incoming(self, record_id: int) -> list[RecordLinkRow]:
        """Links to a record, oldest first."""
        stmt = select(RecordLinkRow).where(RecordLinkRow.to_record_id == record_id).order_by(RecordLinkRow.id)
        return list(self.session.scalars(stmt).all())

    def get(self, link_id: int) -> RecordLinkRow | None:
        """A link by id."""
        return self.session.get(RecordLinkRow, link_id)

    def find(self, from_id: int, to_id: int, kind: str) -> RecordLinkRow | None:
        """The link of this kind between two records (not a reference-field link), if any."""
        stmt = select(RecordLinkRow).where(
            RecordLinkRow.from_record_id == from_id, RecordLinkRow.to_record_id == to_id, RecordLinkRow.kind == kind,
            RecordLinkRow.field.is_(None)).limit(1)
        return self.session.scalar(stmt)

    def reference_target(self, from_id: int, field: str) -> int | None:
        """The id the reference field `field` of a record points at, per record_link."""
        return self.session.scalar(select(RecordLinkRow.to_record_id).where(
            RecordLinkRow.from_record_id == from_id, RecordLinkRow.kind == "reference", RecordLinkRow.field == field
        ).limit(1))

    def set_reference(self, from_id: int, field: str, to_id: int | None, now: datetime, by: str) -> None:
        """Replace the (record, field) reference row: one row while the field holds an id, none when empty."""
        self.session.execute(delete(RecordLinkRow).where(
            RecordLinkRow.from_record_id == from_id, RecordLinkRow.kind == "reference", RecordLinkRow.field == field))
        if to_id is not None:
            self.session.add(RecordLinkRow(from_record_id=from_id, to_record_id=to_id, kind="reference", field=field,
                                           created_at=now, created_by=by[:80]))

    def delete(self, row: RecordLinkRow) -> None:
        """Remove a link."""
        self.session.delete(row)


class OutboxRepository(_Repository):
    """E-mails waiting to be sent."""

    def get(self, message_id: int) -> OutboxRow | None:
        """A message by id."""
        return self.session.get(OutboxRow, message_id)

    def due(self, now: datetime, limit: int) -> list[OutboxRow]:
        """Pending messages whose next attempt is due, oldest first, locked; rows other workers hold are skipped."""
        stmt = (
            select(OutboxRow)
            .where(OutboxRow.status == "pending", OutboxRow.next_attempt_at <= now)
            .order_by(OutboxRow.next_attempt_at, OutboxRow.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list(self.session.scalars(stmt).all())

    def for_record(self, record_id: int, limit: int = 50) -> list[OutboxRow]:
        """Messages about a record, newest first."""
        stmt = select(OutboxRow).where(OutboxRow.record_id == record_id).order_by(OutboxRow.id.desc()).limit(limit)
        return list(self.session.scalars(stmt).all())


class RuleScheduleRepository(_Repository):
    """When scheduled rules are next due."""

    def get(self, rule: str) -> RuleScheduleRow | None:
        """The schedule row of a rule."""
        return self.session.get(RuleScheduleRow, rule)

    def due_names(self, rules: Iterable[str], now: datetime) -> set[str]:
        """Which of these rules have no schedule row yet or are due by `now` (a plain read, no lock)."""
        wanted = set(rules)
        rows = self.session.execute(select(RuleScheduleRow.rule, RuleScheduleRow.next_run_at)
                                    .where(RuleScheduleRow.rule.in_(wanted))).all()
        known = {name: at for name, at in rows}
        return {name for name in wanted if name not in known or known[name] <= now}

    def ensure(self, rule: str, now: datetime) -> None:
        """Create a rule's schedule row, due at `now`, unless it exists."""
        if self.session.get(RuleScheduleRow, rule) is None:
            self.session.add(RuleScheduleRow(rule=rule, next_run_at=now, last_run_at=None))

    def claim(self, rule: str, now: datetime, next_run_at: datetime) -> bool:
        """Take a due run of a rule: lock its row (rows other workers hold are skipped), move it to `next_run_at`.

        False when the row is locked elsewhere, missing, or not due. The conditional UPDATE keeps the claim
        exclusive on backends without row locks as well."""
        locked = self.session.scalar(select(RuleScheduleRow.rule).where(RuleScheduleRow.rule == rule)
                                     .with_for_update(skip_locked=True))
        if locked is None:
            return False
        result = self.session.execute(
            update(RuleScheduleRow)
            .where(RuleScheduleRow.rule == rule, RuleScheduleRow.next_run_at <= now)
            .values(next_run_at=next_run_at, last_run_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


class AssignmentRepository(_Repository):
    """Round-robin cursors per team."""

    def cursor(self, team: str) -> AssignmentCursorRow | None:
        """The team's cursor row, locked for this transaction."""
        stmt = select(AssignmentCursorRow).where(AssignmentCursorRow.team == team).with_for_update()
        return self.session.scalar(stmt)

    def lock_cursor(self, team: str, now: datetime) -> AssignmentCursorRow:
        """The team's cursor, created if missing and write-locked until commit: assignments in one team queue up.

        The UPDATE comes first so SQLite takes its write lock before the read (no lost update there either);
        a racing first insert loses on the primary key inside a savepoint and then waits on the winner's row."""
        touched = self.session.execute(
            update(AssignmentCursorRow).where(AssignmentCursorRow.team == team).values(updated_at=now)
            .execution_options(synchronize_session=False))
        if not touched.rowcount:  # type: ignore[attr-defined]
            try:
                with self.session.begin_nested():
                    self.session.add(AssignmentCursorRow(team=team, last_user_id=None, updated_at=now))
            except IntegrityError:
                pass
        row = self.cursor(team)
        assert row is not None  # noqa: S101 - created above
        self.session.refresh(row)
        return row

    def team_members(self, team: str, roles: Iterable[str]) -> list[UserRow]:
        """Active users of a team with one of these roles, by id."""
        stmt = select(UserRow).where(UserRow.team == team, UserRow.active == true()).order_by(UserRow.id)
        wanted = set(roles)
        return [u for u in self.session.scalars(stmt).all() if wanted & set(u.roles.split(","))]

    def open_counts(self, user_ids: Iterable[int]) -> dict[int, int]:
        """Open tasks per user (users without any are left out)."""
        stmt = (select(TaskRow.assignee_id, func.count()).where(TaskRow.assignee_id.in_(set(user_ids)),
                                                                 TaskRow.state == "open")
                .group_by(TaskRow.assignee_id))
        return {int(uid): int(n) for uid, n in self.session.execute(stmt).all()}

    def tasks(self, task_ids: Iterable[str]) -> dict[str, TaskRow]:
        """Tasks by id, locked for this transaction."""
        stmt = select(TaskRow).where(TaskRow.id.in_(set(task_ids))).with_for_update()
        return {r.id: r for r in self.session.scalars(stmt).all()}

    def records(self, record_ids: Iterable[int]) -> dict[int, RecordRow]:
        """Records by id, locked for this transaction."""
        stmt = select(RecordRow).where(RecordRow.id.in_(set(record_ids))).with_for_update()
        return {r.id: r for r in self.session.scalars(stmt).all()}

    def open_tasks_of(self, user_id: int) -> list[TaskRow]:
        """Open tasks assigned to a user, oldest first."""
        stmt = select(TaskRow).where(TaskRow.assignee_id == user_id, TaskRow.state == "open")
        return list(self.session.scalars(stmt.order_by(TaskRow.created_at, TaskRow.id)).all())

    def records_of(self, user_id: int) -> list[RecordRow]:
        """Records a user owns, oldest first."""
        stmt = select(RecordRow).where(RecordRow.owner_id == user_id).order_by(RecordRow.id)
        return list(self.session.scalars(stmt).all())


class ReminderRepository(_Repository):
    """Reminders users set on records."""

    def get(self, reminder_id: int) -> ReminderRow | None:
        """A reminder by id."""
        return self.session.get(ReminderRow, reminder_id)

    def pending(self, user_id: int, record_id: int | None) -> list[ReminderRow]:
        """A user's reminders that have not fired, on one record or on all, soonest first."""
        stmt = select(ReminderRow).where(ReminderRow.user_id == user_id, ReminderRow.fired_at.is_(None))
        if record_id is not None:
            stmt = stmt.where(ReminderRow.record_id == record_id)
        return list(self.session.scalars(stmt.order_by(ReminderRow.due_at, ReminderRow.id)).all())

    def due(self, now: datetime, limit: int) -> list[ReminderRow]:
        """Due, unfired reminders, locked for this transaction; rows other workers hold are skipped."""
        stmt = (
            select(ReminderRow)
            .where(ReminderRow.fired_at.is_(None), ReminderRow.due_at <= now)
            .order_by(ReminderRow.due_at, ReminderRow.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list(self.session.scalars(stmt).all())

    def claim(self, reminder_id: int, now: datetime) -> bool:
        """Mark a reminder fired unless another transaction did first (backends without SKIP LOCKED too)."""
        result = self.session.execute(
            update(ReminderRow)
            .where(ReminderRow.id == reminder_id, ReminderRow.fired_at.is_(None))
            .values(fired_at=now)
            .execution_options(synchronize_session="fetch")
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def delete(self, row: ReminderRow) -> None:
        """Forget a reminder."""
        self.session.delete(row)


class EventRepository(_Repository):
    """Inbound events and the message waits they correlate to."""

    def waits(self, message: str, business_key: str | None) -> list[MessageWaitRow]:
        """Instances waiting for this message (and business key)."""
        stmt = select(MessageWaitRow).where(MessageWaitRow.message == message,
                                            MessageWaitRow.business_key == business_key)
        return list(self.session.scalars(stmt.order_by(MessageWaitRow.id)).all())

    def waiting_for(self, message: str) -> list[MessageWaitRow]:
        """Every wait for this message, whatever its business key, oldest first."""
        stmt = select(MessageWaitRow).where(MessageWaitRow.message == message).order_by(MessageWaitRow.id)
        return list(self.session.scalars(stmt).all())

    def waits_for_instance(self, instance_id: int) -> list[MessageWaitRow]:
        """The messages one instance waits for."""
        stmt = select(MessageWaitRow).where(MessageWaitRow.instance_id == instance_id)
        return list(self.session.scalars(stmt).all())

    def delete(self, row: MessageWaitRow) -> None:
        """Forget a wait (the message came, or the catch was interrupted)."""
        self.session.delete(row)

    def recent(self, limit: int = 50) -> list[InboundEventRow]:
        """The latest inbound events, newest first."""
        stmt = select(InboundEventRow).order_by(InboundEventRow.id.desc()).limit(limit)
        return list(self.session.scalars(stmt).all())
