"""CSV import rate: a file of synthetic contacts (bench/synthetic.py, duplicates included) imported by the engine's
import job with duplicate matching on (the shipped configuration: match_on email/phone plus the duplicate rules)
and off (the same bundle without Contact's match_on and duplicate rules), against a plain SQLAlchemy executemany
of the same rows (records and their field history); each in a fresh database, in the same run.

Every variant runs once untimed on a small file first (warm-up: imports, statement caches), then `repeats` times
timed, each in a fresh database; the median is reported. `import_dedup_on_row_by_row` is the dedup import with
the batch path off (every row written alone, as before it), on at most `row_by_row_rows` rows of the file."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from time import perf_counter, process_time
from typing import Any

import yaml
from sqlalchemy import func, insert, select

from bench.bundle import shipped_files
from bench.common import DEPLOYER, NOW, fresh_sqlite, postgres_schema
from bench.synthetic import contact_base, record_rows, write_csv
from engine.bootstrap import UowFactory, prepare_database
from engine.services.deployments import deploy_bundle
from engine.services.imports import create_job, get_job
from engine.services.records import create_record
from engine.services.users import create_user, get_actor
from engine.store.models import FieldChangeRow, RecordRow

ENTITY = "Contact"
DUPLICATES_FILE = "crm_model/duplicates/contact.yaml"
IMPORTS_FILE = "crm_model/imports.yaml"
TERRITORIES = (("MSK", "moscow"), ("NW", "northwest"), ("IT", None))
MODE = "valid_only"  # batches of rows, each committed with its progress: how a large file is imported


def bundle_files(dedup: bool) -> dict[str, str]:
    """The shipped bundle; without dedup, Contact has no duplicate rules and no match_on."""
    files = shipped_files()
    if dedup:
        return files
    files.pop(DUPLICATES_FILE, None)
    if IMPORTS_FILE in files:
        spec = yaml.safe_load(files[IMPORTS_FILE])
        spec.get("entities", {}).get(ENTITY, {}).pop("match_on", None)
        files[IMPORTS_FILE] = yaml.safe_dump(spec, allow_unicode=True, sort_keys=False)
    return files


def _engine_import(factory: UowFactory, csv_path: Path, dedup: bool, bulk: bool = True,
                   batch_size: int | None = None) -> dict[str, Any]:
    from engine.imports.run import run_import

    deploy_bundle(factory(), DEPLOYER, bundle_files(dedup), NOW)
    user = create_user(factory(), "importer", "bench-password-1", ["admin"], NOW)
    actor = get_actor(factory(), user.id)
    for code, region in TERRITORIES:  # the shipped territory rules join contacts to these (demo/seed.yaml)
        create_record(factory(), actor, "Territory", {"code": code, "name": code, "region": region,
                                                     "manager": "importer"}, NOW)
    start, cpu = perf_counter(), process_time()
    job = create_job(factory(), actor, ENTITY, csv_path.name, csv_path, NOW, mode=MODE)
    prepared = perf_counter() - start
    run_import(factory, job.id, lambda: NOW, bulk=bulk, **({"batch_size": batch_size} if batch_size else {}))
    seconds, cpu = perf_counter() - start, process_time() - cpu
    done = get_job(factory(), actor, job.id)
    if done.status != "done":
        raise RuntimeError(f"import job {job.id} ended {done.status}: {done.message}")
    return {"seconds": round(seconds, 2), "cpu_s": round(cpu, 2), "prepare_s": round(prepared, 2),
            "status": done.status, "counts": dict(done.counts)}


def history_rows(rows: list[dict[str, Any]], source: str) -> list[dict[str, Any]]:
    """One field history row per field of each record row, as an import writes them."""
    return [{"record_id": row["id"], "at": row["created_at"], "actor": row["created_by"], "source": source,
             "field": name, "old_value": None, "new_value": value}
            for row in rows for name, value in row["data"].items()]


def _executemany(factory: UowFactory, rows: list[dict[str, Any]]) -> dict[str, Any]:
    history = history_rows(rows, "import #1")  # built before the clock starts, as the rows are
    start, cpu = perf_counter(), process_time()
    with factory.session_scope() as session:
        session.execute(insert(RecordRow), rows)
        session.execute(insert(FieldChangeRow), history)
        session.commit()
    return {"seconds": round(perf_counter() - start, 2), "cpu_s": round(process_time() - cpu, 2),
            "counts": {"created": len(rows)}, "history_rows": len(history)}


def _cpu_rate(result: dict[str, Any]) -> float | None:
    """Rows per CPU second of this process."""
    return result["rows"] / result["cpu_s"] if result.get("cpu_s") else None


def _records(factory: UowFactory) -> int:
    with factory.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(RecordRow).where(RecordRow.entity == ENTITY)) or 0)


VARIANTS = ("plain_executemany", "import_dedup_off", "import_dedup_on", "import_dedup_on_row_by_row")


def _variant(name: str, url: str, csv_path: Path, plain_rows: list[dict[str, Any]]) -> dict[str, Any]:
    factory = _Factory(url)
    try:
        if name == "plain_executemany":
            deploy_bundle(factory(), DEPLOYER, bundle_files(True), NOW)
            result = _executemany(factory, plain_rows)
        else:
            result = _engine_import(factory, csv_path, dedup=name != "import_dedup_off",
                                    bulk=not name.endswith("row_by_row"))
        result["records_after"] = _records(factory)
    finally:
        factory.dispose()
    return result


def measure(databases: Callable[[str], Any], workdir: Path, rows: int, seed: int, *, repeats: int = 3,
            warmup_rows: int = 300, row_by_row_rows: int = 5_000) -> dict[str, Any]:
    """Write the CSVs, then time each variant `repeats` times after a warm-up, each run in a database of its
    own (`databases(name)` is a context manager yielding a migrated, empty database's URL)."""
    sizes = {name: min(rows, row_by_row_rows) if name.endswith("row_by_row") else rows for name in VARIANTS}
    warmup_rows = min(warmup_rows, rows)  # a warm-up larger than the timed file only costs time
    files: dict[int, tuple[Path, list[dict[str, Any]], Any]] = {}
    for size in {*sizes.values(), warmup_rows}:
        base = contact_base(size, seed)
        csv_path = workdir / f"contacts-{size}.csv"
        write_csv(base.rows, csv_path)
        files[size] = (csv_path, list(record_rows(base.rows, entity=ENTITY, now=NOW)), base)
    variants: dict[str, Any] = {}
    for name in VARIANTS:
        with databases(f"{name}_warmup") as url:
            _variant(name, url, files[warmup_rows][0], files[warmup_rows][1])
        runs = []
        for _ in range(repeats):
            with databases(name) as url:
                runs.append(_variant(name, url, *files[sizes[name]][:2]))
        result = sorted(runs, key=lambda run: run["seconds"])[len(runs) // 2]  # the median run
        result["runs_s"] = [run["seconds"] for run in runs]
        result["rows"] = sizes[name]
        result["rows_per_s"] = round(sizes[name] / result["seconds"], 1) if result["seconds"] else None
        variants[name] = result
    floor = variants["plain_executemany"]["rows_per_s"]
    cpu_floor = _cpu_rate(variants["plain_executemany"])
    for result in variants.values():  # rates, not times: the row-by-row variant may run fewer rows
        result["times_plain"] = round(floor / result["rows_per_s"], 1) if floor and result["rows_per_s"] else None
        result["share_of_plain_rate"] = round(result["rows_per_s"] / floor, 3) if floor and result["rows_per_s"] \
            else None
        # on a loaded machine the wall clock counts other processes' time too: the same ratio in this process's
        # CPU seconds (PostgreSQL's own CPU is not in it, SQLite's is)
        rate = _cpu_rate(result)
        result["cpu_share_of_plain_rate"] = round(rate / cpu_floor, 3) if rate and cpu_floor else None
    off, on = variants["import_dedup_off"]["seconds"], variants["import_dedup_on"]["seconds"]
    slow = variants["import_dedup_on_row_by_row"]["rows_per_s"]
    csv_path, _, base = files[rows]
    truth = base.pairs_by_entity()
    return {"rows": rows, "people": len({r.entity_id for r in base.rows}), "duplicate_pairs": len(truth["duplicate"]),
            "csv_mb": round(csv_path.stat().st_size / 2**20, 1), "mode": MODE, "repeats": repeats,
            "warmup_rows": warmup_rows, "variants": variants,
            "dedup_on_to_off": round(on / off, 2) if off else None,
            "dedup_on_seconds_per_100k": round(on * 100_000 / rows, 1),  # the goal: at most 60 s
            "batch_speedup": round(variants["import_dedup_on"]["rows_per_s"] / slow, 1) if slow else None}


class _Factory(UowFactory):
    """A unit-of-work factory that also hands out a plain session (for the executemany floor)."""

    @contextmanager
    def session_scope(self) -> Iterator[Any]:
        session = self._sessions()
        try:
            yield session
        finally:
            session.close()


def run_sqlite(workdir: Path, rows: int, seed: int, **options: Any) -> dict[str, Any]:
    """The import benchmark on fresh SQLite files."""

    @contextmanager
    def databases(name: str) -> Iterator[str]:
        yield fresh_sqlite(workdir / f"import-{name}.sqlite")

    return {"backend": "sqlite", **measure(databases, workdir, rows, seed, **options)}


def run_postgres(url: str, workdir: Path, rows: int, seed: int, **options: Any) -> dict[str, Any]:
    """The import benchmark on PostgreSQL, a throw-away schema per variant."""

    @contextmanager
    def databases(name: str) -> Iterator[str]:
        with postgres_schema(url, f"flowcrm_bench_import_{name}") as scoped:
            prepare_database(scoped)
            yield scoped

    return {"backend": "postgresql", **measure(databases, workdir, rows, seed, **options)}


