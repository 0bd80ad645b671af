"""The worker loop with an injected clock, waiter and job schedule: it sleeps until the next due time, no
longer than its cap, looks every `poll` seconds where writes cannot wake it, and runs at once when woken."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from engine.scheduler import MAX_SLEEP_S, Worker
from engine.store.uow import UnitOfWork

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


class FakeWaiter:
    """Moves the clock by each wait; `wake_after` waits end early as if a NOTIFY came."""

    def __init__(self, clock: Clock, poll: float | None = None, wake_on: int | None = None) -> None:
        self.clock, self.poll, self.wake_on, self.waits = clock, poll, wake_on, list[float]()

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        if self.wake_on == len(self.waits):
            self.clock.now += timedelta(seconds=seconds / 2)
            return True
        self.clock.now += timedelta(seconds=seconds)
        return False

    def close(self) -> None:
        pass


class ScheduledWorker(Worker):
    """A worker whose job tables are a list of due times; it stops after `runs` runs."""

    def __init__(self, clock: Clock, waiter: FakeWaiter, dues: list[datetime], runs: int) -> None:
        self.dues, self.ran_at, self.runs = dues, list[datetime](), runs
        super().__init__(
            make_uow=lambda: UnitOfWork.__new__(UnitOfWork), waiter=waiter, clock=clock, run=self.record_run, mail=False
        )

    def record_run(self, _make_uow: object) -> int:
        self.ran_at.append(self.clock())
        return 0

    def next_due_at(self, after: datetime) -> datetime | None:
        return min((d for d in self.dues if d > after), default=None)

    def stopped(self) -> bool:
        return len(self.ran_at) >= self.runs


def test_worker_sleeps_until_the_next_due_time_then_runs() -> None:
    clock = Clock()
    waiter = FakeWaiter(clock)
    worker = ScheduledWorker(clock, waiter, [T0 + timedelta(seconds=12.25)], runs=2)

    worker.serve(worker.stopped)

    assert waiter.waits == [12.25]
    assert worker.ran_at == [T0, T0 + timedelta(seconds=12.25)]


def test_worker_with_nothing_due_looks_again_after_the_cap() -> None:
    clock = Clock()
    waiter = FakeWaiter(clock)
    worker = ScheduledWorker(clock, waiter, [T0 + timedelta(hours=5)], runs=2)

    worker.serve(worker.stopped)

    assert waiter.waits == [MAX_SLEEP_S]
    assert worker.ran_at[1] == T0 + timedelta(seconds=MAX_SLEEP_S)


def test_worker_without_notifications_looks_every_poll_and_finds_a_job_written_meanwhile() -> None:
    clock = Clock()
    waiter = FakeWaiter(clock, poll=0.5)
    worker = ScheduledWorker(clock, waiter, [], runs=2)
    original = waiter.wait

    def wait_and_write(seconds: float) -> bool:
        if len(waiter.waits) == 3:  # during the fourth look a web request writes a timer due 0.2 s later
            worker.dues.append(clock() + timedelta(seconds=0.2))
        return original(seconds)

    waiter.wait = wait_and_write  # type: ignore[method-assign]
    worker.serve(worker.stopped)

    assert waiter.waits[:4] == [0.5, 0.5, 0.5, 0.5]
    assert worker.ran_at[1] - worker.dues[0] < timedelta(seconds=0.5)


def test_worker_woken_by_a_notification_runs_at_once() -> None:
    clock = Clock()
    waiter = FakeWaiter(clock, wake_on=1)
    worker = ScheduledWorker(clock, waiter, [T0 + timedelta(seconds=20)], runs=2)

    worker.serve(worker.stopped)

    assert waiter.waits == [20.0]
    assert worker.ran_at == [T0, T0 + timedelta(seconds=10)]


def test_worker_does_not_run_again_for_an_item_its_last_run_left_due() -> None:
    clock = Clock()
    waiter = FakeWaiter(clock)
    stuck = T0 - timedelta(minutes=1)  # e.g. a rule schedule row of a rule no longer deployed
    worker = ScheduledWorker(clock, waiter, [stuck, T0 + timedelta(seconds=3)], runs=2)

    worker.serve(worker.stopped)

    assert waiter.waits == [3.0]
