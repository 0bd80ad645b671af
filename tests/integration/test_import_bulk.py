"""The batch write path of an import leaves the database exactly as writing every row alone does: records, field
history, match keys, links, duplicate pairs, tasks of the rules, row keys, counts and rejects."""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bench.synthetic import CSV_COLUMNS, contact_base
from engine.imports.run import run_import
from engine.services.imports import create_job, get_job, job_rejects
from engine.services.records import create_record
from engine.services.views import Actor
from engine.store.models import Base
from engine.store.uow import UnitOfWork
from tests.conftest import NOW, DeployedSnapshots

Factory = Callable[[], UnitOfWork]
# written per run, not per row: the job's own bookkeeping (pid, host, heartbeat) and the tables' surrogate ids
SKIPPED_TABLES = {"import_job", "alembic_version"}
KEPT_IDS = {"record"}  # record ids must come out the same: other rows point at them
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")  # task ids are random


def write_file(path: Path, rows: int) -> Path:
    """Synthetic contacts (duplicates, households, namesakes, several regions), some without a phone or e-mail,
    a repeated row and two bad rows."""
    base = contact_base(rows, seed=7)
    lines = [[row.data.get(c, "") for c in CSV_COLUMNS] for row in base.rows]
    for line in lines[::9]:
        line[3] = line[4] = ""  # no phone, no e-mail: the data-quality rule creates a task
    lines.insert(40, list(lines[10]))
    lines.insert(25, ["Bad Phone", "", "", "12", "bad@", "moscow"])
    lines.insert(60, ["", "", "", "+7 912 000-00-00", "", "moscow"])  # no name: required
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        writer.writerows(lines)
    return path


def state(make_uow: Factory) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows (surrogate ids left out but record ids), sorted."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    uow = make_uow()
    with uow:
        for table in Base.metadata.sorted_tables:
            if table.name in SKIPPED_TABLES:
                continue
            columns = [c for c in table.columns if c.name != "id" or table.name in KEPT_IDS]
            rows = uow.session.execute(select(*columns)).all()
            found[table.name] = sorted(tuple(UUID.sub("<uuid>", repr(v)) for v in row) for row in rows)
    return found


def import_twice(make_uow: Factory, actor: Actor, path: Path, *, bulk: bool, **options: Any) -> list[Any]:
    """Territories for the territory rules, then the file imported twice (the second time changes nothing);
    each job's status, counts and rejects."""
    for code, region in (("MSK", "moscow"), ("NW", "northwest")):
        create_record(
            make_uow(),
            actor,
            "Territory",
            {"code": code, "name": code, "region": region, "manager": actor.username},
            NOW,
        )
    outcomes = []
    for _ in range(2):
        job = create_job(make_uow(), actor, "Contact", path.name, path, NOW, **options)
        run_import(make_uow, job.id, lambda: NOW, batch_size=50, bulk=bulk)
        done = get_job(make_uow(), actor, job.id)
        rejects = [(r.row_number, r.errors) for r in job_rejects(make_uow(), actor, job.id)]
        outcomes.append((done.status, done.counts, done.message, rejects))
    return outcomes


def restore(db_url: str, make_uow: Factory, snapshots: DeployedSnapshots, files: dict[str, str]) -> None:
    """Back to the deployed database with the role users."""
    if db_url.startswith("sqlite:///"):
        getattr(make_uow, "dispose", lambda: None)()
        snapshots.restore_sqlite(Path(db_url.removeprefix("sqlite:///")), files, True)
    else:
        snapshots.restore_postgres(db_url, files, True)


@pytest.mark.parametrize("mode", ["valid_only", "all_or_nothing"])
def test_batch_path_writes_what_the_row_by_row_path_writes(
    deployed: Factory,
    actors: dict[str, Actor],
    db_url: str,
    bundle_files: dict[str, str],
    deployed_snapshots: DeployedSnapshots,
    tmp_path: Path,
    mode: str,
) -> None:
    path = write_file(tmp_path / "contacts.csv", 200)
    admin = actors["admin"]
    alone = import_twice(deployed, admin, path, bulk=False, mode=mode)
    expected = state(deployed)
    restore(db_url, deployed, deployed_snapshots, bundle_files)
    together = import_twice(deployed, admin, path, bulk=True, mode=mode)
    assert together == alone
    got = state(deployed)
    assert {name: len(rows) for name, rows in got.items()} == {name: len(rows) for name, rows in expected.items()}
    for name, rows in expected.items():
        assert got[name] == rows, name
    if mode == "valid_only":  # the file did exercise the paths compared
        first = alone[0][1]
        assert (first["created"] > 100, first["merged"] > 0, first["rejected"]) == (True, True, 2)
        assert (len(expected["match_key"]) > 300, len(expected["record_link"]) > 10) == (True, True)
        assert any("Add a phone or e-mail" in str(row) for row in expected["task"])


def distinct_contacts(path: Path, rows: int) -> Path:
    """`rows` different people (no shared phone, e-mail or name), none in a territory's region."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for n in range(rows):
            writer.writerow(
                [
                    f"Person{n:04d} Sample{n:04d}",
                    "",
                    "",
                    f"+7 912 {n // 100:03d}-{n % 100:02d}-00",
                    f"person{n}@example.com",
                    "siberia",
                ]
            )
    return path


def test_new_records_of_a_batch_are_written_in_a_bounded_number_of_statements(
    deployed: Factory, actors: dict[str, Actor], tmp_path: Path
) -> None:
    from sqlalchemy import event

    path = distinct_contacts(tmp_path / "people.csv", 300)
    admin = actors["admin"]
    job = create_job(deployed(), admin, "Contact", path.name, path, NOW, mode="valid_only")
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    engine = deployed.engine  # type: ignore[attr-defined]
    event.listen(engine, "before_cursor_execute", count)
    try:
        run_import(deployed, job.id, lambda: NOW, batch_size=300)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    done = get_job(deployed(), admin, job.id)
    assert done.counts["created"] == 300
    writes = [s for s in statements if s.lstrip().upper().startswith("INSERT")]
    tables = sorted({w.split()[2] for w in writes})
    # row by row it takes several per record (record, history, keys, search keys, row key): 300 records, over 1,500
    assert (len(writes), tables) == (5, ["field_change", "import_row_key", "match_key", "record", "search_key"])
    assert len(statements) <= 60, len(statements)


def test_rows_going_to_review_are_written_with_the_batch_and_read_nothing_per_row(
    deployed: Factory, actors: dict[str, Actor], tmp_path: Path
) -> None:
    from sqlalchemy import event

    from engine.store.quality_models import DuplicatePairRow

    admin = actors["admin"]
    first = distinct_contacts(tmp_path / "people.csv", 100)
    run_import(deployed, create_job(deployed(), admin, "Contact", first.name, first, NOW).id, lambda: NOW)
    again = tmp_path / "again.csv"  # the same people (same phone and e-mail), another position: each goes to review
    again.write_text(first.read_text(encoding="utf-8").replace("siberia", "siberia,CFO").replace(
        "region", "region,position", 1), encoding="utf-8")
    job = create_job(deployed(), admin, "Contact", again.name, again, NOW, mode="valid_only", on_match="review")
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    engine = deployed.engine  # type: ignore[attr-defined]
    event.listen(engine, "before_cursor_execute", count)
    try:
        run_import(deployed, job.id, lambda: NOW, batch_size=100)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert get_job(deployed(), admin, job.id).counts["review"] == 100
    with deployed() as uow:
        assert uow.session.query(DuplicatePairRow).filter(DuplicatePairRow.found_by == "import").count() == 100
    writes = sorted({s.split()[2] for s in statements if s.lstrip().upper().startswith("INSERT")})
    assert writes == ["duplicate_pair", "field_change", "import_row_key", "match_key", "record", "search_key"]
    # row by row: a record, its history, keys, a pair and two reads per row (over 600 statements)
    assert len(statements) <= 60, len(statements)
