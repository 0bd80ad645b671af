"""Import rate of records whose creation triggers rules on the records they link to (issue 12 item 3): Activities
(the shipped rule probable_client_calls_in on Contact) and Deals (contact_status_by_deals and
organization_status_by_deals: a `let` count of won deals, `compute` and `set`), each row linked to one of the
existing Contacts (and Organizations), several rows per target, with the batch path on and off.

    python -m bench.import_linked --rows 20000 [--entity Activity|Deal|both] [--postgres URL] [--path batch|rows|both]
        [--dump DIR]

Each variant runs once untimed on a small file (warm-up), then timed in a fresh database; it reports seconds, rows
per second, this process's CPU seconds and the SQL statements the import sent. `--dump DIR` writes every table's rows
after each timed import (DIR/<database>_<entity>_<path>/<table>.jsonl, ids included; random task ids and the
workflows' clock readings masked) and a digest per table, to compare two runs (two versions of the code, or the
batch and row paths) with `diff -r`."""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from time import perf_counter, process_time
from typing import Any

from bench.common import DEPLOYER, NOW, StatementLog, fresh_sqlite, postgres_schema
from engine.bootstrap import UowFactory, prepare_database, uow_factory
from engine.config.loader import read_bundle_dir
from engine.services.bulk_records import create_records
from engine.services.deployments import deploy_bundle
from engine.services.imports import create_job, get_job
from engine.services.users import create_user, get_actor
from engine.store.models import Base

ROOT = Path(__file__).resolve().parent.parent
ACTIVITY_COLUMNS = ["subject", "kind", "direction", "contact"]
DEAL_COLUMNS = ["title", "stage", "amount", "client", "organization"]
STAGES = ("won", "new", "won", "lost", "won", "offer")  # one contact's deals: its status climbs within a batch
SKIPPED = {"import_job", "alembic_version"}  # the job's own bookkeeping (pid, host, heartbeat)
MASKED = ((re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<uuid>"),  # task ids
          (re.compile(r'last_state_change(\\*)": [0-9.e+-]+'), r'last_state_change\1": 0'),  # a step's wall clock
          (re.compile(r"\$argon2id\$[^'\"]+"), "<password hash>"))  # salted: a new one per run


def write_activities(path: Path, rows: int, contacts: list[int]) -> Path:
    """`rows` calls, spread over the contacts (about rows / contacts each), every third inbound."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(ACTIVITY_COLUMNS)
        for n in range(rows):
            writer.writerow([f"Call {n}", "call", "inbound" if n % 3 == 0 else "outbound",
                             f"#{contacts[n % len(contacts)]}"])
    return path


def write_deals(path: Path, rows: int, contacts: list[int], organizations: list[int]) -> Path:
    """`rows` deals spread over the contacts and organizations, the stages in turn (half of them won)."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(DEAL_COLUMNS)
        for n in range(rows):
            writer.writerow([f"Deal {n}", STAGES[(n // len(contacts)) % len(STAGES)], str(100 + n % 900),
                             f"#{contacts[n % len(contacts)]}", f"#{organizations[n % len(organizations)]}"])
    return path


def prepare(factory: UowFactory, contacts: int) -> tuple[Any, list[int], list[int]]:
    """The shipped bundle, an importing admin, `contacts` Contacts (half of them probable clients) and a fifth as
    many Organizations (none in a territory's region); (the actor, contact ids, organization ids)."""
    deploy_bundle(factory(), DEPLOYER, read_bundle_dir(ROOT), NOW)
    user = create_user(factory(), "importer", "bench-password-1", ["admin"], NOW)
    actor = get_actor(factory(), user.id)
    people = [{"full_name": f"Person {n}", "phone": f"+7 912 {n // 10000:03d}-{n % 10000:04d}",
               "region": "siberia", **({"status": "probable"} if n % 2 == 0 else {})} for n in range(contacts)]
    companies = [{"name": f"Company {n}", "region": "siberia"} for n in range(max(1, contacts // 5))]
    contact_ids = [row.id for row in create_records(factory(), actor, "Contact", people, NOW, start_processes=False)]
    organization_ids = [row.id for row in create_records(factory(), actor, "Organization", companies, NOW,
                                                         start_processes=False)]
    return actor, contact_ids, organization_ids


def dump_tables(factory: UowFactory, folder: Path) -> None:
    """Every table's rows in id order (or all columns' order), masked (MASKED), one JSON line each, and digests."""
    from sqlalchemy import select

    folder.mkdir(parents=True, exist_ok=True)
    digests = {}
    with factory() as uow:
        for table in Base.metadata.sorted_tables:
            if table.name in SKIPPED:
                continue
            lines = []
            for row in uow.session.execute(select(table)).all():
                text = json.dumps([repr(value) for value in row])
                for pattern, mask in MASKED:
                    text = pattern.sub(mask, text)
                lines.append(text)
            lines.sort()
            body = "".join(line + "\n" for line in lines)
            (folder / f"{table.name}.jsonl").write_text(body, encoding="utf-8")
            digests[table.name] = [len(lines), hashlib.sha256(body.encode()).hexdigest()]
    (folder / "digests.json").write_text(json.dumps(digests, indent=1, sort_keys=True), encoding="utf-8")


def run_once(url: str, workdir: Path, entity: str, rows: int, bulk: bool,
             dump: Path | None = None) -> dict[str, Any]:
    """One import of `rows` rows of `entity` into a prepared database at `url`: seconds, rate, CPU, statements
    (`dump`: a folder to write the tables into afterwards, dump_tables)."""
    from engine.imports.run import run_import

    factory = uow_factory(url)
    try:
        contacts = max(1, rows // 4)  # about four rows per target
        actor, contact_ids, organization_ids = prepare(factory, contacts)
        path = workdir / f"{entity}-{rows}.csv"
        if entity == "Activity":
            write_activities(path, rows, contact_ids)
        else:
            write_deals(path, rows, contact_ids, organization_ids)
        log = StatementLog(factory.engine)
        job = create_job(factory(), actor, entity, path.name, path, NOW, mode="valid_only")
        log.count = 0
        start, cpu = perf_counter(), process_time()
        run_import(factory, job.id, lambda: NOW, bulk=bulk)
        seconds, cpu = perf_counter() - start, process_time() - cpu
        done = get_job(factory(), actor, job.id)
        if done.status != "done" or done.counts["created"] != rows:
            raise RuntimeError(f"import job {job.id} ended {done.status}: {done.counts} {done.message}")
        return {"rows": rows, "seconds": round(seconds, 2), "rows_per_s": round(rows / seconds, 1),
                "cpu_s": round(cpu, 2), "statements": log.count,
                "statements_per_row": round(log.count / rows, 2)}
    finally:
        if dump is not None:
            dump_tables(factory, dump)
        factory.dispose()


def measure(databases: Callable[[str], AbstractContextManager[str]], workdir: Path, entities: list[str], rows: int,
            paths: list[str], warmup_rows: int = 200, dump: Path | None = None) -> dict[str, Any]:
    """Each (entity, path) once on `warmup_rows` rows untimed, then on `rows` rows, each in a database of its own
    (`dump`: where to write the tables of each timed import, in a folder per database, entity and path)."""
    found: dict[str, Any] = {}
    for entity in entities:
        for path in paths:
            with databases(f"{entity}_{path}_warmup".lower()) as url:
                run_once(url, workdir, entity, min(rows, warmup_rows), path == "batch")
            with databases(f"{entity}_{path}".lower()) as url:
                where = dump / f"{url.split(':', 1)[0].split('+', 1)[0]}_{entity}_{path}" if dump else None
                found[f"{entity}_{path}"] = run_once(url, workdir, entity, rows, path == "batch", where)
        if "batch" in paths and "rows" in paths:
            found[f"{entity}_batch_to_rows"] = round(
                found[f"{entity}_batch"]["rows_per_s"] / found[f"{entity}_rows"]["rows_per_s"], 2)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--entity", choices=["Activity", "Deal", "both"], default="both")
    parser.add_argument("--path", choices=["batch", "rows", "both"], default="both",
                        help="batch: the import's batch path; rows: bulk=False (every row alone)")
    parser.add_argument("--postgres", help="a PostgreSQL URL (a throw-away schema is made and dropped)")
    parser.add_argument("--sqlite", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--dump", type=Path, help="write every table after each timed import here (dump_tables)")
    args = parser.parse_args()
    entities = ["Activity", "Deal"] if args.entity == "both" else [args.entity]
    paths = ["batch", "rows"] if args.path == "both" else [args.path]
    workdir = Path(tempfile.mkdtemp(prefix="import-linked-"))
    results: dict[str, Any] = {"load_before": os.getloadavg()}

    @contextmanager
    def sqlite(name: str) -> Iterator[str]:
        yield fresh_sqlite(workdir / f"{name}.sqlite")

    @contextmanager
    def postgres(name: str) -> Iterator[str]:
        with postgres_schema(args.postgres, f"bench_linked_{name}") as scoped:
            prepare_database(scoped)
            yield scoped

    if args.sqlite:
        results["sqlite"] = measure(sqlite, workdir, entities, args.rows, paths, dump=args.dump)
    if args.postgres:
        results["postgresql"] = measure(postgres, workdir, entities, args.rows, paths, dump=args.dump)
    results["load_after"] = os.getloadavg()
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
