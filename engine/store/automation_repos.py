"""Repositories of automation: links, outbox, rule schedules, assignment cursors, reminders, message waits."""


from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, and_, delete, func, insert, select, true, update
from sqlalchemy.exc import IntegrityError

from engine.store.bulk_insert import insert_rows
from engine.store.job_repos import not_in, retry_due
from engine.store.models import (
    AssignmentCursorRow,
    InboundEventRow,
    MessageWaitRow,
    OutboxRow,
    RecordLinkRow,
    RecordRow,
    ReminderRow,
    RuleScheduleRow,
    TaskRow,
    UserRow,
)
from engine.store.repo_base import _Repository, team_memo


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

    def add_references(self, rows: Sequence[tuple[int, str, int]], now: datetime, by: str) -> None:
        """Reference rows (record id, field, target id) of new records, which have none yet, in multi-row
        statements."""
        if rows:
            self.session.execute(insert(cast(Table, RecordLinkRow.__table__)), [
                {"from_record_id": f, "to_record_id": t, "kind": "reference", "field": name, "created_at": now,
                 "created_by": by[:80]} for f, name, t in rows])

    def add_rows(self, rows: Sequence[dict[str, Any]]) -> None:
        """New links (column values, the same columns in each) in one statement (COPY on PostgreSQL)."""
        insert_rows(self.session, cast(Table, RecordLinkRow.__table__), rows)

    def kinds_from(self, record_ids: Iterable[int]) -> dict[int, set[str]]:
        """The kinds of the links each of these records makes, by record id (those without links left out)."""
        wanted = sorted(set(record_ids))
        found: dict[int, set[str]] = {}
        for start in range(0, len(wanted), 500):
            stmt = select(RecordLinkRow.from_record_id, RecordLinkRow.kind).where(
                RecordLinkRow.from_record_id.in_(wanted[start:start + 500]))
            for record_id, kind in self.session.execute(stmt):
                found.setdefault(record_id, set()).add(kind)
        return found

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

    def references_from(self, record_ids: Iterable[int]) -> list[RecordLinkRow]:
        """The reference-field links made by these records, by id (for the reference-link backfill)."""
        wanted = set(record_ids)
        if not wanted:
            return []
        stmt = select(RecordLinkRow).where(RecordLinkRow.from_record_id.in_(wanted),
                                           RecordLinkRow.kind == "reference").order_by(RecordLinkRow.id)
        return list(self.session.scalars(stmt).all())

    def entities_of(self, record_ids: Iterable[int]) -> dict[int, str]:
        """The entity of each of these records that exists, by id (a reference may only point at one)."""
        wanted = set(record_ids)
        if not wanted:
            return {}
        rows = self.session.execute(select(RecordRow.id, RecordRow.entity).where(RecordRow.id.in_(wanted))).all()
        return {record_id: entity for record_id, entity in rows}


class OutboxRepository(_Repository):
    """E-mails waiting to be sent."""

    def get(self, message_id: int) -> OutboxRow | None:
        """A message by id."""
        return self.session.get(OutboxRow, message_id)

    @staticmethod
    def due_condition(now: datetime) -> ColumnElement[bool]:
        """Pending and its next attempt due by `now`."""
        return and_(OutboxRow.status == "pending", OutboxRow.next_attempt_at <= now)

    def due(self, now: datetime, limit: int, skip: Iterable[int] = ()) -> list[OutboxRow]:
        """Pending messages whose next attempt is due (but those in `skip`), oldest first, locked; rows other
        workers hold are skipped."""
        stmt = (
            select(OutboxRow)
            .where(self.due_condition(now), not_in(OutboxRow.id, skip))
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

    def missing(self, names: Iterable[str]) -> set[str]:
        """Which of these schedule names have no row yet."""
        wanted = set(names)
        known = set(self.session.scalars(select(RuleScheduleRow.rule).where(RuleScheduleRow.rule.in_(wanted))))
        return wanted - known

    def ensure(self, rule: str, now: datetime) -> None:
        """Create a rule's schedule row, due at `now`, unless it exists."""
        if self.session.get(RuleScheduleRow, rule) is None:
            self.session.add(RuleScheduleRow(rule=rule, next_run_at=now, last_run_at=None))

    @staticmethod
    def due_condition(now: datetime) -> ColumnElement[bool]:
        """Its period (or the retry of a failed run) is due by `now`, and it is not parked."""
        return and_(RuleScheduleRow.parked_at.is_(None),
                    func.coalesce(RuleScheduleRow.next_attempt_at, RuleScheduleRow.next_run_at) <= now)

    def next_due(self, names: Iterable[str], now: datetime, skip: Iterable[str] = ()) -> RuleScheduleRow | None:
        """The due schedule row among `names` (but those in `skip`), locked; rows other workers hold are
        skipped."""
        stmt = (select(RuleScheduleRow)
                .where(RuleScheduleRow.rule.in_(sorted(set(names))), self.due_condition(now),
                       not_in(RuleScheduleRow.rule, skip))
                .order_by(RuleScheduleRow.rule).limit(1).with_for_update(skip_locked=True))
        return self.session.scalar(stmt)


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
        """Active users of a team with one of these roles, by id (the team's ids are remembered for
        UserRepository.team_member_ids: the Team tab asks for both)."""
        stmt = select(UserRow).where(UserRow.team == team, UserRow.active == true()).order_by(UserRow.id)
        members = self.session.scalars(stmt).all()
        team_memo(self.session).setdefault(team, [u.id for u in members])
        wanted = set(roles)
        return [u for u in members if wanted & set(u.roles.split(","))]

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
        """Records a user owns, oldest first (merged ones stay as they were: they are read-only)."""
        stmt = (select(RecordRow).where(RecordRow.owner_id == user_id, RecordRow.merged_into_id.is_(None))
                .order_by(RecordRow.id))
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

    @staticmethod
    def due_condition(now: datetime) -> ColumnElement[bool]:
        """Unfired, due by `now`, not parked, not waiting for a later retry."""
        return and_(ReminderRow.fired_at.is_(None), ReminderRow.due_at <= now, retry_due(ReminderRow, now))

    def due(self, now: datetime, limit: int, skip: Iterable[int] = ()) -> list[ReminderRow]:
        """Due reminders (but those in `skip`), locked for this transaction; rows other workers hold are
        skipped."""
        stmt = (
            select(ReminderRow)
            .where(self.due_condition(now), not_in(ReminderRow.id, skip))
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
