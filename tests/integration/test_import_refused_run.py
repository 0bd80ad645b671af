"""A rule refusing some of the new rows of a batch (the Moscow territory rule, with no territory MSK) rejects those
rows alone, each with the rule's reason, and the batch's other rows are written as a row-by-row import writes them:
the refused run of new records is rolled back to its savepoint and its records leave the session with it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine.errors import FlowError
from engine.processes.deployed import active_bundle
from engine.rules.expressions import RuleError
from engine.services.bulk_records import insert_records
from engine.services.records import create_record, list_records
from engine.services.views import Actor
from engine.store.models import RecordRow
from tests.conftest import NOW, DeployedSnapshots
from tests.integration.test_import_bulk import Factory, both_paths, changed_file, run_job, write_file
from tests.integration.test_import_cli import flowcrm

REFUSED = "join_territory: no Territory record with code 'MSK'"


Compare = Callable[[Callable[[bool], list[Any]]], tuple[list[Any], dict[str, list[tuple[Any, ...]]]]]


@pytest.fixture
def compare(
    deployed: Factory, db_url: str, bundle_files: dict[str, str], deployed_snapshots: DeployedSnapshots
) -> Compare:
    """Imports run row by row and through the batch path compared (both_paths; record ids by rank on
    PostgreSQL)."""
    return lambda imports: both_paths(deployed, db_url, deployed_snapshots, bundle_files, imports, ids_by_rank=True)


def northwest_only(make_uow: Factory, actor: Actor) -> None:
    """The territory NW, and no MSK: the Moscow rule refuses every contact in Moscow."""
    create_record(
        make_uow(),
        actor,
        "Territory",
        {"code": "NW", "name": "NW", "region": "northwest", "manager": actor.username},
        NOW,
    )


def moscow_rows(path: Path) -> list[int]:
    """The file's row numbers (as the file shows them: the header is row 1) of contacts in Moscow."""
    lines = path.read_text(encoding="utf-8").splitlines()[1:]
    return [number for number, line in enumerate(lines, start=2) if line.endswith(",moscow")]


@pytest.mark.parametrize(("mode", "dry_run"), [("valid_only", False), ("all_or_nothing", False), ("valid_only", True)])
def test_rows_a_rule_refuses_in_a_run_are_rejected_alone_and_the_rest_written(
    deployed: Factory, actors: dict[str, Actor], compare: Compare, tmp_path: Path, mode: str, dry_run: bool
) -> None:
    path = write_file(tmp_path / "contacts.csv", 200)
    admin = actors["admin"]

    def imports(bulk: bool) -> list[Any]:
        northwest_only(deployed, admin)
        return [run_job(deployed, admin, path, bulk=bulk, batch_size=50, mode=mode, dry_run=dry_run)]

    jobs, tables = compare(imports)
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
    deployed: Factory, actors: dict[str, Actor], compare: Compare, tmp_path: Path, on_match: str
) -> None:
    path = write_file(tmp_path / "contacts.csv", 120)
    changes = changed_file(tmp_path / "changes.csv", 120)
    admin = actors["admin"]

    def imports(bulk: bool) -> list[Any]:
        northwest_only(deployed, admin)
        return [
            run_job(deployed, admin, file, bulk=bulk, batch_size=50, mode="valid_only", on_match=on_match)
            for file in (path, changes)
        ]

    jobs, tables = compare(imports)
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


def test_the_cli_rejects_the_rows_a_rule_refuses_by_number_and_imports_the_others(
    db_url: str, deployed: Factory, actors: dict[str, Actor], tmp_path: Path
) -> None:
    path = tmp_path / "contacts.csv"
    regions = ["central", "moscow", "urals", "moscow", "south", "volga"]
    lines = ["full_name,phone,region"] + [f"Person {n},+7 912 000-00-{n:02},{r}" for n, r in enumerate(regions)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = flowcrm(db_url, "import", str(path), "--entity", "Contact", "--as", "sam", "--mode", "valid-only")
    assert result.exit_code == 0, result.output
    assert "done: 4 created, 0 updated, 0 merged, 0 skipped, 2 rejected" in result.output
    refused = [line for line in result.output.splitlines() if REFUSED in line]
    assert [line.split(",")[0].split(":")[0].strip() for line in refused] == ["row 3", "row 5"], result.output
    names = sorted(row.data["full_name"] for row in list_records(deployed(), actors["sales"], "Contact"))
    assert names == ["Person 0", "Person 2", "Person 4", "Person 5"]
