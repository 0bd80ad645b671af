"""Proof (issue 10): three real `flowcrm worker` processes, one poison timer due first and many good timers due
with it. Every good timer fires exactly once within a bounded time; the poison one is tried its 1 + retries
times (never twice at once) and ends as exactly one incident."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bench.timers import DEPLOYER, Cloner, start_worker, stop_workers, timer_events
from engine.bootstrap import UowFactory
from engine.services.deployments import deploy_bundle
from engine.store.incident_models import IncidentRow
from engine.store.models import InstanceEventRow, InstanceRow, TimerRow
from tests.integration.poison import POISON_ERROR, bundle, start

GOOD = 60
WORKERS = 3
RETRIES = 2
BOUND_S = 60.0  # generous on a loaded 2-core machine; a run takes a few seconds


@pytest.fixture
def workers() -> Iterator[list[subprocess.Popen[bytes]]]:
    """The worker processes the test starts, stopped with SIGINT (then killed) afterwards."""
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    stop_workers(procs)


def counts(factory: UowFactory, poison: int) -> tuple[int, int, int]:
    """(good instances completed, incidents, failed attempts of the poison timer)."""
    with factory.engine.connect() as conn:
        done = conn.scalar(select(func.count()).select_from(InstanceRow).where(InstanceRow.status == "completed")) or 0
        incidents = conn.scalar(select(func.count()).select_from(IncidentRow)) or 0
        failed = (
            conn.scalar(
                select(func.count())
                .select_from(InstanceEventRow)
                .where(InstanceEventRow.instance_id == poison, InstanceEventRow.kind == "timer_failed")
            )
            or 0
        )
    return done, incidents, failed


def test_three_workers_fire_every_good_timer_once_and_park_the_poison_one_as_one_incident(
    make_uow: UowFactory, db_url: str, tmp_path: Path, workers: list[subprocess.Popen[bytes]]
) -> None:
    deploy_bundle(make_uow(), DEPLOYER, bundle(), datetime.now(UTC))
    start(make_uow, "Ping", datetime.now(UTC) + timedelta(days=30))  # the template the good timers are cloned from
    cloner = Cloner(make_uow)
    poison_due = datetime.now(UTC) + timedelta(seconds=1.5)
    poison = start(make_uow, "Poison", poison_due)
    time.sleep(max(0.0, (poison_due - datetime.now(UTC)).total_seconds()) + 0.2)
    due = [poison_due + timedelta(milliseconds=1 + n) for n in range(GOOD)]  # all after the poison one
    cloner.insert(make_uow, due)
    with make_uow.engine.connect() as conn:
        good = set(conn.scalars(select(InstanceRow.id).where(InstanceRow.id > poison)))
    assert len(good) == GOOD

    env = {**os.environ, "FLOWCRM_JOB_RETRIES": str(RETRIES), "FLOWCRM_JOB_BACKOFF_SECONDS": "0.3"}
    started = time.monotonic()
    workers.extend(start_worker(db_url, tmp_path / f"worker{n}.log", 0.2, env) for n in range(WORKERS))
    while time.monotonic() - started < BOUND_S:
        done, incidents, _ = counts(make_uow, poison)
        if done >= GOOD and incidents:
            break
        time.sleep(0.2)
    elapsed = time.monotonic() - started
    time.sleep(1.0)  # a parked timer must stay parked: give the workers a few more ticks
    logs = "\n".join(p.read_text(errors="replace") for p in sorted(tmp_path.glob("worker*.log")))
    assert all(p.poll() is None for p in workers), logs  # no worker died

    events = timer_events(make_uow)
    assert {iid: len(events.get(iid, [])) for iid in good} == dict.fromkeys(good, 1), logs  # each once, none lost
    assert elapsed < BOUND_S, logs
    with make_uow.engine.connect() as conn:
        statuses = dict(conn.execute(select(InstanceRow.id, InstanceRow.status)).tuples().all())
        left = conn.scalar(select(func.count()).select_from(TimerRow).where(TimerRow.instance_id.in_(good))) or 0
        parked = conn.execute(
            select(TimerRow.attempts, TimerRow.parked_at, TimerRow.last_error).where(TimerRow.instance_id == poison)
        ).one()
        incidents = conn.execute(
            select(IncidentRow.kind, IncidentRow.instance_id, IncidentRow.error, IncidentRow.attempts)
        ).all()
    assert {statuses[i] for i in good} == {"completed"}
    assert left == 0
    assert statuses[poison] == "running"
    assert parked.attempts == RETRIES + 1
    assert parked.parked_at is not None
    assert parked.last_error == POISON_ERROR
    assert [tuple(i) for i in incidents] == [("timer", poison, POISON_ERROR, RETRIES + 1)]
    assert counts(make_uow, poison)[2] == RETRIES + 1  # each attempt recorded once: never run twice at once
    fired_late = [(events[i][0] - d).total_seconds() for i, d in zip(sorted(good), due, strict=True)]
    assert max(fired_late) < BOUND_S, fired_late
