"""The worker: runs due timers, reminders, e-mail, scheduled rules and scans, and sleeps until the next one falls
due or a write wakes it; what was missed while it was down runs at start."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from engine.bootstrap import UowFactory
from engine.messages import ENGLISH, Joined, LocalizedLog, Message
from engine.quality.scan import run_scheduled_scans
from engine.services.mail import SmtpSettings, deliver_outbox
from engine.services.reminders import fire_due_reminders
from engine.services.rules import run_scheduled_rules
from engine.services.timers import fire_timers
from engine.store.uow import UnitOfWork
from engine.store.wakeup import Listener, waiter_for

log = logging.getLogger(__name__)


def tick(make_uow: Callable[[], UnitOfWork]) -> int:
    """Run due scheduled rules and scans, send due e-mail when SMTP is configured, fire due reminders, then fire
    every timer due now; returns how many timers fired. Each job item runs in its own transaction: one that
    fails is retried with backoff and then parked as an incident, and never keeps the others from running."""
    ran = run_scheduled_rules(make_uow, datetime.now(UTC))
    if ran:
        log.info(Message("cli.worker_rules", count=ran))
    run_scheduled_scans(make_uow, datetime.now(UTC))  # duplicate scans with `scan: {every: ...}`, logged there
    if os.environ.get("FLOWCRM_SMTP_HOST"):
        send_mail(make_uow)
    reminded = fire_due_reminders(make_uow, datetime.now(UTC))
    if reminded:
        log.info(Message("cli.worker_reminders", count=reminded))
    timers = fire_timers(make_uow(), datetime.now(UTC))
    if timers.done:
        log.info(Message("cli.worker_timers", count=timers.done))
    if timers.failed:
        log.warning(Message("cli.worker_timers_failed", failed=timers.failed, parked=timers.parked))
    return timers.done


def send_mail(make_uow: Callable[[], UnitOfWork]) -> None:
    """Deliver due e-mail; a mail problem is logged and never keeps timers from firing."""
    try:
        sent, failed = deliver_outbox(make_uow, datetime.now(UTC), SmtpSettings.from_env())
    except Exception:
        log.exception("e-mail delivery failed; the outbox is retried on the next tick")
        return
    if sent or failed:
        log.info(Message("cli.worker_mail", sent=sent, failed=failed))


MAX_SLEEP_S = 30.0  # the longest the worker sleeps without a look: heals clock jumps and lost notifications


class Waiter(Protocol):
    """How the worker sleeps: `wait(seconds)` returns True when woken early by a write (PostgreSQL NOTIFY)."""

    @property
    def poll(self) -> float | None:
        """The longest single wait when writes do not wake the worker (None: they do)."""

    def wait(self, seconds: float) -> bool: ...

    def close(self) -> None: ...


@dataclass
class Worker:
    """The worker loop: run what is due, then sleep until the next due time of any job kind, until a write
    wakes it (a NOTIFY on PostgreSQL; a look every `waiter.poll` seconds on SQLite), or MAX_SLEEP_S at most."""

    make_uow: Callable[[], UnitOfWork]
    waiter: Waiter
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    run: Callable[[Callable[[], UnitOfWork]], int] = tick
    mail: bool = field(default_factory=lambda: bool(os.environ.get("FLOWCRM_SMTP_HOST")))
    max_sleep: float = MAX_SLEEP_S

    def next_due_at(self, after: datetime) -> datetime | None:
        """The soonest due time of a job item after `after` (the start of the last run)."""
        with self.make_uow() as uow:
            return uow.jobs.next_due_at(after, mail=self.mail)

    def sleep_until_due(self, ran_at: datetime, stop: Callable[[], bool]) -> str:
        """Sleep until something is due or a write wakes the worker; the reason: due | woken | rest | stop."""
        while not stop():
            now = self.clock()
            rested = (now - ran_at).total_seconds()
            if rested >= self.max_sleep:
                return "rest"
            due = self.next_due_at(ran_at)
            if due is not None and due <= now:
                return "due"
            seconds = self.max_sleep - rested
            if due is not None:
                seconds = min(seconds, (due - now).total_seconds())
            if self.waiter.poll is not None:
                seconds = min(seconds, self.waiter.poll)
            if self.waiter.wait(seconds):
                return "woken"
        return "stop"

    def serve(self, stop: Callable[[], bool] = lambda: False) -> None:
        """Run at once (catches up after downtime), then each time something falls due, until `stop()`."""
        while not stop():
            ran_at = self.clock()
            self.run(self.make_uow)
            if self.sleep_until_due(ran_at, stop) == "stop":
                return


def run_worker(make_uow: UowFactory, poll: float | None, locale: str = ENGLISH) -> None:
    """Block, firing each job item when it falls due (see Worker); `poll`: seconds between looks for new job rows
    where writes cannot wake the worker (default 0.5 on SQLite; on PostgreSQL NOTIFY wakes it). The worker's own
    log lines are in `locale`."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    speaking = LocalizedLog(locale)
    for handler in logging.getLogger().handlers:
        handler.addFilter(speaking)
    waiter = waiter_for(make_uow.engine, poll)
    looks = [Message("cli.worker_poll", seconds=f"{waiter.poll:.1f}")] if waiter.poll is not None else []
    woken = [Message("cli.worker_notify")] if isinstance(waiter, Listener) else []
    how = Joined(Message("cli.worker_and"), woken + looks)
    log.info(Message("cli.worker_started", how=how, seconds=f"{MAX_SLEEP_S:.0f}"))
    try:
        Worker(make_uow, waiter).serve()
    except (KeyboardInterrupt, SystemExit):
        log.info(Message("cli.worker_stopped"))
    finally:
        waiter.close()
        for handler in logging.getLogger().handlers:
            handler.removeFilter(speaking)
