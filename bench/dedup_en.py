"""Probabilistic duplicate detection on the English benchmark-style person base (bench/synthetic_en.py): the
shipped CRM plus the Person entity and its duplicate rules of bench/person_model/ deployed, the rows bulk-inserted,
keys rebuilt, one scan timed (which trains the model first: EM on the compared pairs, no labels), the pairs found
scored against the truth. Default settings only: the rules file sets no threshold and no m/u; nothing is tuned on
the scored data."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from time import perf_counter, process_time
from typing import Any

from sqlalchemy import insert, select

from bench.bundle import shipped_files
from bench.common import DEPLOYER, NOW, fresh_sqlite, postgres_schema
from bench.synthetic_en import PersonBase, person_base
from engine.bootstrap import UowFactory, prepare_database, uow_factory
from engine.processes.deployed import active_bundle
from engine.quality.scan import rebuild_keys, scan
from engine.services.deployments import deploy_bundle
from engine.store.models import RecordRow
from engine.store.quality_models import DuplicatePairRow

ENTITY = "Person"
CHUNK = 5000
MODEL = Path(__file__).resolve().parent / "person_model"


def person_files() -> dict[str, str]:
    """The shipped bundle plus the Person entity and its duplicate rules."""
    files = shipped_files()
    for path in sorted(MODEL.rglob("*.yaml")):
        files[f"crm_model/{path.relative_to(MODEL).as_posix()}"] = path.read_text(encoding="utf-8")
    return files


def deployed_with_person(url: str) -> UowFactory:
    """A unit-of-work factory on `url` with the shipped bundle and the Person model deployed."""
    factory = uow_factory(url)
    deploy_bundle(factory(), DEPLOYER, person_files(), NOW)
    return factory


def insert_people(factory: UowFactory, base: PersonBase) -> float:
    """Bulk-insert the rows as Person records (id = row index + 1, no checks run); seconds taken."""
    start = perf_counter()
    rows = [{"id": n + 1, "entity": ENTITY, "title": row.data.get("surname", ""), "data": row.data,
             "owner_id": None, "created_at": NOW, "created_by": "bench", "updated_at": NOW, "revision": 1}
            for n, row in enumerate(base.rows)]
    with factory.engine.begin() as conn:
        for n in range(0, len(rows), CHUNK):
            conn.execute(insert(RecordRow), rows[n:n + CHUNK])
    return perf_counter() - start


def score(base: PersonBase, found: set[tuple[int, int]]) -> dict[str, Any]:
    """Precision, recall and F1 of the pairs found (record id = row index + 1), recall per corruption."""
    truth = {(a + 1, b + 1) for a, b in base.duplicate_pairs()}
    tp = len(found & truth)
    precision = tp / len(found) if found else 0.0
    recall = tp / len(truth) if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    by_kind: dict[str, list[int]] = {}
    for a, b in truth:
        for kind in set(base.rows[a - 1].corruptions) | set(base.rows[b - 1].corruptions):
            counts = by_kind.setdefault(kind, [0, 0])
            counts[0] += 1
            counts[1] += (a, b) in found
    house_ids = base.households
    entity_of = {n + 1: row.entity_id for n, row in enumerate(base.rows)}
    wrong = found - truth
    wrong_kind = Counter("household" if (min(entity_of[a], entity_of[b]), max(entity_of[a], entity_of[b]))
                         in house_ids else "other" for a, b in wrong)
    return {"true_pairs": len(truth), "found": len(found), "true_positives": tp, "false_positives": len(wrong),
            "false_negatives": len(truth) - tp, "precision": round(precision, 4), "recall": round(recall, 4),
            "f1": round(f1, 4), "false_positives_by_kind": dict(wrong_kind),
            "recall_by_corruption": {k: round(n_found / n, 4) for k, (n, n_found) in sorted(by_kind.items())}}


def measure(factory: UowFactory, records: int, seed: int) -> dict[str, Any]:
    """Generate, insert, rebuild keys, scan (training first), score."""
    base = person_base(records, seed)
    insert_s = insert_people(factory, base)
    bundle, _ = active_bundle(factory())
    start = perf_counter()
    rebuild_keys(factory(), bundle, ENTITY)
    keys_s = perf_counter() - start
    start, cpu = perf_counter(), process_time()
    report = scan(factory(), bundle, ENTITY, NOW)
    scan_s, scan_cpu_s = perf_counter() - start, process_time() - cpu
    with factory.engine.connect() as conn:
        found = {(a, b) for a, b in conn.execute(select(DuplicatePairRow.record_a_id, DuplicatePairRow.record_b_id)
                                                 .where(DuplicatePairRow.entity == ENTITY))}
    return {"records": records, "seed": seed, "insert_s": round(insert_s, 2), "keys_s": round(keys_s, 2),
            "scan_s": round(scan_s, 2), "scan_cpu_s": round(scan_cpu_s, 2),
            "load_average": [round(x, 1) for x in os.getloadavg()], "compared_pairs": report.compared,
            "trained": list(report.trained),
            **score(base, found)}


def run_sqlite(workdir: Path, sizes: list[int], seed: int) -> dict[str, Any]:
    """The English dedup benchmark on one fresh SQLite file per size."""
    runs = []
    for size in sorted(sizes):
        factory = deployed_with_person(fresh_sqlite(workdir / f"dedup-en-{size}.sqlite"))
        try:
            runs.append(measure(factory, size, seed))
        finally:
            factory.dispose()
    return {"backend": "sqlite", "generator": "en_person", "runs": runs}


def run_postgres(url: str, sizes: list[int], seed: int) -> dict[str, Any]:
    """The English dedup benchmark on PostgreSQL, one throw-away schema per size."""
    runs = []
    for size in sorted(sizes):
        with postgres_schema(url, f"flowcrm_bench_dedup_en_{size}") as scoped:
            prepare_database(scoped)
            factory = deployed_with_person(scoped)
            try:
                runs.append(measure(factory, size, seed))
            finally:
                factory.dispose()
    return {"backend": "postgresql", "generator": "en_person", "runs": runs}
