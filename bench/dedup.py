"""Duplicate detection quality and speed: the labelled synthetic contact base (bench/synthetic.py) bulk-inserted
into a fresh database with the shipped CRM deployed, match keys rebuilt, one full scan timed; the pairs found are
scored against the truth (same person = duplicate; households and namesakes are different people)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from time import perf_counter
from typing import Any

from sqlalchemy import func, insert, select, text

from bench.bundle import deployed
from bench.common import NOW, fresh_sqlite, postgres_schema
from bench.synthetic import VARIATIONS, Base, contact_base, record_rows
from engine.bootstrap import UowFactory, prepare_database
from engine.processes.deployed import active_bundle
from engine.quality.matching import rule_named, rules_of
from engine.quality.scan import rebuild_keys, scan
from engine.store.models import RecordRow
from engine.store.quality_models import DuplicatePairRow, MatchKeyRow

ENTITY = "Contact"
CHUNK = 5000
Pair = tuple[int, int]


def _insert(factory: UowFactory, base: Base) -> float:
    start = perf_counter()
    rows = list(record_rows(base.rows, entity=ENTITY, now=NOW))
    with factory.engine.begin() as conn:
        for n in range(0, len(rows), CHUNK):
            conn.execute(insert(RecordRow), rows[n:n + CHUNK])
    return perf_counter() - start


def pair_bound(factory: UowFactory, keys: set[str], max_block: int) -> int:
    """An upper bound of the pairs a scan compares: n(n-1)/2 over every shared key value of 2..max_block records
    (a pair sharing two keys counts twice)."""
    if not keys:
        return 0
    names = sorted(keys)
    marks = ", ".join(f":k{n}" for n in range(len(names)))
    sql = ("SELECT coalesce(sum(n * (n - 1) / 2), 0) FROM (SELECT count(*) AS n FROM match_key "  # noqa: S608
           f"WHERE entity = :entity AND key IN ({marks}) GROUP BY key, value "
           "HAVING count(*) BETWEEN 2 AND :most) AS blocks")
    params: dict[str, Any] = {f"k{n}": name for n, name in enumerate(names)}
    with factory.engine.connect() as conn:
        return int(conn.execute(text(sql), {**params, "entity": ENTITY, "most": max_block}).scalar_one())


def _found(factory: UowFactory) -> list[tuple[int, int, str, float]]:
    with factory.engine.connect() as conn:
        rows = conn.execute(select(DuplicatePairRow.record_a_id, DuplicatePairRow.record_b_id, DuplicatePairRow.rule,
                                   DuplicatePairRow.score).where(DuplicatePairRow.entity == ENTITY))
        return [(a, b, rule, score) for a, b, rule, score in rows]


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def score(base: Base, found: list[tuple[int, int, str, float]], suggest_of: dict[str, str]) -> dict[str, Any]:
    """Precision, recall and F1 of the merge suggestions against the truth; what the related suggestions hit;
    recall per kind of variation; false positives by kind. Record id = row index + 1."""
    truth = base.pairs_by_entity()
    as_ids = {kind: {(a + 1, b + 1) for a, b in pairs} for kind, pairs in truth.items()}
    merge = {(a, b) for a, b, rule, _ in found if suggest_of.get(rule, "merge") == "merge"}
    related = {(a, b) for a, b, rule, _ in found if suggest_of.get(rule, "merge") == "related"}
    duplicates, households, namesakes = as_ids["duplicate"], as_ids["household"], as_ids["namesake"]
    tp = len(merge & duplicates)
    precision, recall = _ratio(tp, len(merge)), _ratio(tp, len(duplicates))
    f1 = round(2 * precision * recall / (precision + recall), 4) if precision and recall else None
    by_variation: dict[str, list[int]] = {v: [0, 0] for v in VARIATIONS}
    for a, b in duplicates:
        for variation in set(base.rows[a - 1].variations) | set(base.rows[b - 1].variations):
            by_variation[variation][0] += 1
            by_variation[variation][1] += (a, b) in merge
    wrong = merge - duplicates
    rules = Counter(rule for a, b, rule, _ in found)
    return {
        "true_duplicate_pairs": len(duplicates),
        "household_pairs": len(households),
        "namesake_pairs": len(namesakes),
        "pairs_found": len(found),
        "merge_suggested": len(merge),
        "true_positives": tp,
        "false_positives": len(wrong),
        "false_negatives": len(duplicates) - tp,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "recall_merge_or_related": _ratio(len((merge | related) & duplicates), len(duplicates)),
        "false_positives_by_kind": {"household": len(wrong & households), "namesake": len(wrong & namesakes),
                                    "other": len(wrong - households - namesakes)},
        "related_suggested": len(related),
        "related_by_kind": {"household": len(related & households), "duplicate": len(related & duplicates),
                            "namesake": len(related & namesakes),
                            "other": len(related - households - duplicates - namesakes)},
        "households_suggested_related": _ratio(len(related & households), len(households)),
        "recall_by_variation": {v: {"pairs": n, "found": k, "recall": _ratio(k, n)}
                                for v, (n, k) in by_variation.items() if n},
        "pairs_by_rule": dict(rules.most_common()),
    }


def measure(factory: UowFactory, records: int, seed: int, max_pairs: int | None = None,
            per_pair_s: float | None = None) -> dict[str, Any]:
    """Generate, insert, rebuild keys, scan, score. A scan whose pair bound exceeds `max_pairs` is not run: the
    bound and an estimate from `per_pair_s` (seconds per bound pair measured on a smaller base) are reported."""
    start = perf_counter()
    base = contact_base(records, seed)
    generate_s = perf_counter() - start
    insert_s = _insert(factory, base)
    uow = factory()
    bundle, _ = active_bundle(uow)
    start = perf_counter()
    keyed = rebuild_keys(factory(), bundle, ENTITY)
    keys_s = perf_counter() - start
    config = rules_of(bundle, ENTITY)
    if config is None:
        raise RuntimeError(f"the shipped bundle has no duplicate rules for {ENTITY}")
    names = {rule.key for rule in config.rules if rule.key} | {b for rule in config.rules for b in rule.block}
    bound = pair_bound(factory, names, config.max_block)
    head = {"records": records, "people": len({row.entity_id for row in base.rows}), "seed": seed,
            "generate_s": round(generate_s, 2), "insert_s": round(insert_s, 2), "keys_s": round(keys_s, 2),
            "keyed_records": keyed, "pair_upper_bound": bound}
    if max_pairs is not None and bound > max_pairs:
        estimate = round(bound * per_pair_s) if per_pair_s else None
        return {**head, "scan_skipped": f"pair bound {bound:,} > --dedup-max-pairs {max_pairs:,}",
                "estimated_scan_s": estimate, "scan_s": None}
    start = perf_counter()
    report = scan(factory(), bundle, ENTITY, NOW)
    scan_s = perf_counter() - start
    found = _found(factory)
    suggest_of = {}
    for rule in {r for _, _, r, _ in found}:
        named = rule_named(config, rule)
        suggest_of[rule] = named.suggest if named is not None else "merge"
    with factory.engine.connect() as conn:
        key_rows = conn.scalar(select(func.count()).select_from(MatchKeyRow)) or 0
    return {
        **head,
        "match_key_rows": key_rows,
        "scan_s": round(scan_s, 2),
        "scan_compared_pairs": report.compared,
        "scan_found_pairs": report.found,
        "scan_s_per_bound_pair": scan_s / bound if bound else None,
        "records_per_s_keys_and_scan": round(records / (keys_s + scan_s), 1) if keys_s + scan_s else None,
        **score(base, found, suggest_of),
    }


def _per_pair(runs: list[dict[str, Any]]) -> float | None:
    return next((r["scan_s_per_bound_pair"] for r in reversed(runs) if r.get("scan_s_per_bound_pair")), None)


def run_sqlite(workdir: Path, sizes: list[int], seed: int, max_pairs: int | None = None) -> dict[str, Any]:
    """The dedup benchmark on one fresh SQLite file per size (smallest first)."""
    runs: list[dict[str, Any]] = []
    for size in sorted(sizes):
        factory = deployed(fresh_sqlite(workdir / f"dedup-{size}.sqlite"))
        try:
            runs.append(measure(factory, size, seed, max_pairs, _per_pair(runs)))
        finally:
            factory.dispose()
    return {"backend": "sqlite", "runs": runs}


def run_postgres(url: str, sizes: list[int], seed: int, max_pairs: int | None = None) -> dict[str, Any]:
    """The dedup benchmark on PostgreSQL, one throw-away schema per size (smallest first)."""
    runs: list[dict[str, Any]] = []
    for size in sorted(sizes):
        with postgres_schema(url, f"flowcrm_bench_dedup_{size}") as scoped:
            prepare_database(scoped)
            factory = deployed(scoped)
            try:
                runs.append(measure(factory, size, seed, max_pairs, _per_pair(runs)))
            finally:
                factory.dispose()
    return {"backend": "postgresql", "runs": runs}
