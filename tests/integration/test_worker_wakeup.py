"""When the worker wakes, against a real database: the next due time over every job kind, and (PostgreSQL) the
NOTIFY sent by a transaction that writes a job row, which wakes a sleeping worker long before its next look."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, update

from engine.bootstrap import UowFactory
from engine.scheduler import Worker
from engine.services import records
from engine.services.deployments import deploy_bundle
from engine.services.views import Actor
from engine.store.models import OutboxRow, RuleScheduleRow, TimerRow
from engine.store.uow import UnitOfWork
from engine.store.wakeup import CHANNEL, Listener
from tests.conftest import NOW
from tests.integration.test_worker import DEPLOYER, bundle, ping

MakeUow = Callable[[], UnitOfWork]


@pytest.fixture
def ready(make_uow: MakeUow) -> MakeUow:
    deploy_bundle(make_uow(), DEPLOYER, bundle(), datetime.now(UTC))
    return make_uow


def schedule(make_uow: MakeUow, name: str, at: datetime, *, commit: bool = True) -> None:
    """A rule schedule row due at `at` (the cheapest job row to write)."""
    with make_uow() as uow:
        uow.schedules.ensure(name, at)
        if commit:
            uow.commit()


def mail(make_uow: MakeUow, at: datetime) -> None:
    with make_uow() as uow:
        uow.outbox.add(
            OutboxRow(
                template="t",
                locale="en",
                to_address="a@example.com",
                subject="s",
                body="b",
                status="pending",
                attempts=0,
                created_at=at,
                created_by="test",
                next_attempt_at=at,
            )
        )
        uow.commit()


def next_due(make_uow: MakeUow, after: datetime, *, with_mail: bool = False) -> datetime | None:
    with make_uow() as uow:
        return uow.jobs.next_due_at(after, mail=with_mail)


def test_next_due_time_is_the_soonest_job_of_any_kind_after_the_last_run(ready: MakeUow) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    assert next_due(ready, now) is None
    instance = ping(ready, now + timedelta(hours=2))
    schedule(ready, "nightly", now + timedelta(hours=3))
    schedule(ready, "stale", now - timedelta(hours=1))  # left due by the last run: not a reason to wake
    mail(ready, now + timedelta(minutes=30))

    assert next_due(ready, now) == now + timedelta(hours=2)
    assert next_due(ready, now, with_mail=True) == now + timedelta(minutes=30)  # e-mail only where it is sent

    with ready() as uow:  # the timer failed and waits for its retry; then it is parked
        uow.session.execute(
            update(TimerRow).where(TimerRow.instance_id == instance).values(next_attempt_at=now + timedelta(minutes=5))
        )
        uow.commit()
    assert next_due(ready, now) == now + timedelta(minutes=5)
    with ready() as uow:
        uow.session.execute(update(TimerRow).where(TimerRow.instance_id == instance).values(parked_at=now))
        uow.commit()
    assert next_due(ready, now) == now + timedelta(hours=3)


def test_worker_sleeps_until_a_timer_written_by_the_real_path_is_due(ready: MakeUow) -> None:
    start = datetime.now(UTC)
    due = start + timedelta(minutes=10)
    ping(ready, due)
    clock = [start]
    waits: list[float] = []

    class Waiter:
        poll = None

        def wait(self, seconds: float) -> bool:
            waits.append(seconds)
            clock[0] += timedelta(seconds=seconds)
            return False

        def close(self) -> None:
            pass

    runs: list[datetime] = []
    worker = Worker(
        ready, Waiter(), clock=lambda: clock[0], run=lambda _: runs.append(clock[0]) or 0, mail=False, max_sleep=3600
    )
    worker.serve(lambda: len(runs) >= 2)

    assert waits == [pytest.approx(600, abs=1e-3)]
    assert runs[1] == due


@pytest.fixture
def listener(db_url: str, make_uow: UowFactory) -> Listener:
    if db_url.startswith("sqlite"):
        pytest.skip("NOTIFY is PostgreSQL's; SQLite workers look every 0.5 s")
    waiter = Listener(make_uow.engine)
    yield waiter
    waiter.close()


def test_a_committed_job_row_notifies_the_worker_and_a_rolled_back_one_does_not(
    make_uow: UowFactory, listener: Listener
) -> None:
    now = datetime.now(UTC)
    assert listener.wait(0) is False
    schedule(make_uow, "rolled back", now, commit=False)
    assert listener.wait(0.3) is False

    schedule(make_uow, "committed", now)
    started = time.monotonic()
    assert listener.wait(5) is True
    assert time.monotonic() - started < 1
    assert listener.wait(0.1) is False  # one notification per transaction, answered by one look


def test_worker_asleep_on_postgresql_is_woken_by_a_write_long_before_its_next_look(
    make_uow: UowFactory, listener: Listener
) -> None:
    runs: list[float] = []
    stop = threading.Event()
    worker = Worker(make_uow, listener, run=lambda _: runs.append(time.monotonic()) or 0, mail=False)
    thread = threading.Thread(target=worker.serve, args=(lambda: stop.is_set() or len(runs) >= 2,))
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not runs and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)  # the worker is asleep now: nothing is due, its cap is 30 s away
        assert len(runs) == 1

        written = time.monotonic()
        schedule(make_uow, "written by a web request", datetime.now(UTC) + timedelta(hours=1))
        thread.join(timeout=5)

        assert len(runs) == 2
        assert runs[1] - written < 2
    finally:
        stop.set()
        with make_uow.engine.begin() as conn:  # wake the worker should the hook have failed to
            conn.exec_driver_sql(f"NOTIFY {CHANNEL}")
        thread.join(timeout=10)


def test_a_timer_a_new_lead_waits_on_wakes_the_worker_at_commit_without_a_statement_of_its_own(
    deployed: UowFactory, actors: dict[str, Actor], listener: Listener
) -> None:
    sent: list[str] = []

    def note(_conn: object, _cursor: object, sql: str, *_args: object) -> None:
        sent.append(sql)

    assert listener.wait(0) is False
    event.listen(deployed.engine, "before_cursor_execute", note)
    try:
        records.create_record(deployed(), actors["head"], "Lead", {"title": "timer woken"}, NOW)
    finally:
        event.remove(deployed.engine, "before_cursor_execute", note)
    assert any(sql.startswith("INSERT INTO timer") for sql in sent)  # the escalation timer of its first task
    assert not [sql for sql in sent if "NOTIFY" in sql.upper()]  # the table's trigger notifies (migration 0026)
    started = time.monotonic()
    assert listener.wait(5) is True
    assert time.monotonic() - started < 1


def test_a_moved_due_time_wakes_the_worker_and_an_unchanged_one_does_not(
    make_uow: UowFactory, listener: Listener
) -> None:
    now = datetime.now(UTC)
    schedule(make_uow, "moved", now + timedelta(hours=2))
    assert listener.wait(5) is True  # the new row
    with make_uow() as uow:
        uow.session.execute(update(RuleScheduleRow).where(RuleScheduleRow.rule == "moved").values(attempts=1))
        uow.commit()
    assert listener.wait(0.3) is False  # its due time stayed: nothing for the worker to plan again
    with make_uow() as uow:  # a prebuilt-style Core UPDATE, which no ORM flush hook saw
        uow.session.execute(
            update(RuleScheduleRow).where(RuleScheduleRow.rule == "moved").values(next_run_at=now + timedelta(hours=1))
        )
        uow.commit()
    assert listener.wait(5) is True
