"""Timer worker figures: due -> fired latency with 10,000 pending timers, timers fired per second by one worker,
and three worker processes on PostgreSQL with one killed by SIGKILL mid-run (duplicated and lost effects)."""

from __future__ import annotations

import json
import random
import re
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from time import perf_counter
from typing import Any

import yaml
from sqlalchemy import func, insert, select

from bench.common import ROOT, fresh_sqlite, postgres_schema, summary_ms
from engine.bootstrap import UowFactory, prepare_database, uow_factory
from engine.scheduler import Worker, tick
from engine.services.deployments import deploy_bundle
from engine.services.records import create_record
from engine.services.views import Actor
from engine.store.models import InstanceEventRow, InstanceRow, TimerRow
from engine.store.wakeup import waiter_for

DEPLOYER = Actor(id=None, username="bench", display_name="bench", roles=frozenset({"designer"}))
CREATOR = Actor(id=None, username="bench", display_name="bench", roles=frozenset({"admin"}))
PROCESS_ID = "timer_bench"
TIMER_ELEMENT = "wait"

BPMN = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs" targetNamespace="http://example.com/flowcrm">
  <bpmn:process id="{PROCESS_ID}" name="Timer bench" isExecutable="true">
    <bpmn:extensionElements>
      <camunda:properties>
        <camunda:property name="flowcrm.entity" value="Ping" />
        <camunda:property name="flowcrm.startOn" value="create" />
      </camunda:properties>
    </bpmn:extensionElements>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="{TIMER_ELEMENT}" name="Wait until due">
      <bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDate>record["due"]</bpmn:timeDate></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="{TIMER_ELEMENT}" />
    <bpmn:sequenceFlow id="f2" sourceRef="{TIMER_ELEMENT}" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""


def _label(text: str) -> dict[str, str]:
    return {"en": text, "ru": text}


def bundle_files() -> dict[str, str]:
    """The bench bundle: one entity whose `due` field is the instant its process's timer fires."""
    ping = {"entity": "Ping", "label": _label("Ping"), "title_field": "name", "fields": {
        "name": {"type": "string", "required": True, "label": _label("Name")},
        "due": {"type": "string", "required": True, "label": _label("Due")},
    }}
    return {
        "crm_model/settings.yaml": yaml.safe_dump({"default_region": "RU", "default_locale": "en",
                                                   "locales": ["en", "ru"]}),
        "crm_model/entities/ping.yaml": yaml.safe_dump(ping, sort_keys=False),
        f"processes/{PROCESS_ID}.bpmn": BPMN,
    }


OLD_DEFAULT_INTERVAL_S = 5.0  # `flowcrm worker --interval` before the worker slept until the next due time
FULL = {"pending": 10_000, "sample": 200, "window_timers": 600, "window_s": 15.0,
        "interval_s": OLD_DEFAULT_INTERVAL_S, "backlog": 1_000, "workers_backlog": 3_000}
QUICK = {"pending": 300, "sample": 20, "window_timers": 40, "window_s": 2.0, "interval_s": 0.3,
         "backlog": 100, "workers_backlog": 300}
WORKERS = 3
WORKER_INTERVAL_S = 0.2
CHUNK = 1000
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _now() -> datetime:
    return datetime.now(UTC)


def prepare(factory: UowFactory) -> None:
    """Deploy the bench bundle."""
    deploy_bundle(factory(), DEPLOYER, bundle_files(), _now())


def start_sample(factory: UowFactory, dues: list[datetime]) -> list[float]:
    """The real start path (create a Ping record -> startOn=create -> wait on its timer); seconds per call."""
    times = []
    for n, due in enumerate(dues):
        start = perf_counter()
        create_record(factory(), CREATOR, "Ping", {"name": f"ping {n}", "due": due.isoformat()}, _now())
        times.append(perf_counter() - start)
    return times


class Cloner:
    """Bulk instances made from one instance the real path started: its stored state with fresh task ids and
    another due time, inserted with its timer row and start events in a few statements per thousand."""

    def __init__(self, factory: UowFactory) -> None:
        with factory.engine.connect() as conn:
            template = conn.execute(
                select(InstanceRow).order_by(InstanceRow.id).limit(1)).one()
            self.timer = conn.execute(select(TimerRow).where(TimerRow.instance_id == template.id)).one()
            self.events = [dict(r._mapping) for r in conn.execute(
                select(InstanceEventRow).where(InstanceEventRow.instance_id == template.id)
                .order_by(InstanceEventRow.id))]
        state = json.loads(template.state_json)
        self.due_text = state["tasks"][self.timer.task_id]["internal_data"]["event_value"]
        self.template = template
        self.uuids = sorted(set(_UUID.findall(template.state_json)))

    def _state(self, due: datetime) -> tuple[str, str]:
        fresh = {old: str(uuid.uuid4()) for old in self.uuids}
        text = _UUID.sub(lambda m: fresh.get(m.group(0), m.group(0)), self.template.state_json)
        return text.replace(self.due_text, due.isoformat()), fresh[self.timer.task_id]

    def insert(self, factory: UowFactory, dues: list[datetime]) -> None:
        """One instance waiting on its timer per due time."""
        t = self.template
        now = _now()
        for first in range(0, len(dues), CHUNK):
            chunk = dues[first:first + CHUNK]
            states = [self._state(due) for due in chunk]
            with factory.engine.begin() as conn:
                ids = list(conn.scalars(insert(InstanceRow).returning(InstanceRow.id, sort_by_parameter_order=True),
                                        [{"process_version_id": t.process_version_id, "record_id": None,
                                          "status": "running", "state_json": state,
                                          "serializer_version": t.serializer_version, "started_at": now,
                                          "started_by": "bench", "revision": 1} for state, _ in states]))
                conn.execute(insert(TimerRow), [
                    {"instance_id": iid, "task_id": task_id, "element_id": self.timer.element_id, "due_at": due,
                     "fired_at": None} for iid, (_, task_id), due in zip(ids, states, chunk, strict=True)])
                conn.execute(insert(InstanceEventRow), [
                    {**{k: v for k, v in e.items() if k != "id"}, "instance_id": iid, "at": now}
                    for iid in ids for e in self.events])


def timer_events(factory: UowFactory) -> dict[int, list[datetime]]:
    """Instance id -> times of its timer-step events (the history row written when the timer fired)."""
    fired: dict[int, list[datetime]] = {}
    with factory.engine.connect() as conn:
        for iid, at in conn.execute(select(InstanceEventRow.instance_id, InstanceEventRow.at).where(
                InstanceEventRow.kind == "step", InstanceEventRow.element_id == TIMER_ELEMENT)):
            fired.setdefault(iid, []).append(at if at.tzinfo else at.replace(tzinfo=UTC))
    return fired


def due_by_instance(factory: UowFactory, instance_ids: set[int] | None = None) -> dict[int, datetime]:
    """Every timer's due time (fired timer rows are deleted: read them before firing)."""
    with factory.engine.connect() as conn:
        rows = conn.execute(select(TimerRow.instance_id, TimerRow.due_at))
        out = {iid: (d if d.tzinfo else d.replace(tzinfo=UTC)) for iid, d in rows}
    return out if instance_ids is None else {k: v for k, v in out.items() if k in instance_ids}


def _pending_due(factory: UowFactory) -> int:
    with factory.engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(TimerRow).where(
            TimerRow.fired_at.is_(None), TimerRow.due_at <= _now())) or 0


def _spread(start: datetime, span_s: float, count: int) -> list[datetime]:
    return [start + timedelta(seconds=span_s * (n + 0.5) / count) for n in range(count)]


def interval_loop(interval: float) -> Any:
    """The worker as it was: a tick every `interval` seconds (APScheduler's interval job, first tick at once)."""

    def loop(factory: UowFactory, run: Any, stop: Any) -> None:
        while not stop():
            started = time.time()
            run(factory)
            if not stop():
                time.sleep(max(0.0, interval - (time.time() - started)))

    return loop


def default_worker(factory: UowFactory, run: Any, stop: Any) -> None:
    """The shipped worker with its defaults (`flowcrm worker` without options)."""
    waiter = waiter_for(factory.engine, None)
    try:
        Worker(factory, waiter, run=run).serve(stop)
    finally:
        waiter.close()


def window_latency(factory: UowFactory, cloner: Cloner, sizes: dict[str, Any], loop: Any) -> dict[str, Any]:
    """Due -> fired latency under one worker `loop`, for `window_timers` clones that fall due over `window_s`
    while it runs, among the pending ones (t0 is set after the inserts, so none is due early)."""
    lead_s = 1.5 + sizes["window_timers"] / 500
    t0 = _now() + timedelta(seconds=lead_s)
    cloner.insert(factory, _spread(t0, sizes["window_s"], sizes["window_timers"]))
    window_due = {iid: d for iid, d in due_by_instance(factory).items() if d < t0 + timedelta(days=0.5)}
    late = _now() >= t0
    ticks: list[tuple[float, float, int]] = []  # (start, end, fired) as epoch seconds
    stop_at = t0 + timedelta(seconds=sizes["window_s"] + 60)

    def run(make_uow: UowFactory) -> int:
        started = time.time()
        fired = tick(make_uow)
        ticks.append((started, time.time(), fired))
        return fired

    def stop() -> bool:
        return sum(f for _, _, f in ticks) >= len(window_due) or _now() > stop_at

    loop(factory, run, stop)
    events = timer_events(factory)
    by_history, committed_by = [], []
    for iid, due in window_due.items():
        if iid not in events:
            continue
        at = events[iid][0]
        by_history.append((at - due).total_seconds())
        end = next((e for s, e, _ in ticks if s - 1e-3 <= at.timestamp() <= e + 1e-3), None)
        if end is not None:
            committed_by.append(end - due.timestamp())
    busy = [e - s for s, e, f in ticks if f]
    return {
        "pending_timers": sizes["pending"], "came_due": len(window_due), "window_s": sizes["window_s"],
        "fired": len(by_history), "not_fired": len(window_due) - len(by_history),
        "history_time_minus_due": summary_ms(by_history) if by_history else None,
        "tick_end_minus_due": summary_ms(committed_by) if committed_by else None,
        "ticks": len(ticks), "busy_tick_ms": summary_ms(busy) if busy else None,
        **({"warning": "the inserts outlasted the lead time: the first timers were already due"} if late else {}),
    }


def latency_and_throughput(factory: UowFactory, sizes: dict[str, Any]) -> tuple[dict[str, Any], Cloner]:
    """(a) due -> fired latency with `pending` timers in the table, under the old 5 s tick and under the shipped
    worker's defaults, in one run; (b) a backlog's rate. Returns the figures and the cloner, for more instances."""
    out: dict[str, Any] = {}
    # population: the real start path makes a sample due days ahead; clones of it make the rest
    sample = sizes["sample"]
    rng = random.Random(3)
    creation_started = perf_counter()
    sample_times = start_sample(factory, [_now() + timedelta(days=1 + 29 * rng.random()) for _ in range(sample)])
    cloner = Cloner(factory)
    far = [_now() + timedelta(days=1 + 29 * rng.random())
           for _ in range(sizes["pending"] - sample - 2 * sizes["window_timers"])]
    bulk_started = perf_counter()
    cloner.insert(factory, far)
    bulk_s = perf_counter() - bulk_started
    out["creation"] = {
        "instances": sizes["pending"], "real_path": sample, "real_path_ms": summary_ms(sample_times),
        "real_path_per_s": round(sample / sum(sample_times), 1), "bulk_cloned": len(far),
        "bulk_s": round(bulk_s, 2), "bulk_per_s": round(len(far) / bulk_s, 1),
        "total_s": round(perf_counter() - creation_started, 2),
    }
    before = sizes["interval_s"]
    old = " (the old default)" if before == OLD_DEFAULT_INTERVAL_S else ""
    out["latency_before"] = {"worker": f"a tick every {before} s{old}", "worker_interval_s": before,
                             **window_latency(factory, cloner, sizes, interval_loop(before))}
    out["latency"] = {"worker": "the shipped worker's defaults", "worker_interval_s": None,
                      **window_latency(factory, cloner, sizes, default_worker)}
    # (b) a backlog of already-due timers, fired by one worker (tick until nothing is due)
    backlog = sizes["backlog"]
    now = _now()
    cloner.insert(factory, [now - timedelta(seconds=60) + timedelta(seconds=30 * n / backlog)
                            for n in range(backlog)])
    before = len(timer_events(factory))
    started = perf_counter()
    fired = 0
    while True:
        n = tick(factory)
        fired += n
        if n == 0:
            break
    elapsed = perf_counter() - started
    after = len(timer_events(factory))
    out["throughput"] = {"backlog": backlog, "fired": fired, "instances_with_timer_event": after - before,
                         "seconds": round(elapsed, 2), "timers_per_s": round(fired / elapsed, 1),
                         "ms_per_timer": round(1000 * elapsed / max(fired, 1), 2),
                         "pending_not_due": sizes["pending"] - 2 * sizes["window_timers"]}
    return out, cloner


def _worker_log_counts(path: Path) -> int:
    text = path.read_text(errors="replace") if path.exists() else ""
    return sum(int(m) for m in re.findall(r"fired (\d+) timer\(s\)", text))


def worker_command() -> str:
    """The `flowcrm` executable of this checkout's venv (else the one beside this Python)."""
    exe = ROOT / ".venv" / "bin" / "flowcrm"
    return str(exe if exe.exists() else Path(sys.executable).with_name("flowcrm"))


def start_worker(url: str, log_path: Path, interval: float,
                 env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """A `flowcrm worker` process on `url` scanning every `interval` seconds, its output in `log_path`."""
    with log_path.open("wb") as log_file:  # the worker keeps its own copy of the handle
        return subprocess.Popen([worker_command(), "--lang", "en", "--database-url", url, "worker", "--interval",
                                 str(interval)],  # English: the counts are read back from its log lines
                                stdout=log_file, stderr=subprocess.STDOUT, cwd=ROOT, env=env)


def stop_workers(procs: list[subprocess.Popen[bytes]]) -> None:
    """Stop worker processes with SIGINT, killing those that do not end within 10 s."""
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
    for proc in procs:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def kill_one_worker(url: str, factory: UowFactory, cloner: Cloner, backlog: int, workdir: Path) -> dict[str, Any]:
    """(c) WORKERS `flowcrm worker` processes over a backlog of due timers; one is SIGKILLed mid-run; then every
    backlog instance must have exactly one timer-step event and no due timer may be left."""
    now = _now()
    with factory.engine.connect() as conn:
        first_new = (conn.scalar(select(func.max(InstanceRow.id))) or 0) + 1
    cloner.insert(factory, [now - timedelta(seconds=120) + timedelta(seconds=60 * n / backlog)
                            for n in range(backlog)])
    with factory.engine.connect() as conn:
        ids = set(conn.scalars(select(InstanceRow.id).where(InstanceRow.id >= first_new)))
    before = timer_events(factory)
    fired_before = sum(len(v) for k, v in before.items() if k in ids)
    procs, logs = [], []
    started = perf_counter()
    for n in range(WORKERS):
        logs.append(workdir / f"worker{n}.log")
        procs.append(start_worker(url, logs[-1], WORKER_INTERVAL_S))
    victim = procs[1]
    killed_at_fired = first_fired = None
    deadline = perf_counter() + 120
    while perf_counter() < deadline:
        time.sleep(0.05)
        with factory.engine.connect() as conn:
            done = conn.scalar(select(func.count()).select_from(InstanceEventRow).where(
                InstanceEventRow.kind == "step", InstanceEventRow.element_id == TIMER_ELEMENT,
                InstanceEventRow.instance_id >= first_new)) or 0
        if first_fired is None and done:
            first_fired = perf_counter() - started
        if killed_at_fired is None and done >= backlog // 3:
            victim.send_signal(signal.SIGKILL)
            victim.wait()
            killed_at_fired = done
            killed_after = perf_counter() - started
        if killed_at_fired is not None and _pending_due(factory) == 0:
            break
    drained = perf_counter() - started
    stop_workers(procs)
    events = timer_events(factory)
    counts = {iid: len(events.get(iid, [])) for iid in ids}
    with factory.engine.connect() as conn:
        stuck = conn.scalar(select(func.count()).select_from(InstanceRow).where(
            InstanceRow.id.in_(ids), InstanceRow.status != "completed")) or 0
        failed = conn.scalar(select(func.count()).select_from(InstanceEventRow).where(
            InstanceEventRow.instance_id.in_(ids), InstanceEventRow.kind == "timer_failed")) or 0
    return {
        "backend": "postgresql", "workers": WORKERS, "worker_interval_s": WORKER_INTERVAL_S, "backlog": backlog,
        "killed_worker_pid": victim.pid, "killed_after_s": round(killed_after, 2) if killed_at_fired else None,
        "killed_when_fired": killed_at_fired, "drained_s": round(drained, 2),
        "first_fired_s": round(first_fired, 2) if first_fired is not None else None,
        "timers_per_s_all_workers": round(backlog / (drained - (first_fired or 0)), 1),
        "fired_per_worker_log": [_worker_log_counts(p) for p in logs],
        "worker_exit_codes": [p.returncode for p in procs],
        "already_fired_before_start": fired_before,
        "instances_with_one_timer_event": sum(1 for c in counts.values() if c == 1),
        "duplicated_effects": sum(c - 1 for c in counts.values() if c > 1),
        "lost_effects": sum(1 for c in counts.values() if c == 0),
        "due_timer_rows_left": _pending_due(factory),
        "instances_not_completed": stuck,
        "timer_failed_events": failed,
    }


def run_sqlite(workdir: Path, quick: bool) -> dict[str, Any]:
    """Latency and one-worker rate on a SQLite file."""
    factory = uow_factory(fresh_sqlite(workdir / "timers.sqlite"))
    try:
        prepare(factory)
        figures, _ = latency_and_throughput(factory, QUICK if quick else FULL)
        return {"backend": "sqlite", **figures}
    finally:
        factory.dispose()


def run_postgres(url: str, workdir: Path, quick: bool) -> dict[str, Any]:
    """Latency, one-worker rate and the three-worker kill run on PostgreSQL, in a schema dropped afterwards."""
    sizes = QUICK if quick else FULL
    with postgres_schema(url, "flowcrm_bench_timers") as scoped:
        prepare_database(scoped)
        factory = uow_factory(scoped)
        try:
            prepare(factory)
            figures, cloner = latency_and_throughput(factory, sizes)
            result = {"backend": "postgresql", **figures}
            result["workers"] = kill_one_worker(scoped, factory, cloner, sizes["workers_backlog"], workdir)
            return result
        finally:
            factory.dispose()
