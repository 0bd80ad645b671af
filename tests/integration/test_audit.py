"""Auditing: a record as of past moments, the filtered and paged audit log, its exports, and the append-only guard
over the audit tables; every backend."""

from __future__ import annotations

import ast
import csv
import io
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy import delete, text, update

import cli
from engine.errors import Forbidden, NotFound, ValidationError
from engine.services.audit import (
    AuditQuery,
    RecordNotYetCreated,
    audit_log,
    decode_cursor,
    iter_audit,
    parse_moment,
    record_as_of,
)
from engine.services.audit_export import BOM, COLUMNS, csv_chunks, header, write_xlsx
from engine.services.records import create_record, update_record
from engine.services.users import create_user, get_actor
from engine.services.views import Actor
from engine.store.audit_guard import APPEND_ONLY, AuditTrailError
from engine.store.models import FieldChangeRow, InboundEventRow, InstanceEventRow
from engine.store.quality_models import MergeLogRow
from engine.store.uow import UnitOfWork
from tests.conftest import NOW, PASSWORD, ROOT

MakeUow = Callable[[], UnitOfWork]
T1, T2, T3 = NOW + timedelta(hours=1), NOW + timedelta(hours=2), NOW + timedelta(hours=3)


def lead(make_uow: MakeUow, who: Actor, title: str, at: Any = NOW, **data: Any) -> int:
    return create_record(make_uow(), who, "Lead", {"title": title, **data}, at).id


def value(snapshot: Any, name: str) -> Any:
    return next(v for v in snapshot.values if v.field == name)


def test_a_record_as_of_replays_its_field_history(deployed: MakeUow, actors: dict[str, Actor]) -> None:
    head, otto = actors["head"], actors["auditor"]
    rid = lead(deployed, head, "Laptops", budget="1000.00")
    update_record(deployed(), head, rid, {"budget": "2500.00", "company": "Acme"}, T1)
    update_record(deployed(), head, rid, {"budget": None, "title": "Laptops x20"}, T2)

    with pytest.raises(RecordNotYetCreated, match=r"did not exist yet at 2026-03-02 08:59:59 UTC: it was created at "
                                                  r"2026-03-02 09:00:00 UTC"):
        record_as_of(deployed(), otto, rid, NOW - timedelta(seconds=1))

    at_creation = record_as_of(deployed(), otto, rid, NOW)
    assert (at_creation.title, value(at_creation, "budget").value, value(at_creation, "company").value) == \
        ("Laptops", "1000.00", None)
    assert (value(at_creation, "budget").source, value(at_creation, "budget").actor) == ("create", "hank")
    assert set(at_creation.changed_since) == {"budget", "company", "title"}
    assert value(at_creation, "status").value == "new"  # the default, written at creation

    between = record_as_of(deployed(), otto, rid, T1 + timedelta(minutes=30))
    budget = value(between, "budget")
    assert (budget.value, budget.changed_at, budget.source, budget.changed_since, budget.current) == \
        ("2500.00", T1, "edit", True, None)
    assert value(between, "company").value == "Acme"
    assert set(between.changed_since) == {"budget", "title"}

    after_clearing = record_as_of(deployed(), otto, rid, T3)
    assert value(after_clearing, "budget").value is None
    assert value(after_clearing, "budget").changed_at == T2
    assert after_clearing.title == "Laptops x20"
    assert after_clearing.changed_since == []


def test_as_of_uses_only_the_records_own_history_and_shows_merge_sources(deployed: MakeUow,
                                                                        actors: dict[str, Actor]) -> None:
    head, otto = actors["head"], actors["auditor"]
    survivor = lead(deployed, head, "Survivor")
    merged = lead(deployed, head, "Merged", company="Other Ltd", budget="50.00")
    uow = deployed()
    with uow:  # what a merge leaves: the merged record keeps its rows; the survivor gets a "merge #N" change
        uow.records.add(FieldChangeRow(record_id=survivor, at=T1, actor="ada", source="merge #7", field="company",
                                       old_value=None, new_value="Other Ltd"))
        uow.commit()

    before = record_as_of(deployed(), otto, survivor, NOW + timedelta(minutes=5))
    assert value(before, "company").value is None
    assert value(before, "budget").value is None
    after = record_as_of(deployed(), otto, survivor, T2)
    company = value(after, "company")
    assert (company.value, company.source, company.actor) == ("Other Ltd", "merge #7", "ada")
    assert value(after, "budget").value is None  # the merged record's budget row is not the survivor's
    assert record_as_of(deployed(), otto, merged, T2).title == "Merged"


def test_as_of_follows_record_visibility(deployed: MakeUow, actors: dict[str, Actor]) -> None:
    mine = create_record(deployed(), actors["sales"], "Lead", {"title": "Mine"}, NOW, owner_id=actors["sales"].id,
                         start_processes=False)
    theirs = create_record(deployed(), actors["sales2"], "Lead", {"title": "Sue's"}, NOW,
                           owner_id=actors["sales2"].id, start_processes=False)
    assert record_as_of(deployed(), actors["sales"], mine.id, T1).title == "Mine"
    with pytest.raises(NotFound):
        record_as_of(deployed(), actors["sales"], theirs.id, T1)
    with pytest.raises(NotFound):
        record_as_of(deployed(), actors["designer"], mine.id, T1)


def rows_of(page: Any) -> list[tuple[str, str, str]]:
    return [(e.kind, e.actor, e.subject) for e in page.items]


@pytest.fixture
def logged(deployed: MakeUow, actors: dict[str, Actor]) -> dict[str, Any]:
    """A log with entries of every kind, on records of hank's team and of another team, at known times."""
    head = actors["head"]
    olga = get_actor(deployed(), create_user(deployed(), "olga", PASSWORD, ["sales"], NOW, team="south").id)
    north = lead(deployed, head, "North lead", budget="10.00")
    south = create_record(deployed(), olga, "Lead", {"title": "South lead"}, NOW, owner_id=olga.id).id
    update_record(deployed(), head, north, {"budget": "20.00"}, T1)
    update_record(deployed(), olga, south, {"company": "Southern"}, T2)
    uow = deployed()
    with uow:
        instance_id = uow.instances.for_record(north)[0].id
        uow.events.add(InboundEventRow(received_at=T2, source="ada", name="invoice_paid", business_key=str(north),
                                       payload={"data": {"paid_on": "2026-03-02"}}, outcome="correlated",
                                       detail="delivered", instance_id=instance_id))
        uow.events.add(InboundEventRow(received_at=T2, source="ada", name="unknown", business_key=None,
                                       payload={}, outcome="rejected", detail="NotFound: unknown event"))
        uow.quality.add(MergeLogRow(entity="Lead", survivor_id=north, merged_id=south, pair_id=None, choices={},
                                    undo={}, at=T3, by="ada"))
        uow.commit()
    return {"north": north, "south": south, "olga": olga, "instance_id": instance_id}


def test_the_log_lists_every_kind_newest_first(deployed: MakeUow, actors: dict[str, Actor],
                                               logged: dict[str, Any]) -> None:
    page = audit_log(deployed(), actors["auditor"], AuditQuery(), limit=500)
    assert [e.at for e in page.items] == sorted((e.at for e in page.items), reverse=True)
    assert {e.kind for e in page.items} == {"field", "step", "event", "merge"}
    merge = page.items[0]
    assert (merge.kind, merge.old_value, merge.new_value, merge.record_id, merge.source) == \
        ("merge", logged["south"], logged["north"], logged["north"], merge.source)
    assert merge.source.startswith("merge #")
    event = next(e for e in page.items if e.subject == "invoice_paid")
    assert (event.record_id, event.instance_id, event.source) == (logged["north"], logged["instance_id"],
                                                                  "correlated: delivered")
    assert page.next_cursor is None


def test_filters_combine(deployed: MakeUow, actors: dict[str, Actor], logged: dict[str, Any]) -> None:
    otto = actors["auditor"]

    def query(**filters: Any) -> list[tuple[str, str, str]]:
        return rows_of(audit_log(deployed(), otto, AuditQuery(**filters), limit=500))

    olga = query(user="olga", kinds=("field",))
    assert olga[0] == ("field", "olga", "company")  # the newest
    assert sorted(olga) == [("field", "olga", "company"), ("field", "olga", "status"), ("field", "olga", "title")]
    assert query(user="olga", kinds=("field",), since=T1) == [("field", "olga", "company")]
    assert query(user="hank", record_id=logged["north"], since=T1, until=T2) == [("field", "hank", "budget")]
    assert query(user="ada") == [("merge", "ada", "merge"), ("event", "ada", "unknown"),
                                 ("event", "ada", "invoice_paid")]
    assert query(record_id=logged["south"], kinds=("merge",)) == [("merge", "ada", "merge")]
    assert query(entity="Contact") == []
    assert {k for k, _, _ in query(entity="Lead", record_id=logged["north"])} == {"field", "step", "event", "merge"}
    assert query(kinds=("event",), until=T2) == []
    with pytest.raises(ValidationError) as bad:
        audit_log(deployed(), otto, AuditQuery(kinds=("nonsense",)))
    assert "kind" in bad.value.errors
    with pytest.raises(ValidationError):
        audit_log(deployed(), otto, AuditQuery(since=T2, until=T1))


def test_the_head_of_sales_sees_the_log_of_visible_records_and_sales_none(
        deployed: MakeUow, actors: dict[str, Actor], logged: dict[str, Any]) -> None:
    seen = audit_log(deployed(), actors["head"], AuditQuery(), limit=500).items
    assert {e.record_id for e in seen} == {logged["north"]}
    assert all(e.actor != "olga" for e in seen)
    assert "unknown" not in {e.subject for e in seen}  # a rejected event concerns no visible record
    everything = audit_log(deployed(), actors["admin"], AuditQuery(), limit=500).items
    assert {e.record_id for e in everything} == {logged["north"], logged["south"], None}
    for role in ("sales", "designer"):
        with pytest.raises(Forbidden):
            audit_log(deployed(), actors[role], AuditQuery())


def test_keyset_pages_cover_the_log_once_even_within_one_instant(
        deployed: MakeUow, actors: dict[str, Actor], logged: dict[str, Any]) -> None:
    otto = actors["auditor"]
    whole = [(e.kind, e.id) for e in audit_log(deployed(), otto, AuditQuery(), limit=500).items]
    paged: list[tuple[str, int]] = []
    after = None
    while True:
        page = audit_log(deployed(), otto, AuditQuery(), limit=2, after=after)
        paged += [(e.kind, e.id) for e in page.items]
        if page.next_cursor is None:
            break
        after = page.next_cursor
    assert paged == whole
    assert [(e.kind, e.id) for e in iter_audit(deployed(), otto, AuditQuery(), batch=3)] == whole
    with pytest.raises(ValidationError):
        decode_cursor("not-a-cursor")


def test_exports_hold_the_filtered_log(deployed: MakeUow, actors: dict[str, Actor], logged: dict[str, Any]) -> None:
    entries = list(iter_audit(deployed(), actors["auditor"], AuditQuery(record_id=logged["north"])))
    text_out = "".join(csv_chunks(entries))
    assert text_out.startswith(BOM)
    table = list(csv.reader(io.StringIO(text_out[len(BOM):])))
    assert table[0] == header() == ["at (UTC)", *COLUMNS[1:]]
    assert len(table) == len(entries) + 1
    budget = next(r for r in table[1:] if r[1] == "field" and r[7] == "budget" and r[2] == "hank" and r[8])
    assert (budget[0], budget[4], budget[8], budget[9], budget[10]) == (T1.isoformat(), str(logged["north"]),
                                                                         "10.00", "20.00", "edit")
    buffer = io.BytesIO()
    assert write_xlsx(entries, buffer) == len(entries)
    book = load_workbook(io.BytesIO(buffer.getvalue()), read_only=True)
    rows = list(book["audit"].iter_rows(values_only=True))
    book.close()
    assert rows[0] == tuple(header())
    assert len(rows) == len(entries) + 1
    assert rows[1][1] == "merge"

    moscow = ZoneInfo("Europe/Moscow")  # a reader's zone: the same moments, with their offset, and the header says so
    local = list(csv.reader(io.StringIO("".join(csv_chunks(entries, moscow))[len(BOM):])))
    assert local[0][0] == "at (Europe/Moscow)"
    assert [datetime.fromisoformat(r[0]) for r in local[1:]] == [datetime.fromisoformat(r[0]) for r in table[1:]]
    assert {r[0][-6:] for r in local[1:]} == {"+03:00"}
    buffer = io.BytesIO()
    write_xlsx(entries, buffer, moscow)
    book = load_workbook(io.BytesIO(buffer.getvalue()), read_only=True)
    first = next(book["audit"].iter_rows(values_only=True))
    book.close()
    assert first[0] == "at (Europe/Moscow)"


def test_moments_parse_as_utc() -> None:
    assert parse_moment("2026-03-02", "from") == NOW - timedelta(hours=9)
    assert parse_moment("2026-03-02", "to", end_of_day=True) == NOW + timedelta(hours=15)
    assert parse_moment("2026-03-02T12:00:00+03:00", "at") == NOW
    assert parse_moment("2026-03-02T09:00", "at") == NOW
    assert parse_moment("", "at") is None
    with pytest.raises(ValidationError) as bad:
        parse_moment("yesterday", "from")
    assert list(bad.value.errors) == ["from"]


# --- the append-only guard ---

def _audit_rows(make_uow: MakeUow, actors: dict[str, Actor]) -> dict[str, Any]:
    rid = lead(make_uow, actors["head"], "Guarded")
    uow = make_uow()
    with uow:
        uow.events.add(InboundEventRow(received_at=NOW, source="ada", name="x", business_key=None, payload={},
                                       outcome="rejected", detail="d"))
        uow.quality.add(MergeLogRow(entity="Lead", survivor_id=rid, merged_id=rid, pair_id=None, choices={},
                                    undo={}, at=NOW, by="ada"))
        uow.commit()
    return {"record_id": rid}


AUDIT_ROWS = [(FieldChangeRow, "actor"), (InstanceEventRow, "actor"), (InboundEventRow, "source"),
              (MergeLogRow, "by")]


@pytest.mark.parametrize(("row_type", "column"), AUDIT_ROWS)
def test_audit_rows_cannot_be_changed_or_deleted_through_a_session(
        deployed: MakeUow, actors: dict[str, Actor], row_type: Any, column: str) -> None:
    _audit_rows(deployed, actors)
    uow = deployed()
    with uow:
        row = uow.session.query(row_type).first()
        setattr(row, column, "forger")
        with pytest.raises(AuditTrailError, match="append only"):
            uow.session.flush()
    with uow:
        row = uow.session.query(row_type).first()
        uow.session.delete(row)
        with pytest.raises(AuditTrailError, match="refused to delete"):
            uow.session.flush()
    with uow:
        with pytest.raises(AuditTrailError):
            uow.session.execute(update(row_type).values({column: "forger"}))
        with pytest.raises(AuditTrailError):
            uow.session.execute(delete(row_type))
        with pytest.raises(AuditTrailError):
            uow.session.execute(text(f"DELETE FROM {row_type.__tablename__}"))  # noqa: S608
    with uow:
        assert uow.session.query(row_type).filter(getattr(row_type, column) == "forger").count() == 0


def test_a_merge_log_row_may_only_be_stamped_undone(deployed: MakeUow, actors: dict[str, Actor]) -> None:
    _audit_rows(deployed, actors)
    uow = deployed()
    with uow:
        row = uow.session.query(MergeLogRow).one()
        row.undone_at, row.undone_by = T1, "ada"
        uow.commit()
    with uow:
        uow.session.execute(update(MergeLogRow).values(undone_by="adam"))
        row = uow.session.query(MergeLogRow).one()
        row.choices = {"title": "merged"}
        with pytest.raises(AuditTrailError, match="choices"):
            uow.session.flush()
    with uow:
        assert uow.session.query(MergeLogRow).one().undone_at == T1


GUARDED = {"FieldChangeRow", "InstanceEventRow", "InboundEventRow", "MergeLogRow"}
UNDO_COLUMNS = {"undone_at", "undone_by"}


def _writes(tree: ast.AST) -> list[tuple[int, str]]:
    """update()/delete() calls on audit rows, except merge_log updates that set only the undo stamp."""
    allowed: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "values" \
                and {k.arg for k in node.keywords} <= UNDO_COLUMNS and node.keywords:
            allowed |= {id(n) for n in ast.walk(node.func.value)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("update", "delete") \
                and node.args and isinstance(node.args[0], ast.Name) and node.args[0].id in GUARDED:
            if not (node.func.id == "update" and node.args[0].id == "MergeLogRow" and id(node) in allowed):
                found.append((node.lineno, f"{node.func.id}({node.args[0].id})"))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            lowered = " ".join(node.value.lower().split())
            found += [(node.lineno, f"SQL on {t}") for t in APPEND_ONLY
                      if f"update {t} " in lowered or f"delete from {t}" in lowered  # noqa: S608
                      or f'update "{t}"' in lowered]
    return sorted(found)


def test_no_application_code_updates_or_deletes_audit_rows() -> None:
    offenders = []
    for folder in ("engine", "web"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            offenders += [f"{path.relative_to(ROOT)}:{line}: {what}" for line, what in _writes(tree)]
    assert offenders == []


def test_the_static_check_finds_such_writes() -> None:
    sample = ("update(FieldChangeRow).values(actor='x')\ndelete(InboundEventRow)\n"
              "update(MergeLogRow).values(undone_at=now)\nupdate(MergeLogRow).values(undo={})\n"
              "s = 'DELETE FROM instance_event WHERE id = 1'\n")
    assert [what for _, what in _writes(ast.parse(sample))] == [
        "update(FieldChangeRow)", "delete(InboundEventRow)", "update(MergeLogRow)", "SQL on instance_event"]


def test_the_cli_prints_and_exports_the_filtered_log(db_url: str, deployed: MakeUow, actors: dict[str, Actor],
                                                     logged: dict[str, Any], tmp_path: Path) -> None:
    runner = CliRunner()
    base = ["--database-url", db_url, "audit"]
    table = runner.invoke(cli.main, [*base, "--user", "hank", "--kind", "field", "--from", "2026-03-02T09:30"])
    assert table.exit_code == 0, table.output
    assert table.output.splitlines() == [f"2026-03-02 10:00:00  field  hank          Lead #{logged['north']:<12}"
                                         "  budget: 10.00 -> 20.00  [edit]"]
    exported = tmp_path / "audit.csv"
    done = runner.invoke(cli.main, [*base, "--record", str(logged["south"]), "--format", "csv", "-o", str(exported)])
    assert done.exit_code == 0, done.output
    rows = list(csv.reader(io.StringIO(exported.read_text(encoding="utf-8-sig"))))
    assert [r[1] for r in rows[1:3]] == ["merge", "field"]
    assert {r[1] for r in rows[1:]} == {"merge", "field", "step"}
    assert {r[4] for r in rows[2:]} == {str(logged["south"])}
    book_path = tmp_path / "audit.xlsx"
    made = runner.invoke(cli.main, [*base, "--kind", "event", "--format", "xlsx", "-o", str(book_path)])
    assert made.exit_code == 0, made.output
    assert "2 entries written" in made.output
    local = runner.invoke(cli.main, [*base, "--user", "hank", "--kind", "field", "--from", "2026-03-02T12:30",
                                     "--tz", "Europe/Moscow"])  # 09:30 UTC, and the time shown in Moscow
    assert local.exit_code == 0, local.output
    assert local.output.splitlines() == [f"2026-03-02 13:00:00  field  hank          Lead #{logged['north']:<12}"
                                         "  budget: 10.00 -> 20.00  [edit]"]
    unknown = runner.invoke(cli.main, [*base, "--tz", "Mars/Olympus"])
    assert unknown.exit_code == 1
    assert "--tz: unknown time zone 'Mars/Olympus'" in unknown.output
    refused = runner.invoke(cli.main, [*base, "--from", "last week"])
    assert refused.exit_code == 1
    assert "--from: 'last week' is not a date" in refused.output
    assert runner.invoke(cli.main, [*base, "--format", "xlsx"]).exit_code == 1
