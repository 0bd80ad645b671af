"""A timer leading to a hostile script is stopped at its limit and recorded as failed, while the ordinary timers
due with it fire: in the same tick, and on PostgreSQL from a second worker while the first is held."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from bench.timers import BPMN, DEPLOYER, PROCESS_ID, TIMER_ELEMENT
from engine import limits
from engine.limits import Limits, settings
from engine.services import timers
from engine.services.deployments import deploy_bundle
from engine.store.models import InstanceEventRow
from engine.store.uow import UnitOfWork
from tests.integration.test_worker import bundle, ping, statuses

MakeUow = Callable[[], UnitOfWork]
CPU = 0.5
MARGIN = 8.0  # seconds: the machine is shared and loaded
# the wall-clock limit is far above the CPU limit: on a loaded machine the sandbox's 0.5 s of CPU took more than
# 5 s of wall time (the run then failed naming the time limit); the CPU limit is what must stop the script, and
# the tick must still end within 5 s + MARGIN
WALL = 30.0
HOSTILE = "x = max([[0]*999999]*999999)"
TRAP_BPMN = (  # the bench's timer process, with a hostile script task between its timer and its end
    BPMN.replace(f'id="{PROCESS_ID}" name="Timer bench"', 'id="trap" name="Trap"')
    .replace('value="Ping"', 'value="Trap"')
    .replace(
        '<bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>',
        '<bpmn:scriptTask id="boom" name="Boom" scriptFormat="python"><bpmn:incoming>f2</bpmn:incoming>'
        f"<bpmn:outgoing>f3</bpmn:outgoing><bpmn:script>{HOSTILE}</bpmn:script></bpmn:scriptTask>"
        '<bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>'
        '<bpmn:sequenceFlow id="f3" sourceRef="boom" targetRef="end" />',
    )
    .replace(f'sourceRef="{TIMER_ELEMENT}" targetRef="end"', f'sourceRef="{TIMER_ELEMENT}" targetRef="boom"')
)


@pytest.fixture
def trapped(make_uow: MakeUow) -> Iterator[MakeUow]:
    files = bundle()
    files["crm_model/entities/trap.yaml"] = files["crm_model/entities/ping.yaml"].replace("Ping", "Trap")
    files["processes/trap.bpmn"] = TRAP_BPMN
    deploy_bundle(make_uow(), DEPLOYER, files, datetime.now(UTC))
    saved = list(settings._CURRENT)
    settings._CURRENT[:] = [Limits(cpu_seconds=CPU, memory_mb=256, wall_seconds=WALL, workers=2)]
    limits.stop_workers()
    yield make_uow
    settings._CURRENT[:] = saved
    limits.stop_workers()


def failures(make_uow: MakeUow) -> dict[int, str]:
    with make_uow() as uow:
        rows = uow.session.execute(
            select(InstanceEventRow.instance_id, InstanceEventRow.data).where(InstanceEventRow.kind == "timer_failed")
        ).all()
    return {iid: data["error"] for iid, data in rows}


def setup_instances(make_uow: MakeUow, now: datetime) -> tuple[int, list[int]]:
    """The trap, due first, and five ordinary timers due just after it."""
    trap = ping(make_uow, now + timedelta(hours=1), entity="Trap")
    return trap, [ping(make_uow, now + timedelta(hours=1, minutes=m)) for m in range(1, 6)]


def test_a_hostile_script_after_a_timer_is_stopped_and_the_other_timers_fire(trapped: MakeUow) -> None:
    now = datetime.now(UTC)
    trap, ordinary = setup_instances(trapped, now)

    with time_machine.travel(now + timedelta(hours=2), tick=True):
        started = time.monotonic()
        outcome = timers.fire_timers(trapped(), datetime.now(UTC))
        seconds = time.monotonic() - started

    assert (outcome.done, outcome.failed) == (5, 1)  # the trap is retried later; the others went on
    assert seconds < 5.0 + MARGIN
    assert failures(trapped) == {trap: f"script task boom: exceeded the {CPU} s CPU limit"}
    assert {statuses(trapped)[i] for i in ordinary} == {"completed"}


def test_a_second_worker_fires_the_ordinary_timers_while_the_first_is_held_by_the_hostile_one(
    trapped: MakeUow, db_url: str
) -> None:
    if db_url.startswith("sqlite"):
        pytest.skip("concurrent workers are a PostgreSQL feature (row locks, SKIP LOCKED)")
    now = datetime.now(UTC)
    trap, ordinary = setup_instances(trapped, now)
    fired: dict[str, int] = {}  # the first worker's failed items, the second's fired ones
    errors: list[BaseException] = []
    first_holds_the_trap = threading.Event()

    def first() -> None:
        try:
            first_holds_the_trap.set()  # the trap is due first: this worker takes it and is held in the sandbox
            fired["first"] = timers.fire_timers(trapped(), datetime.now(UTC), limit=1).failed
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    def second() -> None:
        try:
            first_holds_the_trap.wait()
            time.sleep(0.2)  # the first worker has locked the trap's row by now
            fired["second"] = timers.fire_timers(trapped(), datetime.now(UTC)).done
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    with time_machine.travel(now + timedelta(hours=2), tick=True):
        threads = [threading.Thread(target=first), threading.Thread(target=second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

    assert errors == []
    assert fired == {"first": 1, "second": 5}
    assert failures(trapped) == {trap: f"script task boom: exceeded the {CPU} s CPU limit"}
    assert {statuses(trapped)[i] for i in ordinary} == {"completed"}
