"""The timer worker: APScheduler calls fire_due on an interval; missed timers fire on start."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.schedulers.blocking import BlockingScheduler

from engine.services.timers import fire_due
from engine.store.uow import UnitOfWork

log = logging.getLogger(__name__)


def tick(make_uow: Callable[[], UnitOfWork]) -> int:
    """Fire everything due now, in batches, until nothing is due."""
    total = 0
    while True:
        fired = fire_due(make_uow(), datetime.now(UTC), limit=100)
        total += fired
        if fired < 100:
            if total:
                log.info("fired %d timer(s)", total)
            return total


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
