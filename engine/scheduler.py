"""The timer worker: APScheduler calls fire_due on an interval; missed timers fire on start."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.schedulers.blocking import BlockingScheduler

from engine.quality.scan import run_scheduled_scans
from engine.services.mail import SmtpSettings, deliver_outbox
from engine.services.reminders import fire_due_reminders
from engine.services.rules import run_scheduled_rules
from engine.services.timers import fire_timers
from engine.store.uow import UnitOfWork

log = logging.getLogger(__name__)


def tick(make_uow: Callable[[], UnitOfWork]) -> int:
    """Run due scheduled rules and scans, send due e-mail when SMTP is configured, fire due reminders, then fire
    every timer due now; returns how many timers fired. Each job item runs in its own transaction: one that
    fails is retried with backoff and then parked as an incident, and never keeps the others from running."""
    ran = run_scheduled_rules(make_uow, datetime.now(UTC))
    if ran:
        log.info("ran %d scheduled rule(s)", ran)
    run_scheduled_scans(make_uow, datetime.now(UTC))  # duplicate scans with `scan: {every: ...}`, logged there
    if os.environ.get("FLOWCRM_SMTP_HOST"):
        send_mail(make_uow)
    reminded = fire_due_reminders(make_uow, datetime.now(UTC))
    if reminded:
        log.info("fired %d reminder(s)", reminded)
    timers = fire_timers(make_uow(), datetime.now(UTC))
    if timers.done:
        log.info("fired %d timer(s)", timers.done)
    if timers.failed:
        log.warning("%d timer(s) failed, %d of them parked as incidents", timers.failed, timers.parked)
    return timers.done


def send_mail(make_uow: Callable[[], UnitOfWork]) -> None:
    """Deliver due e-mail; a mail problem is logged and never keeps timers from firing."""
    try:
        sent, failed = deliver_outbox(make_uow, datetime.now(UTC), SmtpSettings.from_env())
    except Exception:
        log.exception("e-mail delivery failed; the outbox is retried on the next tick")
        return
    if sent or failed:
        log.info("sent %d e-mail(s), %d attempt(s) failed", sent, failed)


def run_worker(make_uow: Callable[[], UnitOfWork], interval: float) -> None:
    """Block, firing due timers every `interval` seconds (first tick at once: catches up after downtime)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # one line per tick drowns what matters
    scheduler = BlockingScheduler(timezone=UTC)
    scheduler.add_job(tick, "interval", seconds=interval, args=[make_uow], next_run_time=datetime.now(UTC),
                      max_instances=1, coalesce=True, id="fire_due")
    log.info("worker started; scanning for due timers every %.1f s", interval)
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        log.info("worker stopped")
