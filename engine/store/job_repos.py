"""Queries every background job kind shares (due, held rows) and the incident table."""

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, inspect, or_, select, union_all, update
from sqlalchemy.exc import OperationalError

from engine.store.incident_models import IncidentRow
from engine.store.models import OutboxRow, ReminderRow, RuleScheduleRow, TimerRow
from engine.store.repo_base import _Repository


def retry_due(model: Any, now: datetime) -> ColumnElement[bool]:
    """Not parked as an incident, and not waiting for a retry later than `now`."""
    return and_(model.parked_at.is_(None), or_(model.next_attempt_at.is_(None), model.next_attempt_at <= now))


def _utc(value: datetime | str) -> datetime:
    """A timestamp read from an aggregate (SQLite returns its text) as an aware UTC datetime."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def not_in(column: Any, keys: Iterable[Any]) -> ColumnElement[bool]:
    """`column` is none of `keys` (rows this run already passed over)."""
    wanted = sorted(set(keys))
    condition: ColumnElement[bool] = column.not_in(wanted) if wanted else column.is_not(None)
    return condition


class JobRepository(_Repository):
    """Holding a job row for the transaction that runs it."""

    def hold(self, row: Any, due: ColumnElement[bool]) -> bool:
        """Write-lock a job row picked as due, if it is still due: a conditional no-op UPDATE. It makes SQLite
        take its write lock before the job's savepoint (so releasing it commits nothing early) and tells a
        worker that lost the row to another one on backends without SKIP LOCKED. False: leave the row."""
        mapper = inspect(type(row))
        (key,) = mapper.primary_key
        stmt = (
            update(type(row))
            .where(key == getattr(row, key.key), row.__class__.attempts == row.attempts, due)
            .values(attempts=row.attempts)
            .execution_options(synchronize_session=False)
        )
        try:
            result = self.session.execute(stmt)
        except OperationalError as exc:  # SQLite: another writer holds the database past the busy timeout
            if "locked" in str(exc.orig).lower():
                return False
            raise
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def next_due_at(self, after: datetime, *, mail: bool) -> datetime | None:
        """The soonest time after `after` at which a job item falls due: a timer, a reminder, a scheduled rule
        or scan period, an e-mail (when `mail`), or a retry of any of them; None when none waits. Items due at
        or before `after` are left out: the worker's last run (begun at `after`) has seen them."""
        candidates = []
        for model, due in ((TimerRow, TimerRow.due_at), (ReminderRow, ReminderRow.due_at)):
            when = func.coalesce(model.next_attempt_at, due)
            candidates.append(
                select(func.min(when)).where(model.fired_at.is_(None), model.parked_at.is_(None), when > after)
            )
        when = func.coalesce(RuleScheduleRow.next_attempt_at, RuleScheduleRow.next_run_at)
        candidates.append(select(func.min(when)).where(RuleScheduleRow.parked_at.is_(None), when > after))
        if mail:
            candidates.append(
                select(func.min(OutboxRow.next_attempt_at)).where(
                    OutboxRow.status == "pending", OutboxRow.next_attempt_at > after
                )
            )
        found = self.session.scalars(union_all(*candidates)).all()  # one round trip: the worker asks often
        times = [_utc(t) for t in found if t is not None]
        return min(times, default=None)


class IncidentRepository(_Repository):
    """Incidents: job items parked after their retries."""

    def get(self, incident_id: int, *, lock: bool = False) -> IncidentRow | None:
        """An incident by id; `lock`: write-locked for this transaction (two retries queue up)."""
        return self.session.get(IncidentRow, incident_id, with_for_update=lock or None)

    def open_for(self, kind: str, job_key: str) -> IncidentRow | None:
        """The open incident of one job item, if any."""
        stmt = (
            select(IncidentRow)
            .where(IncidentRow.kind == kind, IncidentRow.job_key == job_key, IncidentRow.resolved_at.is_(None))
            .limit(1)
        )
        return self.session.scalar(stmt)

    def search(
        self, kind: str | None, state: str | None, instance_id: int | None, limit: int, offset: int
    ) -> tuple[list[IncidentRow], int]:
        """Incidents, newest first, by kind, state (open | resolved) and instance; and how many match."""
        conditions: list[ColumnElement[bool]] = []
        if kind:
            conditions.append(IncidentRow.kind == kind)
        if state == "open":
            conditions.append(IncidentRow.resolved_at.is_(None))
        elif state == "resolved":
            conditions.append(IncidentRow.resolved_at.is_not(None))
        if instance_id is not None:
            conditions.append(IncidentRow.instance_id == instance_id)
        stmt = select(IncidentRow).where(*conditions).order_by(IncidentRow.id.desc()).limit(limit).offset(offset)
        total = self.session.scalar(select(func.count()).select_from(IncidentRow).where(*conditions)) or 0
        return list(self.session.scalars(stmt).all()), int(total)
