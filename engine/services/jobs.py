"""Background jobs that never poison the queue: every job item (a timer, a reminder, an e-mail, a scheduled rule
or scan) runs in its own transaction, and a failure of any kind is recorded on the item's row, retried with
exponential backoff and, after its retries, parked as an incident, while the other due items go on.

A worker picks a due row with SKIP LOCKED (where the database has it), holds it with a conditional update, and
runs the item in a savepoint of that transaction: when the item fails, the savepoint rolls back and the failure
is written in the same transaction, under the same lock, so no item runs twice at once and none is lost."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar, Generic, TypeVar

from engine.errors import FlowError, ValidationError
from engine.messages import Message
from engine.store.incident_models import IncidentRow
from engine.store.uow import UnitOfWork

log = logging.getLogger(__name__)

RETRIES_VARIABLE = "FLOWCRM_JOB_RETRIES"
BACKOFF_VARIABLE = "FLOWCRM_JOB_BACKOFF_SECONDS"
ERROR_LENGTH = 2000

Row = TypeVar("Row")


@dataclass(frozen=True)
class RetryPolicy:
    """How often a failed job item is tried again and how long it waits before each retry."""

    retries: int = 3  # retries after the first failure; the next failure after them parks the item
    first_delay: timedelta = timedelta(minutes=1)  # doubled at each further retry
    delays: tuple[timedelta, ...] = ()  # explicit waits per retry instead (the last one repeats)

    def delay(self, failures: int) -> timedelta:
        """The wait after the `failures`-th failure (1-based)."""
        if self.delays:
            return self.delays[min(failures, len(self.delays)) - 1]
        return self.first_delay * (1 << (failures - 1))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RetryPolicy:
        """FLOWCRM_JOB_RETRIES (default 3) and FLOWCRM_JOB_BACKOFF_SECONDS (the first wait, default 60)."""
        env = os.environ if environ is None else environ
        errors: dict[str, list[str]] = {}
        retries, first = cls.retries, cls.first_delay
        raw = env.get(RETRIES_VARIABLE, "").strip()
        if raw:
            if raw.isdigit() and int(raw) <= 100:
                retries = int(raw)
            else:
                errors[RETRIES_VARIABLE] = [f"must be a whole number from 0 to 100, not {raw!r}"]
        raw = env.get(BACKOFF_VARIABLE, "").strip()
        if raw:
            try:
                seconds = float(raw)
            except ValueError:
                seconds = -1.0
            if 0 <= seconds <= 7 * 86400:
                first = timedelta(seconds=seconds)
            else:
                errors[BACKOFF_VARIABLE] = [f"must be a number of seconds from 0 to 604800, not {raw!r}"]
        if errors:
            raise ValidationError(errors)
        return cls(retries=retries, first_delay=first)


@dataclass(frozen=True)
class Concerns:
    """What a job item is about, for its incident and the pages that show it."""

    instance_id: int | None = None
    task_id: str | None = None
    record_id: int | None = None


@dataclass(frozen=True)
class PartlyFailed:
    """A job item did its work for some parts and failed on others: the work stays, the failure is recorded."""

    error: str


@dataclass
class Outcome:
    """What one run over due items did."""

    done: int = 0  # items that ran
    failed: int = 0  # items that failed (retry scheduled, or parked)
    parked: int = 0  # of those, items that became incidents
    errors: list[Exception] = field(default_factory=list)

    @property
    def taken(self) -> int:
        """Items tried, whatever came of them."""
        return self.done + self.failed


def describe(error: BaseException) -> str:
    """An error as its row and incident keep it: the engine's own messages as they are, others with their type."""
    text = str(error) if isinstance(error, FlowError) else Message("runtime.error", error=type(error).__name__,
                                                                     detail=str(error))
    return text[:ERROR_LENGTH]


class Job(Generic[Row]):
    """One kind of background job over rows with retry bookkeeping (engine.store.models.JobState)."""

    kind: ClassVar[str]
    policy: RetryPolicy | None = None  # None: RetryPolicy.from_env() at each run

    def due(self, uow: UnitOfWork, now: datetime, skip: set[str]) -> Row | None:
        """The next due row (not one of `skip`), locked for this transaction."""
        raise NotImplementedError

    def due_condition(self, uow: UnitOfWork, now: datetime) -> Any:
        """The SQL condition of a due row, re-checked when the row is held."""
        raise NotImplementedError

    def find(self, uow: UnitOfWork, key: str) -> Row | None:
        """The row of a job key (for a retry from its incident)."""
        raise NotImplementedError

    def key(self, row: Row) -> str:
        """The row's key, as incidents name it."""
        return str(row.id)  # type: ignore[attr-defined]

    def concerns(self, row: Row) -> Concerns:
        """What the row is about."""
        raise NotImplementedError

    def run(self, uow: UnitOfWork, row: Row, now: datetime) -> bool | PartlyFailed:
        """Do the item's work (inside a savepoint: raise to undo it). False: not ready, try on a later run."""
        raise NotImplementedError

    def succeeded(self, row: Row, now: datetime) -> None:
        """The item ran: forget its failures."""
        row.attempts, row.next_attempt_at, row.last_error = 0, None, None  # type: ignore[attr-defined]

    def failed(self, uow: UnitOfWork, row: Row, error: str, now: datetime, retry_at: datetime | None) -> None:
        """Note a failure on the row; `retry_at` None: it is parked."""
        row.attempts += 1  # type: ignore[attr-defined]
        row.last_error = error  # type: ignore[attr-defined]
        row.next_attempt_at = retry_at  # type: ignore[attr-defined]
        if retry_at is None:
            row.parked_at = now  # type: ignore[attr-defined]

    def unpark(self, uow: UnitOfWork, row: Row, now: datetime) -> None:
        """Make a parked (or waiting) row due now, with its attempts counted afresh."""
        row.attempts, row.next_attempt_at, row.parked_at = 0, now, None  # type: ignore[attr-defined]

    def stop_after(self, error: Exception) -> bool:
        """True when this failure means the rest of the run would fail too (e.g. the mail server is down)."""
        return False


class RowJob(Job[Row]):
    """A job over rows keyed by an integer id, read through one repository that has `due(now, limit, skip)`,
    `due_condition(now)` and `get(id)`."""

    def repository(self, uow: UnitOfWork) -> Any:
        """The repository of the job's rows in this unit of work."""
        raise NotImplementedError

    def due(self, uow: UnitOfWork, now: datetime, skip: set[str]) -> Row | None:
        rows = self.repository(uow).due(now, 1, {int(k) for k in skip})
        return rows[0] if rows else None

    def due_condition(self, uow: UnitOfWork, now: datetime) -> Any:
        return self.repository(uow).due_condition(now)

    def find(self, uow: UnitOfWork, key: str) -> Row | None:
        found: Row | None = self.repository(uow).get(int(key))
        return found


def run_due(job: Job[Any], uow: UnitOfWork, now: datetime, *, limit: int | None = None) -> Outcome:
    """Run the job's due items by `now`, each in its own transaction, until none is due (or `limit` were
    tried). A failing item gets a retry time or becomes an incident; it never stops the others."""
    policy = job.policy or RetryPolicy.from_env()
    outcome = Outcome()
    skip: set[str] = set()  # items passed over in this run: not ready, or lost to a concurrent writer
    while limit is None or outcome.taken < limit:
        with uow:
            row = job.due(uow, now, skip)
            if row is None:
                return outcome
            key = job.key(row)
            if not uow.jobs.hold(row, job.due_condition(uow, now)):
                skip.add(key)  # another worker took it between our read and our write
                continue
            error: Exception | None = None
            try:
                with uow.savepoint():
                    result = job.run(uow, row, now)
            except Exception as exc:  # any failure of one item: recorded below, never raised to the worker
                if uow.lost_race(exc):
                    log.info("%s %s gave way to a concurrent change; tried again later: %s", job.kind, key, exc)
                    skip.add(key)
                    continue  # rolled back as a whole: the row is as it was
                error, result = exc, PartlyFailed(describe(exc))
            if result is False:
                skip.add(key)
                continue
            parked = False
            if isinstance(result, PartlyFailed):
                parked = _record_failure(uow, job, row, key, result.error, now, policy)
            elif not uow.gone(row):
                job.succeeded(row, now)
            try:
                uow.commit()
            except FlowError as exc:  # the commit lost a race: nothing of this item stuck, it stays due
                log.info("%s %s gave way to a concurrent change at commit: %s", job.kind, key, exc)
                skip.add(key)
                continue
            if isinstance(result, PartlyFailed):
                outcome.failed, outcome.parked = outcome.failed + 1, outcome.parked + parked
                outcome.errors.append(error or FlowError(result.error))
            else:
                outcome.done += 1
        if error is not None and job.stop_after(error):
            break
    return outcome


def _record_failure(
    uow: UnitOfWork, job: Job[Any], row: Any, key: str, error: str, now: datetime, policy: RetryPolicy
) -> bool:
    """Count a failure on the row; after the policy's retries, park it as an incident. True when parked."""
    parking = row.attempts + 1 > policy.retries
    retry_at = None if parking else now + policy.delay(row.attempts + 1)
    job.failed(uow, row, error, now, retry_at)
    if not parking:
        log.warning(
            "%s %s failed (attempt %d), retrying at %s: %s",
            job.kind,
            key,
            row.attempts,
            retry_at.isoformat() if retry_at else "-",
            error,
        )
        return False
    log.error("%s %s failed %d time(s) and is parked as an incident: %s", job.kind, key, row.attempts, error)
    concerns = job.concerns(row)
    incident = uow.incidents.open_for(job.kind, key)
    if incident is None:
        uow.incidents.add(
            IncidentRow(
                kind=job.kind,
                job_key=key,
                instance_id=concerns.instance_id,
                task_id=concerns.task_id,
                record_id=concerns.record_id,
                error=error,
                attempts=row.attempts,
                created_at=now,
            )
        )
    else:  # parked again before anyone looked: one open incident per item
        incident.error, incident.attempts = error, row.attempts
    return True
