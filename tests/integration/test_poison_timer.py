"""One bad timer never stops the others: the poison timer of issue 10 (a script after a timer keeps an exception
object in its data) fails cleanly, is retried with backoff, is parked as one incident, and every other due timer
fires. Timers are real BPMN timers, moved with time-machine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select, update

from bench.timers import DEPLOYER
from engine.scheduler import tick
from engine.services.deployments import deploy_bundle
from engine.store.models import InstanceEventRow, InstanceRow
from tests.integration.poison import POISON_ERROR, MakeUow, bundle, incidents, start, timer_row


@pytest.fixture
def ready(make_uow: MakeUow, monkeypatch: pytest.MonkeyPatch) -> MakeUow:
    monkeypatch.setenv("FLOWCRM_JOB_RETRIES", "2")
    monkeypatch.setenv("FLOWCRM_JOB_BACKOFF_SECONDS", "60")
    deploy_bundle(make_uow(), DEPLOYER, bundle(), datetime.now(UTC))
    return make_uow


def status(make_uow: MakeUow, instance_id: int) -> str:
    with make_uow() as uow:
        return str(uow.session.scalar(select(InstanceRow.status).where(InstanceRow.id == instance_id)))


def failures(make_uow: MakeUow, instance_id: int) -> list[dict]:
    with make_uow() as uow:
        return [
            e.data or {}
            for e in uow.session.scalars(
                select(InstanceEventRow).where(
                    InstanceEventRow.instance_id == instance_id, InstanceEventRow.kind == "timer_failed"
                )
            )
        ]


def test_a_poison_timer_is_retried_with_backoff_then_parked_while_the_other_timers_fire(ready: MakeUow) -> None:
    now = datetime.now(UTC)
    poison = start(ready, "Poison", now + timedelta(hours=1))  # due first: every worker used to take it first
    good = [start(ready, "Ping", now + timedelta(hours=1, minutes=n)) for n in range(1, 4)]
    at = now + timedelta(hours=2)

    with time_machine.travel(at, tick=True):
        assert tick(ready) == 3
    assert [status(ready, i) for i in good] == ["completed"] * 3
    first = timer_row(ready, poison)
    assert first is not None
    assert (first.attempts, first.last_error, first.parked_at) == (1, POISON_ERROR, None)
    assert first.next_attempt_at is not None
    assert timedelta(seconds=60) <= first.next_attempt_at - at <= timedelta(seconds=90)

    with time_machine.travel(at + timedelta(seconds=30), tick=True):  # waiting for its retry: not due
        assert tick(ready) == 0
    assert timer_row(ready, poison).attempts == 1  # type: ignore[union-attr]

    later = [*good, start(ready, "Ping", at + timedelta(minutes=1))]
    with time_machine.travel(at + timedelta(minutes=2), tick=True):  # second failure; the new good timer fires
        assert tick(ready) == 1
    second = timer_row(ready, poison)
    assert second is not None
    assert second.attempts == 2
    assert second.next_attempt_at is not None
    assert second.next_attempt_at - (at + timedelta(minutes=2)) >= timedelta(seconds=120)  # doubled
    assert status(ready, later[-1]) == "completed"
    assert incidents(ready) == []

    with time_machine.travel(at + timedelta(minutes=10), tick=True):  # third failure: retries used up
        assert tick(ready) == 0
    parked = timer_row(ready, poison)
    assert parked is not None
    assert parked.attempts == 3
    assert parked.parked_at is not None
    [incident] = incidents(ready)
    assert (incident.kind, incident.job_key, incident.instance_id, incident.task_id) == (
        "timer",
        str(parked.id),
        poison,
        parked.task_id,
    )
    assert (incident.error, incident.attempts, incident.resolved_at) == (POISON_ERROR, 3, None)

    with time_machine.travel(at + timedelta(days=7), tick=True):  # parked: never picked again by itself
        assert tick(ready) == 0
    assert len(incidents(ready)) == 1
    assert status(ready, poison) == "running"
    assert [(f["attempt"], "parked" in f) for f in failures(ready, poison)] == [(1, False), (2, False), (3, True)]


def test_a_timer_left_on_an_instance_that_no_longer_runs_is_dropped_not_failed(ready: MakeUow) -> None:
    now = datetime.now(UTC)
    instance_id = start(ready, "Ping", now + timedelta(hours=1))
    with ready.engine.begin() as conn:  # e.g. an operator ended the instance by hand
        conn.execute(update(InstanceRow).where(InstanceRow.id == instance_id).values(status="error"))
    with time_machine.travel(now + timedelta(hours=2), tick=True):
        tick(ready)
    assert timer_row(ready, instance_id) is None
    assert incidents(ready) == []
    assert failures(ready, instance_id) == []
