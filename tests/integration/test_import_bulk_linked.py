"""Imports of records whose creation triggers rules on the records they link to (Activities: probable_client_calls_in
on Contact; Deals: contact_status_by_deals and organization_status_by_deals, `let` counts of won deals) take the
batch path and leave exactly what writing every row alone leaves: records with their ids and revisions, history,
links, tasks, processes, counts and rejects — with several rows per target in one batch (a contact's status moving
one_time -> periodic -> permanent), rejected rows, a dry run and a re-import."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine.imports.run import run_import
from engine.services.imports import create_job, get_job, job_rejects
from engine.services.records import create_record
from engine.services.views import Actor
from tests.conftest import NOW
from tests.integration.test_import_bulk import Factory, run_counted

Compare = Callable[..., tuple[list[Any], dict[str, list[tuple[Any, ...]]]]]  # the compare_paths fixture

STAGES = ("won", "new", "won", "lost", "won")  # a contact's deals in file order: one_time, periodic, permanent


def targets(make_uow: Factory, actor: Actor, contacts: int = 6) -> tuple[list[int], list[int]]:
    """Contacts (every other one a probable client) and two organizations; their ids."""
    people = [
        create_record(
            make_uow(),
            actor,
            "Contact",
            {
                "full_name": f"Person {n}",
                "phone": f"+7 912 000-00-{n:02d}",
                "region": "siberia",
                **({"status": "probable"} if n % 2 == 0 else {}),
            },
            NOW,
        ).id
        for n in range(contacts)
    ]
    companies = [
        create_record(make_uow(), actor, "Organization", {"name": f"Company {n}", "region": "siberia"}, NOW).id
        for n in range(2)
    ]
    return people, companies


def batch_path_taken(make_uow: Factory, entity: str) -> bool:
    """Whether imports of `entity` take the batch path with the deployed bundle (its rules are ones it runs)."""
    from engine.processes.deployed import active_bundle
    from engine.services.bulk_records import bulk_ready

    with make_uow() as uow:
        bundle, _ = active_bundle(uow)
        return bulk_ready(bundle, bundle.entities[entity])


def write_rows(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def activities(path: Path, people: list[int]) -> Path:
    """Four calls per contact, interleaved, inbound and outbound; a call to no contact, a call without subject."""
    rows = [
        [f"Call {n}", "call", "inbound" if n % 3 != 1 else "outbound", f"#{people[n % len(people)]}"]
        for n in range(4 * len(people))
    ]
    rows.insert(5, ["Lost call", "call", "inbound", "#999999"])  # no such contact: rejected
    rows.insert(11, ["", "call", "inbound", f"#{people[0]}"])  # no subject: rejected
    rows.append(["A note", "call", "inbound", ""])  # linked to nothing
    return write_rows(path, ["subject", "kind", "direction", "contact"], rows)


def deals(path: Path, people: list[int], companies: list[int]) -> Path:
    """Five deals per contact (won, new, won, lost, won), interleaved, each with an organization; a deal with a
    negative amount."""
    rows = [
        [
            f"Deal {n}",
            STAGES[n // len(people)],
            str(100 + n),
            f"#{people[n % len(people)]}",
            f"#{companies[n % len(companies)]}",
        ]
        for n in range(len(STAGES) * len(people))
    ]
    rows.insert(7, ["Bad deal", "won", "-5", f"#{people[1]}", f"#{companies[0]}"])  # below the minimum: rejected
    return write_rows(path, ["title", "stage", "amount", "client", "organization"], rows)


def job(
    make_uow: Factory,
    actor: Actor,
    entity: str,
    path: Path,
    *,
    bulk: bool,
    batch_size: int,
    mode: str = "valid_only",
    **options: Any,
) -> Any:
    """One import: its status, counts, message and rejects."""
    created = create_job(make_uow(), actor, entity, path.name, path, NOW, mode=mode, **options)
    run_import(make_uow, created.id, lambda: NOW, batch_size=batch_size, bulk=bulk)
    done = get_job(make_uow(), actor, created.id)
    rejects = [(r.row_number, r.errors) for r in job_rejects(make_uow(), actor, created.id)]
    return done.status, done.counts, done.message, rejects


def import_linked(make_uow: Factory, actor: Actor, tmp_path: Path, entity: str, *, bulk: bool) -> list[Any]:
    """The targets, then the file as a dry run, for real, and again (every row imported before)."""
    people, companies = targets(make_uow, actor)
    path = (
        activities(tmp_path / "calls.csv", people)
        if entity == "Activity"
        else deals(tmp_path / "deals.csv", people, companies)
    )
    return [
        job(make_uow, actor, entity, path, bulk=bulk, batch_size=batch_size, dry_run=dry_run)
        for dry_run, batch_size in ((True, 100), (False, 100), (False, 9))
    ]


@pytest.mark.parametrize("entity", ["Activity", "Deal"])
def test_linked_rules_of_a_batch_leave_what_the_row_by_row_path_leaves(
    deployed: Factory, actors: dict[str, Actor], compare_paths: Compare, tmp_path: Path, entity: str
) -> None:
    admin = actors["admin"]
    alone, expected = compare_paths(lambda bulk: import_linked(deployed, admin, tmp_path, entity, bulk=bulk))
    counts = [outcome[1] for outcome in alone]
    rows = 25 if entity == "Activity" else 30
    assert [(c["created"], c["rejected"], c["skipped"]) for c in counts] == [
        (rows, 2 if entity == "Activity" else 1, 0),
        (rows, 2 if entity == "Activity" else 1, 0),
        (0, 2 if entity == "Activity" else 1, rows),
    ]
    statuses = sorted(row[3] for row in expected["record"] if row[1] in ("'Contact'", "'Organization'"))
    history = [row for row in expected["field_change"] if "'rule " in str(row)]
    if entity == "Activity":  # the probable clients who called in are interested now (person 4 was only called)
        assert sum("'interested'" in s for s in statuses) == 2, statuses
        assert len(history) == 2
    else:  # every contact climbed the ladder inside one batch: one history row per step
        assert sum("'permanent'" in s for s in statuses) == 6 + 2, statuses
        steps = [row for row in history if "'status'" in str(row)]
        assert len(steps) == 3 * 8, steps


def test_linked_rules_of_a_batch_run_in_a_bounded_number_of_statements(
    deployed: Factory, actors: dict[str, Actor], tmp_path: Path
) -> None:
    admin = actors["admin"]
    people, _ = targets(deployed, admin, contacts=30)
    rows = [[f"Call {n}", "call", "inbound", f"#{people[n % len(people)]}"] for n in range(300)]
    path = write_rows(tmp_path / "calls.csv", ["subject", "kind", "direction", "contact"], rows)
    created = create_job(deployed(), admin, "Activity", path.name, path, NOW, mode="valid_only")
    statements = run_counted(deployed, created.id, batch_size=300)
    assert get_job(deployed(), admin, created.id).counts["created"] == 300
    said = [s.lstrip().upper() for s in statements]
    # row by row: a savepoint, the record, its history, its links and the rule's reads and write per row (over
    # 3,000 statements); now one INSERT per table, the rule's targets and their links read once, one UPDATE
    assert sum(s.startswith("INSERT INTO RECORD ") for s in said) == 1
    assert sum(s.startswith("UPDATE RECORD ") for s in said) == 1
    assert sum(s.startswith("SAVEPOINT") for s in said) <= 3
    # the records the reference cells name: one read for the batch (it was one per record named: 30 here)
    reads = (
        sum(s.startswith("SELECT RECORD.ENTITY ") for s in said),
        sum(s.startswith("SELECT RECORD.ID, RECORD.ENTITY \n") for s in said),
    )
    assert reads == (0, 1), reads
    assert len(statements) <= 40, len(statements)
    with deployed() as uow:
        contacts = uow.records.by_ids(people)
        interested = [row for row in contacts.values() if row.data.get("status") == "interested"]
        assert [row.revision for row in interested] == [2] * 15  # one rule write each (the first call)
