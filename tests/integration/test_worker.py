"""The timer worker against a real database: catch-up after downtime, concurrent workers, `flowcrm worker --once`.

Timers are real BPMN timers (SpiffWorkflow reads the wall clock), moved with time-machine."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from click.testing import CliRunner
from sqlalchemy import func, select, update

from bench.timers import BPMN, CREATOR, DEPLOYER, PROCESS_ID, TIMER_ELEMENT, Cloner
from bench.timers import bundle_files as bench_bundle
from cli import main
from engine.scheduler import tick
from engine.services import timers
from engine.services.deployments import deploy_bundle
from engine.services.records import create_record
from engine.store.models import InstanceEventRow, InstanceRow, TimerRow
from engine.store.uow import UnitOfWork

MakeUow = Callable[[], UnitOfWork]

TIMER_AND_TASK_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs2" targetNamespace="http://example.com/flowcrm">
  <bpmn:process id="timer_and_task" name="Timer and task" isExecutable="true">
    <bpmn:extensionElements>
      <camunda:properties>
        <camunda:property name="flowcrm.entity" value="Pair" />
        <camunda:property name="flowcrm.startOn" value="create" />
      </camunda:properties>
    </bpmn:extensionElements>
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:parallelGateway id="split"><bpmn:incoming>f0</bpmn:incoming>
      <bpmn:outgoing>f1</bpmn:outgoing><bpmn:outgoing>f2</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:userTask id="work" name="Work" camunda:candidateGroups="sales">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
    <bpmn:intermediateCatchEvent id="wait" name="Wait">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDate>record["due"]</bpmn:timeDate></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:parallelGateway id="join"><bpmn:incoming>f3</bpmn:incoming><bpmn:incoming>f4</bpmn:incoming>
      <bpmn:outgoing>f5</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:endEvent id="end"><bpmn:incoming>f5</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="split" />
    <bpmn:sequenceFlow id="f1" sourceRef="split" targetRef="work" />
    <bpmn:sequenceFlow id="f2" sourceRef="split" targetRef="wait" />
    <bpmn:sequenceFlow id="f3" sourceRef="work" targetRef="join" />
    <bpmn:sequenceFlow id="f4" sourceRef="wait" targetRef="join" />
    <bpmn:sequenceFlow id="f5" sourceRef="join" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""


def bundle() -> dict[str, str]:
    """The bench bundle (Ping: wait until record["due"], end) plus Pair: a user task beside a timer."""
    files = bench_bundle()
    files["crm_model/entities/pair.yaml"] = files["crm_model/entities/ping.yaml"].replace("Ping", "Pair")
    files["processes/timer_and_task.bpmn"] = TIMER_AND_TASK_BPMN
    assert PROCESS_ID in BPMN
    return files


@pytest.fixture
def ready(make_uow: MakeUow) -> MakeUow:
    deploy_bundle(make_uow(), DEPLOYER, bundle(), datetime.now(UTC))
    return make_uow


def ping(make_uow: MakeUow, due: datetime, entity: str = "Ping") -> int:
    """A record whose process waits on a timer due at `due` (the real start path); its instance id."""
    create_record(make_uow(), CREATOR, entity, {"name": f"due {due.isoformat()}", "due": due.isoformat()},
                  datetime.now(UTC))
    with make_uow() as uow:
        return int(uow.session.scalar(select(func.max(InstanceRow.id))))


def timer_events(make_uow: MakeUow) -> dict[int, int]:
    """Instance id -> how many timer-step events it has."""
    with make_uow() as uow:
        rows = uow.session.execute(
            select(InstanceEventRow.instance_id, func.count()).where(
                InstanceEventRow.kind == "step", InstanceEventRow.element_id == TIMER_ELEMENT)
            .group_by(InstanceEventRow.instance_id)).all()
    return {iid: n for iid, n in rows}


def statuses(make_uow: MakeUow) -> dict[int, str]:
    with make_uow() as uow:
        return dict(uow.session.execute(select(InstanceRow.id, InstanceRow.status)).tuples().all())


def pending_timers(make_uow: MakeUow) -> dict[int, datetime]:
    with make_uow() as uow:
        return dict(uow.session.execute(
            select(TimerRow.instance_id, TimerRow.due_at).where(TimerRow.fired_at.is_(None))).tuples().all())


def many_due(make_uow: MakeUow, count: int, now: datetime) -> set[int]:
    """`count` instances whose timers are due by `now` (one by the real path, the rest cloned from it)."""
    first = ping(make_uow, now + timedelta(hours=1))
    Cloner(make_uow).insert(make_uow, [now + timedelta(minutes=m % 50) for m in range(count - 1)])
    with make_uow() as uow:
        return set(uow.session.scalars(select(InstanceRow.id).where(InstanceRow.id >= first)))


def test_timers_that_fell_due_while_no_worker_ran_fire_on_the_next_tick(ready: MakeUow) -> None:
    now = datetime.now(UTC)
    early, late, future = (ping(ready, now + timedelta(hours=h)) for h in (1, 2, 5))
    assert set(pending_timers(ready)) == {early, late, future}
    assert tick(ready) == 0  # nothing is due yet

    with time_machine.travel(now + timedelta(hours=3), tick=True):  # every worker was down for three hours
        assert tick(ready) == 2
        assert tick(ready) == 0

    assert timer_events(ready) == {early: 1, late: 1}
    assert statuses(ready) == {early: "completed", late: "completed", future: "running"}
    assert set(pending_timers(ready)) == {future}


def test_two_concurrent_fire_due_never_fire_one_timer_twice(ready: MakeUow, db_url: str) -> None:
    if db_url.startswith("sqlite"):
        pytest.skip("concurrent workers are a PostgreSQL feature (row locks, SKIP LOCKED)")
    now = datetime.now(UTC)
    ids = many_due(ready, 60, now)
    fired: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def worker() -> None:
        try:
            barrier.wait()
            fired.append(timers.fire_due(ready(), datetime.now(UTC), limit=1000))
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    with time_machine.travel(now + timedelta(hours=2), tick=True):
        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)

    assert errors == []
    assert sum(fired) == len(ids)
    assert timer_events(ready) == dict.fromkeys(ids, 1)  # once each: none twice, none lost
    assert set(statuses(ready).values()) == {"completed"}
    assert pending_timers(ready) == {}


def test_worker_once_fires_due_timers_and_exits_0(ready: MakeUow, db_url: str) -> None:
    now = datetime.now(UTC)
    due = [ping(ready, now + timedelta(hours=1)) for _ in range(3)]
    later = ping(ready, now + timedelta(days=2))
    with time_machine.travel(now + timedelta(hours=2), tick=True):
        result = CliRunner().invoke(main, ["--database-url", db_url, "worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "3 timer(s) fired" in result.output
    assert timer_events(ready) == dict.fromkeys(due, 1)
    assert set(pending_timers(ready)) == {later}


def test_worker_once_fires_a_backlog_of_more_than_a_hundred(ready: MakeUow, db_url: str) -> None:
    now = datetime.now(UTC)
    ids = many_due(ready, 130, now)
    with time_machine.travel(now + timedelta(hours=2), tick=True):
        result = CliRunner().invoke(main, ["--database-url", db_url, "worker", "--once"])
    assert result.exit_code == 0, result.output
    assert timer_events(ready) == dict.fromkeys(ids, 1)
    assert pending_timers(ready) == {}


def test_a_timer_that_loses_a_race_fires_on_the_next_tick(ready: MakeUow, monkeypatch: pytest.MonkeyPatch) -> None:
    if ready.engine.url.get_backend_name() == "sqlite":
        # SQLite has one writer at a time: nobody can commit while the tick's transaction writes, so the race
        # below cannot happen there (the second writer waited out the busy timeout, 30 s, and only then failed)
        pytest.skip("SQLite has one writer at a time: no concurrent commit can overtake a tick")
    now = datetime.now(UTC)
    instance_id = ping(ready, now + timedelta(hours=1))
    real_advance = timers.advance

    def someone_else_changes_the_instance_meanwhile(*args: Any, **kwargs: Any) -> None:
        monkeypatch.setattr(timers, "advance", real_advance)  # once
        with ready.engine.begin() as conn:  # e.g. a user completing a task on a parallel branch, committed first
            conn.execute(update(InstanceRow).where(InstanceRow.id == instance_id)
                         .values(revision=InstanceRow.revision + 1))
        real_advance(*args, **kwargs)

    monkeypatch.setattr(timers, "advance", someone_else_changes_the_instance_meanwhile)
    with time_machine.travel(now + timedelta(hours=2), tick=True):
        tick(ready)  # loses the race: nothing of it may stick
        tick(ready)  # the next tick must fire the timer
    assert timer_events(ready) == {instance_id: 1}
    assert statuses(ready) == {instance_id: "completed"}
