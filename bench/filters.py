"""Filter speed: contacts with linked deals, products and activities (bench/filters_data.py); the five filters of
bench/filter_queries.py run through the engine (find_records, and the compiled statement alone) and as the same
query hand-written in SQL, in the same run; ids compared; median and p95 of the timed runs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from time import perf_counter
from typing import Any

from sqlalchemy import func, select, text

from bench.bundle import shipped_files
from bench.common import DEPLOYER, NOW, summary_ms
from bench.filter_queries import Case, cases, page_sql
from bench.filters_data import layout
from bench.filters_setup import load_sqlite, postgres_dataset
from engine.bootstrap import UowFactory, uow_factory
from engine.processes.deployed import active_bundle
from engine.services.deployments import deploy_bundle
from engine.services.finding import find_records, parse_filter
from engine.services.views import Actor
from engine.store.filter_sql import FindScope

READER = Actor(id=None, username="bench-admin", display_name="bench", roles=frozenset({"admin"}))
PAGE = 50


def _deploy_and_index(factory: UowFactory) -> dict[str, Any]:
    """Deploy the shipped bundle: deploy_bundle makes the searchable-field indexes (engine/store/field_indexes.py)
    on the loaded rows, so its time is mostly index building. The indexes on record afterwards."""
    start = perf_counter()
    deploy_bundle(factory(), DEPLOYER, shipped_files(), NOW)
    deployed_s = perf_counter() - start
    with factory.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            names = [r[0] for r in conn.execute(text(
                "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'record'"))]
        else:
            names = [r[0] for r in conn.execute(text(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'record'"))]
    return {"deploy_s": round(deployed_s, 1), "index_builder": "deploy_bundle (ensure_field_indexes)",
            "record_indexes": sorted(names)}


def _timed(calls: dict[str, Callable[[], Any]], warmup: int, runs: int,
           budget_s: float) -> tuple[dict[str, list[float]], dict[str, Any]]:
    """Warm-up then timed runs of every variant, interleaved (a load change hits them alike); a variant past
    `budget_s` of timed runs stops the round robin once each has at least 3 runs."""
    results: dict[str, Any] = {}
    for _ in range(warmup):
        for name, call in calls.items():
            results[name] = call()
    times: dict[str, list[float]] = {name: [] for name in calls}
    for n in range(runs):
        if n >= 3 and any(sum(t) >= budget_s for t in times.values()):
            break
        for name, call in calls.items():
            start = perf_counter()
            results[name] = call()
            times[name].append(perf_counter() - start)
    return times, results


def measure_case(factory: UowFactory, case: Case, warmup: int, runs: int, budget_s: float) -> dict[str, Any]:
    """One filter: engine service, compiled statement alone, hand-written SQL; the id sets compared."""
    dialect = factory.engine.dialect.name
    uow = factory()
    bundle, _ = active_bundle(uow)
    flt = parse_filter(bundle, case.filter)
    scope = FindScope()
    page, count, every = page_sql(case, dialect)

    def service() -> tuple[list[int], int]:
        found = find_records(factory(), READER, case.filter, NOW, limit=PAGE)
        return [v.id for v in found.items], found.total

    def compiled() -> tuple[list[int], int]:
        with factory() as work:
            return work.find.ids(flt, NOW, scope, limit=PAGE, offset=0), work.find.count(flt, NOW, scope)

    def hand() -> tuple[list[int], int]:
        with factory.engine.connect() as conn:
            ids = [r[0] for r in conn.execute(text(page), case.params)]
            return ids, int(conn.execute(text(count), case.params).scalar_one())

    times, results = _timed({"hand_sql": hand, "compiled": compiled, "service": service}, warmup, runs, budget_s)
    timings = {name: summary_ms(values) for name, values in times.items()}
    with factory() as work:
        engine_ids = set(work.session.scalars(work.find.statement(flt, NOW, scope)).all())
        statement_sql = work.find.sql(flt, NOW, scope, limit=PAGE)
    with factory.engine.connect() as conn:
        hand_ids = {r[0] for r in conn.execute(text(every), case.params)}
    hand_ms, compiled_ms = timings["hand_sql"], timings["compiled"]
    return {
        "name": case.name,
        "title": case.title,
        "filter": case.filter,
        "matches": len(hand_ids),
        "same_ids": engine_ids == hand_ids,
        "only_engine": len(engine_ids - hand_ids),
        "only_hand": len(hand_ids - engine_ids),
        "same_first_page": results["hand_sql"] == results["compiled"] == results["service"],
        **timings,
        "ratio_compiled_to_hand_median": round(compiled_ms["median_ms"] / hand_ms["median_ms"], 2),
        "ratio_compiled_to_hand_p95": round(compiled_ms["p95_ms"] / hand_ms["p95_ms"], 2),
        "ratio_service_to_hand_median": round(timings["service"]["median_ms"] / hand_ms["median_ms"], 2),
        "engine_sql": statement_sql,
        "hand_sql_text": page,
    }


def _counts(factory: UowFactory) -> dict[str, int]:
    from engine.store.models import RecordLinkRow, RecordRow

    with factory.engine.connect() as conn:
        by_entity = dict(conn.execute(select(RecordRow.entity, func.count()).group_by(RecordRow.entity)).all())
        links = conn.scalar(select(func.count()).select_from(RecordLinkRow)) or 0
    return {**{str(k): int(v) for k, v in by_entity.items()}, "record_link": int(links)}


def measure(factory: UowFactory, warmup: int, runs: int, budget_s: float) -> list[dict[str, Any]]:
    """Every case on one database."""
    return [measure_case(factory, case, warmup, runs, budget_s)
            for case in cases(factory.engine.dialect.name)]


def run_sqlite(workdir: Path, contacts: int, deals: int, warmup: int, runs: int, budget_s: float,
               seed: int = 5) -> dict[str, Any]:
    """The filter benchmark on a fresh SQLite file."""
    url, data = load_sqlite(workdir / "filters.sqlite", layout(contacts, deals), seed)
    factory = uow_factory(url)
    try:
        data.update(_deploy_and_index(factory))
        data["rows"] = _counts(factory)
        data["database_mb"] = round(sum(p.stat().st_size for p in workdir.glob("filters.sqlite*")) / 2**20, 1)
        return {"backend": "sqlite", "data": data, "cases": measure(factory, warmup, runs, budget_s)}
    finally:
        factory.dispose()


def run_postgres(url: str, contacts: int, deals: int, warmup: int, runs: int, budget_s: float, *,
                 keep: bool, seed: int = 5) -> dict[str, Any]:
    """The filter benchmark on PostgreSQL in a schema of its own (kept and reused with `keep`)."""
    with postgres_dataset(url, layout(contacts, deals), seed, keep=keep) as (scoped, data):
        factory = uow_factory(scoped)
        try:
            data.update(_deploy_and_index(factory))
            with factory.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("ANALYZE record"))
                size = conn.scalar(text("SELECT pg_size_pretty(sum(pg_total_relation_size(c.oid))) FROM pg_class c "
                                        "JOIN pg_namespace n ON n.oid = c.relnamespace "
                                        "WHERE n.nspname = current_schema() AND c.relkind = 'r'"))
            data["rows"] = _counts(factory)
            data["database_size"] = size
            return {"backend": "postgresql", "data": data, "cases": measure(factory, warmup, runs, budget_s)}
        finally:
            factory.dispose()


