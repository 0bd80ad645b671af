"""An import's new records meet the entity's fuzzy and probabilistic duplicate rules per batch: the pairs a scan
would open for them (with existing records, earlier batches and each other) open in the review queue at import,
found_by `import`, nothing folded or updated; a dry run counts them and writes none."""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bench.synthetic import CSV_COLUMNS, contact_base
from engine.imports.run import run_import
from engine.processes.deployed import active_bundle
from engine.quality.learning import train_models
from engine.quality.scan import scan
from engine.quality.tuning import tune
from engine.services.imports import ImportJobView, create_job, get_job
from engine.services.records import create_record, get_record, update_record
from engine.services.views import Actor
from engine.store.quality_models import DuplicatePairRow
from engine.store.uow import UnitOfWork
from tests.conftest import NOW

Factory = Callable[[], UnitOfWork]
Pair = tuple[int, int, str, float, str, str, Any]  # a, b, rule, score, status, found_by, reasons


def run(
    make_uow: Factory, actor: Actor, path: Path, *, batch_size: int, bulk: bool = True, **options: Any
) -> ImportJobView:
    job = create_job(make_uow(), actor, "Contact", path.name, path, NOW, **options)
    run_import(make_uow, job.id, lambda: NOW, batch_size=batch_size, bulk=bulk)
    return get_job(make_uow(), actor, job.id)


def pairs(make_uow: Factory) -> list[Pair]:
    with make_uow() as uow:
        rows = uow.session.scalars(
            select(DuplicatePairRow).order_by(DuplicatePairRow.record_a_id, DuplicatePairRow.record_b_id)
        )
        return [(p.record_a_id, p.record_b_id, p.rule, p.score, p.status, p.found_by, p.reasons) for p in rows]


def write_rows(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        writer.writerows(rows)
    return path


@pytest.mark.parametrize("bulk", [True, False])
def test_fuzzy_matches_of_imported_rows_open_review_pairs_without_folding(
    deployed: Factory, actors: dict[str, Actor], tmp_path: Path, bulk: bool
) -> None:
    sam = actors["sales"]
    romashka, _ = (
        create_record(deployed(), sam, "Organization", {"name": name}, NOW, owner_id=sam.id)
        for name in ("Romashka", "Vektor")
    )
    existing = create_record(
        deployed(),
        sam,
        "Contact",
        {"full_name": "Ivan Petrov", "phone": "+7 912 345-67-89", "organization": romashka.id},
        NOW,
        owner_id=sam.id,
    )
    path = tmp_path / "contacts.csv"
    path.write_text(
        "Name,Phone,Organization\n"
        "Iwan Petrow,+7 900 111-22-33,Romashka\n"  # the same name spelt the Latin way, same company
        "Olga Smirnova,+7 900 222-33-44,Vektor\n"
        "Olga Smirnowa,,Vektor\n",
        encoding="utf-8",
    )  # a later batch: the row before, with a typo
    dry = run(deployed, sam, path, batch_size=2, bulk=bulk, dry_run=True)
    assert (dry.counts["created"], dry.counts["rule_pairs"]) == (3, 2)  # what would open, written nowhere
    assert pairs(deployed) == []
    job = run(deployed, sam, path, batch_size=2, bulk=bulk)
    assert (job.counts["created"], job.counts["updated"], job.counts["rule_pairs"]) == (3, 0, 2)
    found = pairs(deployed)
    assert [(rule, status, found_by) for _, _, rule, _, status, found_by, _ in found] == [
        ("similar_name_same_org", "open", "import"),
        ("similar_name_same_org", "open", "import"),
    ]
    assert found[0][0] == existing.id  # the existing record pairs with the first row's new record
    assert get_record(deployed(), sam, existing.id).data == existing.data  # nothing folded into it
    assert {r["field"] for r in found[0][6]} == {"full_name", "organization"}  # reasons as a scan gives them


def test_a_rescan_closes_a_pair_an_import_opened_by_a_fuzzy_rule_that_no_longer_holds(
    deployed: Factory, actors: dict[str, Actor], tmp_path: Path
) -> None:
    sam = actors["sales"]
    vektor = create_record(deployed(), sam, "Organization", {"name": "Vektor"}, NOW, owner_id=sam.id)
    olga = create_record(
        deployed(), sam, "Contact", {"full_name": "Olga Smirnova", "organization": vektor.id}, NOW, owner_id=sam.id
    )
    job = run(deployed, sam, write_rows(tmp_path / "one.csv", [["Olga Smirnowa", "", "", "", "", ""]]), batch_size=10)
    assert job.counts["rule_pairs"] == 1
    update_record(deployed(), sam, olga.id, {"full_name": "Boris Orlov"}, NOW)  # no longer the same person
    bundle, _ = active_bundle(deployed())
    assert scan(deployed(), bundle, "Contact", NOW).closed == 1
    assert [(p[2], p[4]) for p in pairs(deployed)] == [("similar_name_no_conflict", "closed")]


def test_an_import_opens_the_pairs_a_scan_would_open_for_its_records(
    deployed: Factory, actors: dict[str, Actor], tmp_path: Path
) -> None:
    admin = actors["admin"]
    for code, region in (("MSK", "moscow"), ("NW", "northwest")):  # the territory rules join contacts to them
        create_record(
            deployed(),
            admin,
            "Territory",
            {"code": code, "name": code, "region": region, "manager": admin.username},
            NOW,
        )
    base = contact_base(300, seed=5)
    lines = [[row.data.get(c, "") for c in CSV_COLUMNS] for row in base.rows]
    first = run(deployed, admin, write_rows(tmp_path / "first.csv", lines[:150]), batch_size=40)
    bundle, _ = active_bundle(deployed())
    train_models(deployed(), bundle, "Contact", NOW)  # the scan below then scores with the same model
    before = {(a, b) for a, b, *_ in pairs(deployed)}
    later = lines[150:]
    for n, line in enumerate(later):  # without the phone or e-mail only a fuzzy or probabilistic rule finds them
        line[3 + n % 2] = ""
    model = next(line for line in lines[:150] if line[3] and len(line[0].split()) == 2)
    given, family = model[0].split()  # a typo in the name and a phone one digit off: only same_person finds it
    later.append(
        [
            f"{given} {family[:-1]}{'a' if family[-1] != 'a' else 'o'}",
            "",
            "",
            model[3][:-1] + ("0" if model[3][-1] != "0" else "1"),
            "",
            model[5],
        ]
    )
    # on_match skip: rows that are existing records by e-mail or an exact rule create nothing (and open no pair)
    second = run(deployed, admin, write_rows(tmp_path / "second.csv", later), batch_size=40, on_match="skip")
    imported = [p for p in pairs(deployed) if (p[0], p[1]) not in before]
    assert (first.counts["rule_pairs"] > 0, second.counts["rule_pairs"]) == (True, len(imported))
    assert {p[5] for p in imported} == {"import"}
    rules = {p[2] for p in imported}
    assert {"same_person", "similar_name_no_conflict"} <= rules  # probabilistic and fuzzy rules both found some
    report = scan(deployed(), bundle, "Contact", NOW)
    assert report.trained == ()
    after = [p for p in pairs(deployed) if (p[0], p[1]) not in before]
    assert after == imported  # the scan finds no other pair of those records and scores each the same


def test_tuning_counts_as_closing_only_the_import_pairs_a_rescan_would_close(
    deployed: Factory, actors: dict[str, Actor], tmp_path: Path
) -> None:
    sam = actors["sales"]
    for name, email in (("Ivan Ivanov", "ivan@example.com"), ("Olga Smirnova", None)):
        create_record(deployed(), sam, "Contact", {"full_name": name, "email": email}, NOW, owner_id=sam.id)
    rows = [["Petr Sidorov", "", "", "", "ivan@example.com", ""], ["Olga Smirnowa", "", "", "", "", ""]]
    job = run(deployed, sam, write_rows(tmp_path / "two.csv", rows), batch_size=10, on_match="review")
    assert (job.counts["review"], job.counts["rule_pairs"]) == (1, 1)  # on_match's pair, a fuzzy rule's pair
    bundle, _ = active_bundle(deployed())
    config = bundle.duplicates["Contact"]
    kept = ("household", "same_phone")  # without the e-mail, fuzzy and probabilistic rules neither pair is found
    proposed = replace(config, rules=tuple(rule for rule in config.rules if rule.name in kept))
    report = tune(deployed(), bundle, "Contact", proposed)
    # the rescan keeps the row's on_match pair for a person to decide, and closes the fuzzy one
    assert [(a, b) for a, b, _, _ in report.closing] == [p[:2] for p in pairs(deployed) if p[2] != "match_on email"]
    assert report.would_close == 1
