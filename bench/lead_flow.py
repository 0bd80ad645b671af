"""End-to-end throughput of the lead process: SpiffWorkflow alone, with serialization, the engine adapter, and
the full services on a SQLite file and (given a server) on PostgreSQL — in one run so the ratios compare like
with like. Every lead is a different person and company, so no lead is a duplicate of the ones before it."""

from __future__ import annotations

import cProfile
import pstats
import sysconfig
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from time import perf_counter, process_time
from typing import Any

# SpiffWorkflow is imported here only for the baselines: they measure the library without the engine around it.
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import TaskDataEnvironment
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import Connection, event, func, select

from bench import floor
from bench.common import NOW, ROOT, StatementLog, deployed_factory, fresh_sqlite, postgres_schema, summary_ms
from bench.names import EN_LAST, RU_LAST, RU_MALE
from engine.bootstrap import UowFactory, prepare_database
from engine.processes.calendar import BusinessTime
from engine.processes.spiff import Runtime, cache_counts, parse_definitions
from engine.services import records, tasks
from engine.services.users import create_user, get_actor
from engine.services.views import Actor
from engine.store.models import InstanceRow, RecordRow

PROCESS = "lead_qualification"
BPMN = "processes/lead_qualification.bpmn"
CHANNEL = "website"
QUALIFY = {"outcome": "convert", "budget": "5000"}
ARRANGE = {"next_contact_on": "2026-03-10", "meeting_notes": "Demo of the 20-laptop offer"}
STEPS = (
    "create_record (starts the process)",
    "find qualify_lead in pool",
    "claim_task",
    "complete qualify_lead",
    "find arrange_meeting in mine",
    "complete arrange_meeting",
)
LOOKUPS = {STEPS[1], STEPS[4]}
VERSION_ID = -1  # the engine adapter caches parsed specs by version id; no real version backs the no-DB tier


def lead(i: int) -> dict[str, Any]:
    """Lead number `i`: a person, company, phone and e-mail no other lead of the run shares (negative `i` are the
    warm-up leads)."""
    n = abs(i) * 2 + (i < 0)
    first, last = RU_MALE[n % len(RU_MALE)], RU_LAST[(n // len(RU_MALE)) % len(RU_LAST)]
    return {
        "title": f"Lead {i}",
        "contact_name": f"{first} {last} {n}",
        "company": f"{EN_LAST[n % len(EN_LAST)]} Trading {n}",
        "phone": f"+7 9{n // 10**7 % 100:02d} {n // 10**4 % 1000:03d}-{n // 100 % 100:02d}-{n % 100:02d}",
        "email": f"lead{n}@example{n % 97}.com",
        "channel": CHANNEL,
    }


def _record_data(i: int) -> dict[str, Any]:
    """What the process sees of the lead, as the services would pass it (normalized record + id)."""
    record = {**lead(i), "phone": "+79123456789", "status": "new"}
    return {"record": record, "record_id": i}


def _step_data(i: int, worker: str) -> list[tuple[str, dict[str, Any]]]:
    """Per user task: the data the services put on it when completing (form values, record, completer)."""
    qualified = {**_record_data(i)["record"], "budget": "5000", "status": "qualified"}
    return [
        (
            "qualify_lead",
            {
                **QUALIFY,
                "record": qualified,
                "record_id": i,
                "qualify_lead_completed_by": worker,
                "last_completed_by": worker,
            },
        ),
        (
            "arrange_meeting",
            {
                **ARRANGE,
                "record": {**qualified, "next_contact_on": ARRANGE["next_contact_on"]},
                "record_id": i,
                "arrange_meeting_completed_by": worker,
                "last_completed_by": worker,
            },
        ),
    ]


def _rate(count: int, seconds: float, cpu: float) -> dict[str, float]:
    return {
        "instances": count,
        "seconds": round(seconds, 4),
        "instances_per_s": round(count / seconds, 1),
        "ms_per_instance": round(seconds * 1000 / count, 3),
        # CPU time of this process: SQLite works inside it, the PostgreSQL server and the sandbox worker do not
        "cpu_ms_per_instance": round(cpu * 1000 / count, 3),
    }


def _interleaved(
    tiers: dict[str, Callable[[int], None]], warmup: int, count: int, rounds: int
) -> dict[str, dict[str, float]]:
    """Time every tier on `count` instances, in `rounds` alternating chunks so background load on a shared
    machine falls on all tiers alike."""
    for one in tiers.values():
        for i in range(warmup):
            one(-1 - i)
    spent = dict.fromkeys(tiers, 0.0)
    cpu = dict.fromkeys(tiers, 0.0)
    done = 0
    for r in range(rounds):
        chunk = count * (r + 1) // rounds - done
        for name, one in tiers.items():
            start, start_cpu = perf_counter(), process_time()
            for i in range(done, done + chunk):
                one(i)
            spent[name] += perf_counter() - start
            cpu[name] += process_time() - start_cpu
        done += chunk
    return {name: _rate(count, seconds, cpu[name]) for name, seconds in spent.items()}


def _working_hours(hours: float) -> str:
    return BusinessTime().working_hours_from_now()(hours)  # the wall clock, every hour a working hour


# The default engine, plus the one helper the process's timers call (the escalation's working_hours(4)).
_BASELINE_ENGINE = PythonScriptEngine(environment=TaskDataEnvironment({"working_hours": _working_hours}))


class SpiffBaseline:
    """The BPMN run by SpiffWorkflow alone: CamundaParser + BpmnWorkflow, its default script engine."""

    def __init__(self, serialize_each_wait: bool) -> None:
        parser = CamundaParser()
        parser.add_bpmn_file(str(ROOT / BPMN))
        self.spec, self.subs = parser.get_spec(PROCESS), parser.get_subprocess_specs(PROCESS)
        self.serializer = (
            BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(CAMUNDA_CONFIG)) if serialize_each_wait else None
        )

    def instance(self, i: int) -> None:
        """Start, reach the first wait state, complete both user tasks (round-tripping JSON at each wait)."""
        workflow = BpmnWorkflow(self.spec, self.subs, script_engine=_BASELINE_ENGINE)
        workflow.get_tasks(state=TaskState.READY)[0].data.update(_record_data(i))
        workflow.do_engine_steps()
        for element, data in _step_data(i, "sam"):
            if self.serializer is not None:
                workflow = self.serializer.deserialize_json(self.serializer.serialize_json(workflow))
            task = workflow.get_tasks(state=TaskState.READY, manual=True)[0]
            assert task.task_spec.bpmn_id == element
            task.data.update(data)
            task.run()
            workflow.do_engine_steps()
        if self.serializer is not None:
            self.serializer.serialize_json(workflow)
        assert workflow.is_completed()


class RuntimeBaseline:
    """The engine's SpiffWorkflow adapter (sandboxed scripts, spec-less state) doing what `advance` asks of it,
    with no database: dump at each wait state, load before each completion."""

    def __init__(self) -> None:
        definition = parse_definitions({BPMN: (ROOT / BPMN).read_text()}, {})[PROCESS]
        self.blob = definition.blob

    def _wait(self, runtime: Runtime) -> str:
        runtime.ready_user_tasks()
        runtime.pending_timers()
        runtime.is_completed()
        return runtime.dump()

    def instance(self, i: int) -> None:
        """Start, then load/complete/dump for each user task."""
        runtime, _ = Runtime.start(VERSION_ID, self.blob, _record_data(i))
        state = self._wait(runtime)
        for element, data in _step_data(i, "sam"):
            runtime = Runtime.load(VERSION_ID, self.blob, state)
            task = next(t for t in runtime.ready_user_tasks() if t.element_id == element)
            runtime.complete(task.task_id, data)
            state = self._wait(runtime)
        assert runtime.is_completed()


class PersistedFlow:
    """The lead process through the engine services on a database (a SQLite file, a PostgreSQL schema)."""

    def __init__(self, url: str) -> None:
        self.factory: UowFactory = deployed_factory(url)
        self.log = StatementLog(self.factory.engine)
        self.begun = 0  # database transactions: each a pool checkout, BEGIN and COMMIT/ROLLBACK on the server
        event.listen(self.factory.engine, "begin", self._begun)
        self.creator = self._user("hank", ["head_of_sales"])
        self.workers = [self._user(name, ["sales"]) for name in ("sam", "sue", "sid", "sal")]
        self.times: dict[str, list[float]] = {name: [] for name in STEPS}
        self.statements = dict.fromkeys(STEPS, 0)
        self.transactions = dict.fromkeys(STEPS, 0)
        self.recording = False
        self.trace: dict[str, list[str]] | None = None
        self.started = 0
        # of the recorded leads: steps that found their workflow live in the hot cache, steps that deserialized
        # it, spec blobs parsed
        self.cache = {"hot_workflow_hits": 0, "hot_workflow_misses": 0, "spec_parses": 0}

    def _begun(self, conn: Connection) -> None:
        if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":  # a read of its own: no BEGIN
            self.begun += 1

    def _user(self, name: str, roles: list[str]) -> Actor:
        view = create_user(self.factory(), name, "bench-password", roles, NOW, team="north")
        return get_actor(self.factory(), view.id)

    def instance(self, i: int) -> None:
        """One lead from creation to the end of its process; each service call timed once recording."""
        self.started += 1
        mk, worker = self.factory, self.workers[self.started % len(self.workers)]
        rec_id = task_id = ""

        def create() -> None:
            nonlocal rec_id
            rec_id = str(records.create_record(mk(), self.creator, "Lead", lead(i), NOW).id)

        def find(scope: str, element: str) -> Callable[[], None]:
            def run() -> None:
                nonlocal task_id
                views = tasks.list_tasks(mk(), worker, scope)
                task_id = next(t.id for t in views if str(t.record_id) == rec_id and t.element_id == element)

            return run

        calls: list[Callable[[], object]] = [
            create,
            find("pool", "qualify_lead"),
            lambda: tasks.claim_task(mk(), worker, task_id, NOW),
            lambda: tasks.complete_task(mk(), worker, task_id, QUALIFY, NOW),
            find("mine", "arrange_meeting"),
            lambda: tasks.complete_task(mk(), worker, task_id, ARRANGE, NOW),
        ]
        counts = cache_counts()
        hot, spec = counts["workflows"], counts["specs"]
        hits, misses, parses = hot.hits, hot.misses, spec.misses
        for name, call in zip(STEPS, calls, strict=True):
            before, begun, kept, start = self.log.count, self.begun, len(self.log.kept), perf_counter()
            call()
            if self.recording:
                self.times[name].append(perf_counter() - start)
                self.statements[name] += self.log.count - before
                self.transactions[name] += self.begun - begun
            if self.trace is not None:
                self.trace[name] = [" ".join(sql.split())[:160] for sql, _ in self.log.kept[kept:]]
        if self.recording:
            self.cache["hot_workflow_hits"] += hot.hits - hits
            self.cache["hot_workflow_misses"] += hot.misses - misses
            self.cache["spec_parses"] += spec.misses - parses

    def verify(self) -> int:
        """Every lead started so far finished its process qualified with a meeting date; their count."""
        with self.factory() as uow:
            done = uow.session.scalar(select(func.count()).where(InstanceRow.status == "completed")) or 0
            leads = uow.session.scalars(select(RecordRow.data)).all()
        qualified = sum(1 for d in leads if d.get("status") == "qualified" and d.get("next_contact_on"))
        if done != self.started or qualified != self.started:
            raise AssertionError(
                f"expected {self.started} completed instances and qualified leads, got {done} and {qualified}"
            )
        return int(done)

    def details(self, count: int) -> dict[str, Any]:
        """Per-step times and SQL statement counts of the recorded instances."""
        without = sum(sum(v) for k, v in self.times.items() if k not in LOOKUPS)
        return {
            "instances_per_s_without_inbox_lookups": round(count / without, 1),
            "sql_statements_per_instance": round(sum(self.statements.values()) / count, 1),
            "transactions_per_instance": round(sum(self.transactions.values()) / count, 1),
            **self.cache,
            "verified_completed_instances": self.verify(),
            "steps": {
                name: {
                    **summary_ms(self.times[name]),
                    "sql_statements": round(self.statements[name] / count, 1),
                    "transactions": round(self.transactions[name] / count, 1),
                }
                for name in STEPS
            },
        }

    def statement_trace(self) -> dict[str, list[str]]:
        """The SQL statements (shortened) each service call sends, for one more lead."""
        self.recording, self.trace = False, {}
        with self.log.capture():
            self.instance(2 * 10**6)
        trace, self.trace = self.trace, None
        return trace

    def leads(self, first: int, count: int) -> Callable[[], int]:
        """Run `count` more leads numbered from `first`, untimed per call; returns a callable giving the count."""

        def run() -> int:
            self.recording = False
            for i in range(first, first + count):
                self.instance(i)
            return count

        return run

    def profile(self, count: int, top: int = 10) -> dict[str, Any]:
        """cProfile `count` more leads; the hotspots per instance."""
        self.recording = False
        profiler = cProfile.Profile()
        profiler.enable()
        for i in range(count):
            self.instance(10**6 + i)
        profiler.disable()
        return hotspots(pstats.Stats(profiler), count, top)


class _Recording:
    """Turns on step recording after the warm-up (the first call with a non-negative index)."""

    def __init__(self, flow: PersistedFlow) -> None:
        self.flow = flow

    def __call__(self, i: int) -> None:
        self.flow.recording = i >= 0
        self.flow.instance(i)


_SITE = sysconfig.get_paths()["purelib"] + "/"
_STDLIB = sysconfig.get_paths()["stdlib"] + "/"
_BENCH = str(ROOT / "bench") + "/"
_SKIP = ("<method 'disable' of '_lsprof.Profiler' objects>", "<built-in method builtins.exec>")


def _label(file: str, line: int, name: str) -> str | None:
    if file.startswith(_BENCH) or name in _SKIP:
        return None
    if file == "~":
        return name
    for prefix, shown in ((_SITE, ""), (_STDLIB, "stdlib/"), (str(ROOT) + "/", "")):
        if file.startswith(prefix):
            file = shown + file[len(prefix) :]
            break
    return f"{file}:{line}({name})"


# own time by where it is spent: the driver's part includes waiting for the database server
_PARTS = (
    ("database driver and server (execute, commit, waiting)", ("psycopg", "sqlite3")),
    ("SQLAlchemy (ORM unit of work, loading, statement building)", ("sqlalchemy/",)),
    ("SpiffWorkflow (running the process)", ("SpiffWorkflow/",)),
    # the sandbox worker is reached over a pipe (multiprocessing.connection): poll, read, write, pickle
    (
        "sandbox round trips (worker process)",
        ("engine/limits/", "multiprocessing/", "pickle", "select.poll", "posix.write", "posix.read"),
    ),
    ("JSON", ("json/", "_json")),
    ("engine code", ("engine/",)),
)


def _part(file: str, name: str) -> str:
    where = f"{file}:{name}" if file != "~" else name
    for part, markers in _PARTS:
        if any(marker in where for marker in markers):
            return part
    return "Python standard library and other packages"


def _by_part(stats: pstats.Stats) -> dict[str, float]:
    """Share of the profiled own time per part (driver, ORM, SpiffWorkflow, ...), largest first."""
    total = stats.total_tt  # type: ignore[attr-defined]
    parts: dict[str, float] = {}
    for (file, _line, name), (_cc, _calls, own, _cum, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if file.startswith(_BENCH) or name in _SKIP:
            continue
        part = _part(file, name)
        parts[part] = parts.get(part, 0.0) + own
    return {part: round(own / total, 3) for part, own in sorted(parts.items(), key=lambda kv: -kv[1])}


def hotspots(stats: pstats.Stats, count: int, top: int) -> dict[str, Any]:
    """Top functions by cumulative time, by own time, and engine functions by cumulative time; own time by part."""
    rows = []
    total = stats.total_tt  # type: ignore[attr-defined]
    for (file, line, name), (_cc, calls, own, cum, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        label = _label(file, line, name)
        if label is not None:
            rows.append(
                {
                    "function": label,
                    "calls_per_instance": round(calls / count, 1),
                    "cum_ms_per_instance": round(cum * 1000 / count, 3),
                    "own_ms_per_instance": round(own * 1000 / count, 3),
                    "cum_share": round(cum / total, 3),
                }
            )
    by_cum = sorted(rows, key=lambda r: -r["cum_ms_per_instance"])
    return {
        "profiled_instances": count,
        "profiled_ms_per_instance": round(total * 1000 / count, 2),
        "top_cumulative": by_cum[:top],
        "top_cumulative_engine": [r for r in by_cum if r["function"].startswith("engine/")][:top],
        "top_own_time": sorted(rows, key=lambda r: -r["own_ms_per_instance"])[:top],
        "own_time_by_part": _by_part(stats),
    }


def _postgres_url(stack: ExitStack, url: str, prefix: str = "bench_lead_flow") -> str:
    """A migrated, empty schema on the PostgreSQL server at `url`, dropped when `stack` closes."""
    scoped = stack.enter_context(postgres_schema(url, prefix))
    prepare_database(scoped)
    return scoped


def run(
    workdir: Path, leads: int, warmup: int, profile_leads: int, rounds: int = 5, postgres: str | None = None
) -> dict[str, Any]:
    """Every tier of the lead benchmark, interleaved in this process (PostgreSQL beside SQLite when given)."""
    with ExitStack() as stack:
        flows = {"persisted_sqlite_file": PersistedFlow(fresh_sqlite(workdir / "lead_flow.sqlite"))}
        replica = None
        if postgres:
            flows["persisted_postgres"] = PersistedFlow(_postgres_url(stack, postgres))

            def replica(url: str = postgres) -> tuple[PersistedFlow, PersistedFlow, PersistedFlow]:
                """Three schemas set up alike, so rows get the same ids in each: recorded, replayed one statement at
                a time, replayed pipelined."""
                recorded, replayed, piped = (PersistedFlow(_postgres_url(stack, url, f"bench_floor_{n}"))
                                             for n in "abc")
                return recorded, replayed, piped

        try:
            return _run(flows, leads, warmup, profile_leads, rounds, replica)
        finally:
            for flow in flows.values():
                flow.factory.dispose()


def _floors(
    flows: dict[str, PersistedFlow],
    tiers: dict[str, dict[str, float]],
    count: int,
    base: float,
    postgres_replica: Callable[[], tuple[PersistedFlow, PersistedFlow, PersistedFlow]] | None,
) -> dict[str, Any]:
    """What the database alone costs per lead (bench/floor.py) beside what the services cost, as ratios to
    SpiffWorkflow in memory of this run."""
    sqlite = flows["persisted_sqlite_file"]
    found = {"persisted_sqlite_file": floor.sqlite_floor(sqlite.factory.engine, sqlite.leads(3 * 10**6, count))}
    if postgres_replica is not None:
        recorded, replica, piped = postgres_replica()
        try:
            found["persisted_postgres"] = floor.replay_floor(
                recorded.factory.engine, recorded.leads(3 * 10**6, count), replica.factory.engine,
                piped.factory.engine,
            )
        finally:
            recorded.factory.dispose()
            replica.factory.dispose()
            piped.factory.dispose()
    for tier, measured in found.items():
        measured["floor_ratio_to_in_memory"] = round(measured["ms_per_instance"] / base, 2)
        if "pipelined_ms_per_instance" in measured:
            measured["pipelined_floor_ratio_to_in_memory"] = round(measured["pipelined_ms_per_instance"] / base, 2)
        measured["services_ratio_to_in_memory"] = round(tiers[tier]["ms_per_instance"] / base, 2)
    return found


def _run(
    flows: dict[str, PersistedFlow],
    leads: int,
    warmup: int,
    profile_leads: int,
    rounds: int,
    postgres_replica: Callable[[], tuple[PersistedFlow, PersistedFlow, PersistedFlow]] | None = None,
) -> dict[str, Any]:
    tiers = _interleaved(
        {
            "spiff_in_memory": SpiffBaseline(serialize_each_wait=False).instance,
            "spiff_serialize_each_wait": SpiffBaseline(serialize_each_wait=True).instance,
            "engine_runtime_no_db": RuntimeBaseline().instance,
            **{name: _Recording(flow) for name, flow in flows.items()},
        },
        warmup,
        leads,
        min(rounds, leads),
    )
    steps = {}
    for name, flow in flows.items():
        details = flow.details(leads)
        steps[name] = details.pop("steps")
        tiers[name].update(details)
    base = tiers["spiff_in_memory"]["ms_per_instance"]
    ratios = {name: round(t["ms_per_instance"] / base, 2) for name, t in tiers.items()}
    base_cpu = tiers["spiff_in_memory"]["cpu_ms_per_instance"]
    cpu_ratios = {name: round(t["cpu_ms_per_instance"] / base_cpu, 2) for name, t in tiers.items()}
    profiles = {name: flow.profile(profile_leads) for name, flow in flows.items()} if profile_leads else {}
    floors = _floors(flows, tiers, min(leads, 20), base, postgres_replica)
    return {
        "leads": leads,
        "warmup": warmup,
        "rounds": min(rounds, leads),
        "tiers": tiers,
        "ratio_to_in_memory": ratios,
        # less moved by other work on a shared machine than wall time; for PostgreSQL the client's part only
        "cpu_ratio_to_in_memory": cpu_ratios,
        "target_ratio": {"persisted_sqlite_file": 3.0, "persisted_postgres": 4.0},
        "persisted_steps": steps,
        "database_floor": floors,
        "profile": profiles.get("persisted_sqlite_file"),
        "profile_postgres": profiles.get("persisted_postgres"),
        "sql_of_one_instance": {name: flow.statement_trace() for name, flow in flows.items()},
    }
