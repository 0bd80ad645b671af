"""A rule refusing some of the new rows of a batch (the Moscow territory rule, with no territory MSK) rejects those
rows alone, each with the rule's reason, and the batch's other rows are written as a row-by-row import writes them:
the refused run of new records is rolled back to its savepoint and its records leave the session with it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Table

from engine.errors import FlowError
from engine.imports.run import run_import
from engine.processes.deployed import active_bundle
from engine.rules.expressions import RuleError
from engine.services.bulk_records import insert_records
from engine.services.imports import create_job, get_job, job_rejects
from engine.services.records import create_record
from engine.services.views import Actor
from engine.store.models import Base, RecordRow
from tests.conftest import NOW, DeployedSnapshots
from tests.integration.test_import_bulk import Factory, changed_file, restore, state, write_file

REFUSED = "join_territory: no Territory record with code 'MSK'"


def import_file(make_uow: Factory, actor: Actor, path: Path, *, bulk: bool, **options: Any) -> Any:
    """One import of the file in batches of 50 rows: the job's status, counts and rejects."""
    job = create_job(make_uow(), actor, "Contact", path.name, path, NOW, **options)
    run_import(make_uow, job.id, lambda: NOW, batch_size=50, bulk=bulk)
    done = get_job(make_uow(), actor, job.id)
    rejects = [(r.row_number, r.errors) for r in job_rejects(make_uow(), actor, job.id)]
    return done.status, done.counts, done.message, rejects


def northwest_only(make_uow: Factory, actor: Actor) -> None:
    """The territory NW, and no MSK: the Moscow rule refuses every contact in Moscow."""
    create_record(make_uow(), actor, "Territory",
                  {"code": "NW", "name": "NW", "region": "northwest", "manager": actor.username}, NOW)


def record_columns() -> list[tuple[str, str]]:
    """(table, column) of every column holding a record id."""
    return [(table.name, column.name) for table in Base.metadata.sorted_tables for column in table.columns
            if any(key.column.table.name == "record" and key.column.name == "id" for key in column.foreign_keys)
            or (table.name == "record" and column.name == "id")]


def renumbered(tables: dict[str, list[tuple[Any, ...]]]) -> dict[str, list[tuple[Any, ...]]]:
    """The tables with each record id replaced by its rank: PostgreSQL's sequence does not give back the ids of
    a rolled-back INSERT (a refused row burns its id on both paths; a refused run burns the run's), so only the
    order of the ids can be compared there."""
    rank = {row[0]: str(n) for n, row in enumerate(sorted(tables["record"], key=lambda r: int(r[0])))}
    positions: dict[str, list[int]] = {}
    for name, column in record_columns():
        table = Base.metadata.tables[name]
        kept = [c.name for c in table.columns if c.name != "id" or name == "record"]
        positions.setdefault(name, []).append(kept.index(column))
    return {name: sorted(tuple(rank.get(v, v) if i in positions.get(name, []) else v for i, v in enumerate(row))
                         for row in rows) for name, rows in tables.items()}


def orphans(tables: dict[str, list[tuple[Any, ...]]]) -> list[tuple[str, Any]]:
    """Rows naming a record that is not in the table of records (something a refused row left)."""
    ids = {row[0] for row in tables["record"]}
    found = []
    for name, column in record_columns():
        table: Table = Base.metadata.tables[name]
        kept = [c.name for c in table.columns if c.name != "id" or name == "record"]
        index = kept.index(column)
        found += [(name, row) for row in tables[name] if row[index] not in ("None", *ids)]
    return found


def compare(db_url: str, make_uow: Factory, snapshots: DeployedSnapshots, files: dict[str, str],
            imports: Any) -> tuple[list[Any], dict[str, list[tuple[Any, ...]]]]:
    """`imports` row by row, then through the batch path in the database as deployed again: the same jobs and the
    same tables (record ids by rank on PostgreSQL); (the jobs, the tables)."""
    alone = imports(False)
    expected = state(make_uow)
    restore(db_url, make_uow, snapshots, files)
    together = imports(True)
    got = state(make_uow)
    assert together == alone
    if not db_url.startswith("sqlite"):
        expected, got = renumbered(expected), renumbered(got)
    for name, rows in expected.items():
        assert got[name] == rows, name
    assert orphans(got) == []
    return alone, got


def moscow_rows(path: Path) -> list[int]:
    """The file's row numbers (as the file shows them: the header is row 1) of contacts in Moscow."""
    lines = path.read_text(encoding="utf-8").splitlines()[1:]
    return [number for number, line in enumerate(lines, start=2) if line.endswith(",moscow")]


@pytest.mark.parametrize(
    ("mode", "dry_run"), [("valid_only", False), ("all_or_nothing", False), ("valid_only", True)]
)
def test_rows_a_rule_refuses_in_a_run_are_rejected_alone_and_the_rest_written(
    deployed: Factory,
    actors: dict[str, Actor],
    db_url: str,
    bundle_files: dict[str, str],
    deployed_snapshots: DeployedSnapshots,
    tmp_path: Path,
    mode: str,
    dry_run: bool,
) -> None:
    path = write_file(tmp_path / "contacts.csv", 200)
    admin = actors["admin"]

    def imports(bulk: bool) -> list[Any]:
        northwest_only(deployed, admin)
        return [import_file(deployed, admin, path, bulk=bulk, mode=mode, dry_run=dry_run)]

    jobs, tables = compare(db_url, deployed, deployed_snapshots, bundle_files, imports)
    status, counts, _, rejects = jobs[0]
    refused = {number for number, errors in rejects if any(REFUSED in e["reason"] for e in errors)}
    moscow = set(moscow_rows(path))
    assert len(moscow) > 10
    bad = {number for number, errors in rejects} - refused  # an unreadable phone, a missing name: in Moscow
    # every other Moscow row is refused by the rule, none of the others
    assert (len(bad), refused == moscow - bad, bad <= moscow) == (2, True, True), sorted(refused ^ moscow)
    assert counts["rejected"] == len(refused) + 2
    contacts = [row for row in tables["record"] if row[1] == "'Contact'"]
    regions = [row for row in contacts if "'moscow'" in row[3]]
    if mode == "valid_only" and not dry_run:
        assert (status, regions, len(contacts) > 100) == ("done", [], True)
        assert counts["created"] + counts["review"] == len(contacts)
    elif dry_run:  # one transaction rolled back: nothing written, every row counted as it would have been
        assert (status, contacts, counts["created"] > 100) == ("done", [], True), (status, counts)
    else:  # all or nothing: the rejected rows, nothing written
        assert (status, contacts, counts["created"]) == ("rejected", [], 0), (status, counts)


@pytest.mark.parametrize("on_match", ["update", "review"])
def test_matched_rows_and_new_rows_a_rule_refuses_leave_what_row_by_row_leaves(
    deployed: Factory,
    actors: dict[str, Actor],
    db_url: str,
    bundle_files: dict[str, str],
    deployed_snapshots: DeployedSnapshots,
    tmp_path: Path,
    on_match: str,
) -> None:
    path = write_file(tmp_path / "contacts.csv", 120)
    changes = changed_file(tmp_path / "changes.csv", 120)
    admin = actors["admin"]

    def imports(bulk: bool) -> list[Any]:
        northwest_only(deployed, admin)
        return [import_file(deployed, admin, file, bulk=bulk, mode="valid_only", on_match=on_match)
                for file in (path, changes)]

    jobs, tables = compare(db_url, deployed, deployed_snapshots, bundle_files, imports)
    _, counts, _, rejects = jobs[1]
    refused = [number for number, errors in rejects if any(REFUSED in e["reason"] for e in errors)]
    assert (len(refused) > 10, counts["created"] > 10) == (True, True), (refused, counts)
    if on_match == "review":
        assert counts["review"] > 10, counts
        assert tables["duplicate_pair"]
    else:
        assert counts["updated"] > 10, counts


def test_records_of_a_rolled_back_batch_leave_the_session_whoever_rolls_it_back(
    deployed: Factory, actors: dict[str, Actor], db_url: str
) -> None:
    admin = actors["admin"]
    northwest_only(deployed, admin)
    people = [{"full_name": f"Person {n}", "region": "northwest" if n % 2 else "moscow"} for n in range(4)]
    uow = deployed()
    with uow:
        bundle, _ = active_bundle(uow)
        entity = bundle.entities["Contact"]
        first: list[RecordRow] = []

        def batch() -> list[RecordRow]:
            first[:] = []
            rows = insert_records(uow, admin, entity, people[1:2], NOW, start_processes=False)
            first.extend(rows)
            return rows + insert_records(uow, admin, entity, people, NOW, start_processes=False)  # MSK: refused

        savepoint = uow.imports.savepoint()  # the import's own savepoint, rolled back by its caller
        with pytest.raises(RuleError, match="no Territory record with code 'MSK'"):
            batch()
        savepoint.rollback()
        assert [row in uow.session for row in first] == [False]
        assert [uow.records.get(row.id) for row in first] == [None]  # not the object of the undone INSERT

        with pytest.raises(FlowError), uow.savepoint():  # the unit of work's savepoint, rolled back by an error
            batch()
        assert [row in uow.session for row in first] == [False]

        alone = insert_records(uow, admin, entity, people[1:2], NOW, start_processes=False)
        assert (alone[0] in uow.session, alone[0].data["full_name"]) == (True, "Person 1")
        if db_url.startswith("sqlite"):  # SQLite gives the rolled-back id out again: the session takes it
            assert alone[0].id == first[0].id
        uow.commit()
    with deployed() as uow:
        contacts = [row for row in uow.records.by_ids([alone[0].id, first[0].id]).values()]
        assert [row.data["full_name"] for row in contacts] == ["Person 1"]
