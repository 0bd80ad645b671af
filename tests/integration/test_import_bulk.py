"""The batch write path of an import leaves the database exactly as writing every row alone does: records, field
history, match keys, links, duplicate pairs, tasks of the rules, row keys, counts and rejects."""

from __future__ import annotations

import csv
import itertools
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select

from bench.synthetic import CSV_COLUMNS, contact_base
from engine.imports.run import run_import
from engine.services.imports import create_job, get_job, job_rejects
from engine.services.records import create_record
from engine.services.views import Actor
from engine.store.models import Base
from engine.store.uow import UnitOfWork
from tests.conftest import NOW, DeployedSnapshots
from tests.statements import as_insert

Factory = Callable[[], UnitOfWork]
# written per run, not per row: the job's own bookkeeping (pid, host, heartbeat) and the tables' surrogate ids
SKIPPED_TABLES = {"import_job", "alembic_version"}
KEPT_IDS = {"record"}  # record ids must come out the same: other rows point at them
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")  # task ids are random
CLOCK = re.compile(r'"last_state_change": [0-9.e+-]+')  # a process's serialized tasks: the wall clock of each step


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
            found[table.name] = sorted(
                tuple(as_json(CLOCK.sub('"last_state_change": 0', UUID.sub("<uuid>", repr(sorted_keys(v)))))
                      for v in row)
                for row in rows
            )
    return found


def sorted_keys(value: Any) -> Any:
    """A JSON column's value with its objects' members sorted (a record's data copied into it comes in JSONB's order
    on PostgreSQL when the record was read back, as in as_json); other values as they are."""
    if isinstance(value, dict):
        return {key: sorted_keys(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [sorted_keys(item) for item in value]
    return value


def as_json(text: str) -> str:
    """A value's text with the members of JSON text in it sorted (a process's serialized state copies a record's
    data, whose keys come in JSONB's order on PostgreSQL when the record was read back or written by the batch
    path); other text as it is."""
    if not text.startswith("'{"):
        return text
    try:
        parsed = json.loads(text[1:-1], object_pairs_hook=lambda pairs: sorted(pairs, key=repr))
    except ValueError:
        return text
    return json.dumps(parsed)


def import_twice(
    make_uow: Factory, actor: Actor, path: Path, *, bulk: bool, times: int = 2, **options: Any
) -> list[Any]:
    """Territories for the territory rules, then the file imported twice (the second time changes nothing), or
    `times` times; each job's status, counts and rejects."""
    for code, region in (("MSK", "moscow"), ("NW", "northwest")):
        create_record(
            make_uow(),
            actor,
            "Territory",
            {"code": code, "name": code, "region": region, "manager": actor.username},
            NOW,
        )
    outcomes = []
    for _ in range(times):
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


def record_positions() -> dict[str, list[int]]:
    """Per table, the positions (in state()'s rows) of the columns holding a record id."""
    found: dict[str, list[int]] = {}
    for table in Base.metadata.sorted_tables:
        kept = [c for c in table.columns if c.name != "id" or table.name == "record"]
        for index, column in enumerate(kept):
            if (table.name, column.name) == ("record", "id") or any(
                key.column.table.name == "record" and key.column.name == "id" for key in column.foreign_keys
            ):
                found.setdefault(table.name, []).append(index)
    return found


def renumbered(tables: dict[str, list[tuple[Any, ...]]]) -> dict[str, list[tuple[Any, ...]]]:
    """The tables with each record id replaced by its rank: PostgreSQL's sequence does not give back the ids of
    a rolled-back INSERT (a row a rule refuses burns its id on both paths; a refused run of new rows burns the
    run's), so where rows are refused only the order of the ids can be compared there."""
    rank = {row[0]: str(n) for n, row in enumerate(sorted(tables["record"], key=lambda r: int(r[0])))}
    positions = record_positions()
    return {
        name: sorted(
            tuple(rank.get(v, v) if i in positions.get(name, []) else v for i, v in enumerate(row)) for row in rows
        )
        for name, rows in tables.items()
    }


def both_paths(
    make_uow: Factory,
    db_url: str,
    snapshots: DeployedSnapshots,
    files: dict[str, str],
    imports: Callable[[bool], list[Any]],
    *,
    ids_by_rank: bool = False,
) -> tuple[list[Any], dict[str, list[tuple[Any, ...]]]]:
    """`imports` row by row, then (in the database as deployed again) through the batch path: both report the
    same jobs and leave the same tables (`ids_by_rank`: record ids compared by rank on PostgreSQL); (the jobs,
    the tables)."""
    alone = imports(False)
    expected = state(make_uow)
    restore(db_url, make_uow, snapshots, files)
    together = imports(True)
    assert together == alone
    got = state(make_uow)
    if ids_by_rank and not db_url.startswith("sqlite"):
        expected, got = renumbered(expected), renumbered(got)
    assert {name: len(rows) for name, rows in got.items()} == {name: len(rows) for name, rows in expected.items()}
    for name, rows in expected.items():
        assert got[name] == rows, name
    return alone, expected


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
    alone, expected = both_paths(
        deployed,
        db_url,
        deployed_snapshots,
        bundle_files,
        lambda bulk: import_twice(deployed, admin, path, bulk=bulk, mode=mode),
    )
    if mode == "valid_only":  # the file did exercise the paths compared
        first = alone[0][1]
        assert (first["created"] > 100, first["merged"] > 0, first["rejected"]) == (True, True, 2)
        assert (len(expected["match_key"]) > 300, len(expected["record_link"]) > 10) == (True, True)
        assert any("Добавить телефон или e-mail" in str(row) for row in expected["task"])


CHANGED_COLUMNS = (*CSV_COLUMNS, "position", "notes")


def changed_file(path: Path, rows: int) -> Path:
    """The people of write_file(rows) again, between new people: some with another region (a rule watches it), a
    position, a filled phone or e-mail, another name (a disagreement), a repeated row; then a person twice."""
    people = [[row.data.get(c, "") for c in CSV_COLUMNS] for row in contact_base(rows, seed=7).rows]
    strangers = [[row.data.get(c, "") for c in CSV_COLUMNS] for row in contact_base(rows, seed=11).rows]
    lines: list[list[str]] = []
    for n, (known, new) in enumerate(zip(people, strangers, strict=True)):
        line = [*known, "", ""]
        if n % 4 == 0:
            line[5] = "moscow" if line[5] != "moscow" else "northwest"
        if n % 3 == 0:
            line[6] = f"Head of unit {n % 5}"
        if n % 7 == 0:
            line[7] = f"call back {n}"
        if n % 11 == 0:
            line[0] = f"{line[0]} Jr"
        if n % 13 == 0:
            line[3] = ""  # matched by e-mail only: an update_empty fills nothing it lacks
        lines += [line, [*new, "", ""]]
    lines.insert(30, list(lines[12]))  # a repeat of a matched row
    lines.append([*strangers[3], "Buyer", ""])  # a new person of this file again, with a position
    lines.insert(80, ["", "", "", "+7 912 000-00-00", "", "moscow", "", ""])  # no name: rejected
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CHANGED_COLUMNS)
        writer.writerows(lines)
    return path


def import_changes(
    make_uow: Factory, actor: Actor, path: Path, changes: Path, *, bulk: bool, on_match: str, dry_run: bool
) -> list[Any]:
    """The file imported, then a file of changes to its people imported twice (for real, the second time finds
    the rows imported before); each job's status, counts and rejects."""
    outcomes = import_twice(make_uow, actor, path, bulk=bulk, times=1, mode="valid_only", on_match=on_match)
    return outcomes + [
        run_job(make_uow, actor, changes, bulk=bulk, mode="valid_only", on_match=on_match, dry_run=dry_run)
        for _ in range(2)
    ]


def run_job(make_uow: Factory, actor: Actor, path: Path, *, bulk: bool, batch_size: int = 120, **options: Any) -> Any:
    """One import of the file in batches of `batch_size` rows: the job's status, counts and rejects."""
    job = create_job(make_uow(), actor, "Contact", path.name, path, NOW, **options)
    run_import(make_uow, job.id, lambda: NOW, batch_size=batch_size, bulk=bulk)
    done = get_job(make_uow(), actor, job.id)
    rejects = [(r.row_number, r.errors) for r in job_rejects(make_uow(), actor, job.id)]
    return done.status, done.counts, done.message, rejects


@pytest.mark.parametrize(
    ("on_match", "dry_run"),
    [("update_empty", False), ("update", False), ("skip", False), ("review", False), ("update_empty", True)],
)
def test_matched_rows_in_a_batch_leave_what_the_row_by_row_path_leaves(
    deployed: Factory,
    actors: dict[str, Actor],
    db_url: str,
    bundle_files: dict[str, str],
    deployed_snapshots: DeployedSnapshots,
    tmp_path: Path,
    on_match: str,
    dry_run: bool,
) -> None:
    path = write_file(tmp_path / "contacts.csv", 150)
    changes = changed_file(tmp_path / "changes.csv", 150)
    admin = actors["admin"]
    alone, _ = both_paths(
        deployed,
        db_url,
        deployed_snapshots,
        bundle_files,
        lambda bulk: import_changes(deployed, admin, path, changes, bulk=bulk, on_match=on_match, dry_run=dry_run),
    )
    counts = alone[1][1]  # the file of changes exercised the outcomes of this policy
    wanted = {
        "update_empty": ("updated", "review", "merged"),
        "update": ("updated", "merged"),
        "skip": ("skipped",),
        "review": ("review",),
    }[on_match]
    assert all(counts[outcome] > 0 for outcome in wanted), counts
    assert (counts["created"] > 100, counts["rejected"]) == (True, 1), counts
    if not dry_run:
        assert alone[2][1]["created"] == 0, alone[2]  # the second time: no new person


def known_between_new(make_uow: Factory, admin: Actor, tmp_path: Path) -> tuple[int, list[str]]:
    """100 people imported, then a job (on_match update) of a file with each of them again, now with a position,
    between two new people, run in one batch: the job's id and the SQL statements it sent (its counts checked)."""
    first = distinct_contacts(tmp_path / "people.csv", 100)
    run_import(make_uow, create_job(make_uow(), admin, "Contact", first.name, first, NOW).id, lambda: NOW)
    mixed = tmp_path / "mixed.csv"  # each known person (now with a position) between two new ones
    known = first.read_text(encoding="utf-8").splitlines()[1:]
    lines = ["full_name,first_name,last_name,phone,email,region,position"]
    for n, line in enumerate(known):
        lines += [
            f"New{n:04d} Person,,,+7 913 {n:03d}-00-00,new{n}@example.com,siberia,",
            f"{line},CFO",
            f"Newer{n:04d} Person,,,+7 914 {n:03d}-00-00,newer{n}@example.com,siberia,",
        ]
    mixed.write_text("\n".join(lines) + "\n", encoding="utf-8")
    job = create_job(make_uow(), admin, "Contact", mixed.name, mixed, NOW, mode="valid_only", on_match="update")
    statements = run_counted(make_uow, job.id, batch_size=300)
    assert get_job(make_uow(), admin, job.id).counts == {
        "created": 200,
        "updated": 100,
        "merged": 0,
        "skipped": 0,
        "rejected": 0,
        "review": 0,
        "rule_pairs": 0,
    }
    return job.id, statements


def test_matched_rows_do_not_end_the_run_of_new_rows(
    deployed: Factory, actors: dict[str, Actor], tmp_path: Path
) -> None:
    _, statements = known_between_new(deployed, actors["admin"], tmp_path)
    record_inserts = [s for s in statements if s.lstrip().upper().startswith("INSERT INTO RECORD ")]
    # the 200 new records in one statement: before, every updated row ended the run before it (101 statements)
    assert len(record_inserts) == 1, len(record_inserts)


def test_updated_rows_of_a_batch_are_written_together(
    deployed: Factory, actors: dict[str, Actor], tmp_path: Path
) -> None:
    job_id, statements = known_between_new(deployed, actors["admin"], tmp_path)
    positions_written(deployed, job_id)
    said = [s.lstrip().upper() for s in statements]
    # the 100 changes in one history INSERT and one UPDATE (each row guarded by its revision), beside the new
    # records' INSERTs; row by row: a savepoint, a history INSERT and an UPDATE per row (over 400 statements)
    assert sum(s.startswith("UPDATE RECORD ") for s in said) == 1
    assert sum(s.startswith("INSERT INTO FIELD_CHANGE ") for s in said) == 2
    assert sum(s.startswith("SAVEPOINT") for s in said) <= 3
    assert len(statements) <= 40, len(statements)


def positions_written(make_uow: Factory, job_id: int) -> None:
    """The 100 known people of known_between_new have the file's position, each with one history row of its own
    row (revision 2)."""
    with make_uow() as uow:
        cfo = [row for row in uow.records.batch("Contact", 0, 1000) if row.data.get("position") == "CFO"]
        assert sorted(row.revision for row in cfo) == [2] * 100
        history = [
            change
            for change in uow.records.changes_page([row.id for row in cfo], None, 1000)
            if change.source.startswith(f"import #{job_id} ")
        ]
        assert sorted((c.field, c.old_value, c.new_value) for c in history) == [("position", None, "CFO")] * 100
        assert {c.source for c in history} == {f"import #{job_id} row {n}" for n in range(3, 301, 3)}


def test_updated_rows_whose_joint_write_is_refused_go_one_by_one(
    deployed: Factory, actors: dict[str, Actor], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine.errors import ConflictError
    from engine.imports import changes

    real = changes.write_changes
    refused: list[int] = []

    def refuse_once(*args: Any, **kwargs: Any) -> None:
        real(*args, **kwargs)  # written, then refused: the savepoint takes it all back
        if not refused:
            refused.append(len(args[1]))
            raise ConflictError("someone else changed these records in the meantime")

    monkeypatch.setattr(changes, "write_changes", refuse_once)
    job_id, statements = known_between_new(deployed, actors["admin"], tmp_path)
    assert refused == [100]
    positions_written(deployed, job_id)  # the same counts, records and history as written together
    assert sum(s.lstrip().upper().startswith("UPDATE RECORD ") for s in statements) == 1 + 100


def run_counted(make_uow: Factory, job_id: int, *, batch_size: int) -> list[str]:
    """Run an import job; the SQL statements it sent."""
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(as_insert(statement))

    engine = make_uow.engine  # type: ignore[attr-defined]
    event.listen(engine, "before_cursor_execute", count)
    try:
        run_import(make_uow, job_id, lambda: NOW, batch_size=batch_size)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return statements


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
    path = distinct_contacts(tmp_path / "people.csv", 300)
    admin = actors["admin"]
    job = create_job(deployed(), admin, "Contact", path.name, path, NOW, mode="valid_only")
    statements = run_counted(deployed, job.id, batch_size=300)
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
    from engine.store.quality_models import DuplicatePairRow

    admin = actors["admin"]
    first = distinct_contacts(tmp_path / "people.csv", 100)
    run_import(deployed, create_job(deployed(), admin, "Contact", first.name, first, NOW).id, lambda: NOW)
    again = tmp_path / "again.csv"  # the same people (same phone and e-mail), another position: each goes to review
    again.write_text(
        first.read_text(encoding="utf-8").replace("siberia", "siberia,CFO").replace("region", "region,position", 1),
        encoding="utf-8",
    )
    job = create_job(deployed(), admin, "Contact", again.name, again, NOW, mode="valid_only", on_match="review")
    statements = run_counted(deployed, job.id, batch_size=100)
    assert get_job(deployed(), admin, job.id).counts["review"] == 100
    with deployed() as uow:
        assert uow.session.query(DuplicatePairRow).filter(DuplicatePairRow.found_by == "import").count() == 100
    writes = sorted({s.split()[2] for s in statements if s.lstrip().upper().startswith("INSERT")})
    assert writes == ["duplicate_pair", "field_change", "import_row_key", "match_key", "record", "search_key"]
    # row by row: a record, its history, keys, a pair and two reads per row (over 600 statements)
    assert len(statements) <= 60, len(statements)


def test_territory_links_of_a_batch_and_their_history_are_written_in_one_statement_each(
    deployed: Factory, actors: dict[str, Actor], tmp_path: Path
) -> None:
    from engine.store.models import FieldChangeRow, RecordLinkRow, RecordRow

    admin = actors["admin"]
    territory = create_record(deployed(), admin, "Territory", {"code": "MSK", "name": "MSK", "region": "moscow"}, NOW)
    path = tmp_path / "moscow.csv"
    path.write_text(
        distinct_contacts(tmp_path / "people.csv", 120).read_text(encoding="utf-8").replace("siberia", "moscow"),
        encoding="utf-8",
    )
    job = create_job(deployed(), admin, "Contact", path.name, path, NOW, mode="valid_only")
    statements = run_counted(deployed, job.id, batch_size=120)
    assert get_job(deployed(), admin, job.id).counts["created"] == 120
    inserts = [s.split()[2] for s in statements if s.lstrip().upper().startswith("INSERT")]
    # the ORM's flush wrote one INSERT per link and two per link's history on SQLite (360 statements here)
    assert (inserts.count("record_link"), inserts.count("field_change")) == (1, 2)
    with deployed() as uow:
        contacts = uow.session.scalars(select(RecordRow.id).where(RecordRow.entity == "Contact")).all()
        links = uow.session.execute(
            select(RecordLinkRow.from_record_id, RecordLinkRow.to_record_id, RecordLinkRow.kind, RecordLinkRow.field)
        ).all()
        notes = uow.session.execute(
            select(
                FieldChangeRow.record_id,
                FieldChangeRow.actor,
                FieldChangeRow.source,
                FieldChangeRow.old_value,
                FieldChangeRow.new_value,
            ).where(FieldChangeRow.field == "link:territory")
        ).all()
    assert sorted(links) == sorted((contact, territory.id, "territory", None) for contact in contacts)
    source = "rule contact_territory_moscow"
    expected = [(contact, "rule", source, None, territory.id) for contact in contacts] + [
        (territory.id, "rule", source, None, contact) for contact in contacts
    ]
    assert sorted(notes, key=repr) == sorted(expected, key=repr)


@pytest.mark.parametrize("mode", ["valid_only", "all_or_nothing"])
def test_keys_of_a_batch_go_in_one_sorted_insert_per_index(
    deployed: Factory, actors: dict[str, Actor], tmp_path: Path, mode: str
) -> None:
    from engine.store.quality_models import MatchKeyRow
    from engine.store.search_models import SearchKeyRow

    path = tmp_path / "contacts.csv"
    base = contact_base(200, seed=7)  # duplicates and namesakes: a batch's rows are written in many runs
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        writer.writerows([row.data.get(c, "") for c in CSV_COLUMNS] for row in base.rows)
    admin = actors["admin"]
    for code, region in (("MSK", "moscow"), ("NW", "northwest")):  # the territory rules' targets
        create_record(deployed(), admin, "Territory", {"code": code, "name": code, "region": region}, NOW)
    job = create_job(deployed(), admin, "Contact", path.name, path, NOW, mode=mode)
    statements = run_counted(deployed, job.id, batch_size=50)
    done = get_job(deployed(), admin, job.id)
    assert (done.status, done.counts["created"] > 100, done.counts["merged"] > 0) == ("done", True, True)
    inserts = [s.split()[2] for s in statements if s.lstrip().upper().startswith("INSERT")]
    batches = -(-len(base.rows) // 50)
    search_inserts = batches if mode == "valid_only" else 1  # once per transaction
    # a record written by an earlier batch that a row changes has its keys replaced: its stored keys go in one
    # DELETE for all such records, just before the waiting keys are sent (it was a DELETE and an INSERT each)
    replaced = [
        next(t for t in ("search_key", "match_key") if t in s)
        for s in statements
        if s.lstrip().upper().startswith("DELETE FROM") and "_key" in s.split()[2]
    ]
    # before: one INSERT per run of new rows and per row written alone (12 each here); now the search keys once
    # per transaction and the match keys once per look at the new records' duplicate pairs, which read them: once
    # per batch, and before a row that changes a field the duplicate rules read while new records wait for theirs
    # (PostgreSQL: the ids as one array, `= any(...)`)
    held = re.compile(r'SELECT match_key\."?key"?, match_key\.value\s+FROM match_key\s+WHERE match_key\.record_id'
                      r'( IN| = any\()')
    looks = sum(1 for s in statements if held.match(s))  # the new records' keys read, once per look
    assert (inserts.count("search_key"), inserts.count("match_key")) == (search_inserts, looks)
    assert batches <= looks <= batches + 2
    assert replaced.count("search_key") <= search_inserts
    assert 0 < replaced.count("match_key") <= batches
    with deployed() as uow:  # sorted by the lookup index, as written: in the key's order within each batch
        keys = (
            uow.session.execute(
                select(SearchKeyRow.key).where(SearchKeyRow.entity == "Contact").order_by(SearchKeyRow.id)
            )
            .scalars()
            .all()
        )
        assert len(keys) > 1000
        assert len(uow.session.execute(select(MatchKeyRow.id)).all()) > 500
    descents = sum(1 for a, b in itertools.pairwise(keys) if b < a)
    # one at each new INSERT and within a replaced record's few keys (in record order about every other key)
    assert descents <= search_inserts - 1 + 10 * replaced.count("search_key") < len(keys) // 50
