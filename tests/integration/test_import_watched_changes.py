"""Matched rows whose change a rule watches (the Moscow territory rule watches `region`) are written with the other
matched rows of their batch: one history INSERT, one UPDATE, their rules run in one pass after it, and no
savepoint per row; when a rule refuses one of them, the batch's changes are rolled back and the rows go one by one,
so the refused row is rejected with its number and the rule's reason and nothing of it is written."""

from __future__ import annotations

from pathlib import Path

from engine.services.imports import create_job, get_job, job_rejects
from engine.services.records import create_record
from engine.services.views import Actor
from tests.conftest import NOW
from tests.integration.test_import_bulk import Factory, distinct_contacts, run_counted
from tests.integration.test_import_refused_run import REFUSED


def moved(make_uow: Factory, admin: Actor, tmp_path: Path, *, to_moscow: set[int], msk: bool) -> tuple[int, list[str]]:
    """100 people imported (Siberia), then a file with each of them again, now with a position, the people of
    `to_moscow` (their positions in the file) moving to Moscow, imported in one batch (on_match update): the job's
    id and the SQL statements it sent. `msk`: whether the territory MSK exists (else the Moscow rule refuses)."""
    create_record(make_uow(), admin, "Territory", {"code": "NW", "name": "NW", "region": "northwest"}, NOW)
    if msk:
        create_record(make_uow(), admin, "Territory", {"code": "MSK", "name": "MSK", "region": "moscow"}, NOW)
    first = distinct_contacts(tmp_path / "people.csv", 100)
    run_counted(make_uow, create_job(make_uow(), admin, "Contact", first.name, first, NOW).id, batch_size=500)
    lines = ["full_name,first_name,last_name,phone,email,region,position"]
    for n, line in enumerate(first.read_text(encoding="utf-8").splitlines()[1:]):
        lines.append((line.replace(",siberia", ",moscow") if n in to_moscow else line) + ",CFO")
    again = tmp_path / "again.csv"
    again.write_text("\n".join(lines) + "\n", encoding="utf-8")
    job = create_job(make_uow(), admin, "Contact", again.name, again, NOW, mode="valid_only", on_match="update")
    return job.id, run_counted(make_uow, job.id, batch_size=500)


def test_changes_a_rule_watches_are_written_together_without_a_savepoint_per_row(
    deployed: Factory, actors: dict[str, Actor], tmp_path: Path
) -> None:
    admin = actors["admin"]
    movers = set(range(0, 100, 2))
    job_id, statements = moved(deployed, admin, tmp_path, to_moscow=movers, msk=True)
    assert get_job(deployed(), admin, job_id).counts["updated"] == 100
    said = [s.lstrip().upper() for s in statements]
    # row by row (the old path for a watched change): a savepoint, a history INSERT and an UPDATE per moving row
    assert sum(s.startswith("SAVEPOINT") for s in said) <= 3, sum(s.startswith("SAVEPOINT") for s in said)
    assert sum(s.startswith("UPDATE RECORD ") for s in said) == 1
    with deployed() as uow:
        contacts = {row.data["email"]: row for row in uow.records.batch("Contact", 0, 1000)}
        msk = uow.records.by_field("Territory", "code", "MSK")
        assert msk is not None
        members = {link.from_record_id for link in uow.links.incoming(msk.id) if link.kind == "territory"}
        moscow = {row.id for row in contacts.values() if row.data.get("region") == "moscow"}
        assert (len(moscow), members) == (50, moscow)  # the rule ran for each moving row
        assert {row.data.get("position") for row in contacts.values()} == {"CFO"}
        history = uow.records.changes_page(sorted(moscow), None, 1000)
        assert sorted({c.source for c in history if c.field == "region" and c.new_value == "moscow"}) == sorted(
            f"import #{job_id} row {n + 2}" for n in movers
        )
        assert {c.source for c in history if not c.source.startswith("import #")} == {"rule contact_territory_moscow"}


def test_a_watched_change_a_rule_refuses_is_rejected_alone_with_its_row_number(
    deployed: Factory, actors: dict[str, Actor], tmp_path: Path
) -> None:
    admin = actors["admin"]
    job_id, _ = moved(deployed, admin, tmp_path, to_moscow={3, 40, 77}, msk=False)
    done = get_job(deployed(), admin, job_id)
    assert (done.counts["updated"], done.counts["rejected"]) == (97, 3)
    rejects = job_rejects(deployed(), admin, job_id)
    assert [r.row_number for r in rejects] == [5, 42, 79]
    assert all(any(REFUSED in e["reason"] for e in r.errors) for r in rejects)
    with deployed() as uow:
        contacts = uow.records.batch("Contact", 0, 1000)
        untouched = [row for row in contacts if row.data.get("position") != "CFO"]
        # nothing of a refused row is written: its record as the first import left it, no history of the job
        assert sorted(row.data["email"] for row in untouched) == [
            "person3@example.com",
            "person40@example.com",
            "person77@example.com",
        ]
        assert {(row.revision, row.data["region"]) for row in untouched} == {(1, "siberia")}
        history = uow.records.changes_page([row.id for row in untouched], None, 1000)
        assert [c for c in history if c.source.startswith(f"import #{job_id}")] == []
        assert len([row for row in contacts if row.data.get("position") == "CFO"]) == 97
