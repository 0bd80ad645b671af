"""Importing records from files: dry run, all or nothing, valid rows only, re-import, matching, actions, progress."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from engine.services.deployments import deploy_bundle
from engine.services.imports import ImportJobView, create_job, get_job, job_rejects, rejects_csv
from engine.services.records import create_record, get_record, list_records
from engine.services.views import Actor
from engine.store.models import FieldChangeRow, RecordRow
from engine.store.uow import UnitOfWork
from tests.conftest import NOW, ROOT

MIXED = ROOT / "tests" / "fixtures" / "imports" / "contacts_mixed.csv"
Factory = Callable[[], UnitOfWork]


def clock() -> datetime:
    return NOW


def run(make_uow: Factory, actor: Actor, path: Path, *, entity: str = "Contact", batch_size: int = 500,
        **options: Any) -> ImportJobView:
    """Prepare and run an import of a file; the finished job."""
    from engine.imports.run import run_import

    job = create_job(make_uow(), actor, entity, path.name, path, NOW, **options)
    run_import(make_uow, job.id, clock, batch_size=batch_size)
    return get_job(make_uow(), actor, job.id)


def count(make_uow: Factory, row_type: type) -> int:
    uow = make_uow()
    with uow:
        return len(uow.session.query(row_type).all())


def contacts(make_uow: Factory, actor: Actor) -> dict[str, dict[str, Any]]:
    return {r.title: r.data for r in list_records(make_uow(), actor, "Contact", limit=500)}


def test_dry_run_reports_everything_and_writes_nothing(deployed: Factory, actors: dict[str, Actor]) -> None:
    records, history = count(deployed, RecordRow), count(deployed, FieldChangeRow)
    job = run(deployed, actors["sales"], MIXED, dry_run=True, mode="valid_only")
    assert (job.status, job.dry_run, job.message) == ("done", True, "dry run: nothing was written")
    assert job.counts == {"created": 3, "updated": 0, "merged": 1, "skipped": 0, "rejected": 1, "review": 0,
                          "rule_pairs": 0}
    assert (count(deployed, RecordRow), count(deployed, FieldChangeRow)) == (records, history)
    (reject,) = job_rejects(deployed(), actors["sales"], job.id)
    assert reject.row_number == 4
    assert [e["column"] for e in reject.errors] == ["Телефон", "Email", "Метки"]


def test_all_or_nothing_with_one_bad_row_writes_nothing(deployed: Factory, actors: dict[str, Actor]) -> None:
    records = count(deployed, RecordRow)
    job = run(deployed, actors["sales"], MIXED, mode="all_or_nothing")
    assert job.status == "rejected"
    assert job.counts == {"created": 0, "updated": 0, "merged": 0, "skipped": 0, "rejected": 1, "review": 0,
                          "rule_pairs": 0}
    assert "nothing was written" in (job.message or "")
    assert count(deployed, RecordRow) == records
    (reject,) = job_rejects(deployed(), actors["sales"], job.id)
    assert reject.values == {"ФИО": "Сидоров Олег", "Телефон": "12", "Email": "oleg@", "Метки": "nope"}
    assert {"column": "Телефон", "reason": "is not a valid phone number"} in reject.errors


def test_valid_only_imports_the_rest_and_rejects_download_as_csv(deployed: Factory,
                                                                  actors: dict[str, Actor]) -> None:
    sam = actors["sales"]
    job = run(deployed, sam, MIXED, mode="valid_only")
    assert job.status == "done"
    assert job.counts == {"created": 3, "updated": 0, "merged": 1, "skipped": 0, "rejected": 1, "review": 0,
                          "rule_pairs": 0}
    found = contacts(deployed, sam)  # owned by the importer, so the salesperson sees them
    assert set(found) == {"Иванов Иван", "Петрова Анна", "Кузнецова Мария"}
    assert found["Иванов Иван"]["tags"] == ["vip"]
    assert found["Петрова Анна"]["tags"] == ["wholesale"]
    rejected = rejects_csv(deployed(), sam, job.id)
    assert (rejected.name, rejected.charset) == ("contacts_mixed-rejects.csv", "utf-8")
    lines = rejected.data.decode("utf-8").splitlines()
    assert lines[0] == "ФИО,Телефон,Email,Метки,errors"
    assert lines[1].startswith("Сидоров Олег,12,oleg@,nope,\"Телефон: is not a valid phone number; Email: must be")
    assert len(lines) == 2


def test_rejects_csv_keeps_the_source_delimiter_and_encoding(deployed: Factory, actors: dict[str, Actor],
                                                              tmp_path: Path) -> None:
    path = tmp_path / "ru.csv"
    path.write_bytes("ФИО;Телефон\nИванов;1\n".encode("cp1251"))
    job = run(deployed, actors["sales"], path, mode="valid_only")
    rejected = rejects_csv(deployed(), actors["sales"], job.id)
    assert rejected.charset == "windows-1251"
    assert rejected.data.decode("cp1251").splitlines() == ["ФИО;Телефон;errors",
                                                  "Иванов;1;Телефон: is not a valid phone number"]


def test_reimporting_the_same_file_skips_every_row_and_writes_no_history(deployed: Factory,
                                                                          actors: dict[str, Actor]) -> None:
    first = run(deployed, actors["sales"], MIXED, mode="valid_only")
    assert first.counts["created"] == 3
    records, history = count(deployed, RecordRow), count(deployed, FieldChangeRow)
    second = run(deployed, actors["sales"], MIXED, mode="valid_only")
    assert second.counts == {"created": 0, "updated": 0, "merged": 0, "skipped": 4, "rejected": 1, "review": 0,
                             "rule_pairs": 0}
    assert (count(deployed, RecordRow), count(deployed, FieldChangeRow)) == (records, history)


def test_a_row_matching_an_existing_record_by_email_fills_its_empty_fields(deployed: Factory,
                                                                            actors: dict[str, Actor],
                                                                            tmp_path: Path) -> None:
    sam = actors["sales"]
    existing = create_record(deployed(), sam, "Contact", {"full_name": "Ivan Ivanov", "email": "Ivan@Example.com"},
                             NOW, owner_id=sam.id)
    path = tmp_path / "update.csv"
    path.write_text("Name,Email,Phone,Position\nivan  IVANOV,ivan@example.com,+7 912 345-67-89,CEO\n",
                    encoding="utf-8")
    job = run(deployed, sam, path, mode="valid_only")
    assert job.counts == {"created": 0, "updated": 1, "merged": 0, "skipped": 0, "rejected": 0, "review": 0,
                          "rule_pairs": 0}
    record = get_record(deployed(), sam, existing.id)
    assert record.data["full_name"] == "Ivan Ivanov"  # the same name (case, spacing): nothing disagrees
    assert (record.data["phone"], record.data["position"]) == ("+7 912 345-67-89", "CEO")


def test_a_match_with_a_record_the_importer_cannot_see_is_rejected(deployed: Factory, actors: dict[str, Actor],
                                                                   tmp_path: Path) -> None:
    sue = actors["sales2"]
    create_record(deployed(), sue, "Contact", {"full_name": "Hidden", "email": "hidden@example.com"}, NOW,
                  owner_id=sue.id)
    path = tmp_path / "other.csv"
    path.write_text("Name,Email\nHidden Person,hidden@example.com\n", encoding="utf-8")
    job = run(deployed, actors["sales"], path, mode="valid_only")
    (reject,) = job_rejects(deployed(), actors["sales"], job.id)
    assert "which you may not change" in reject.errors[0]["reason"]


def test_two_rows_of_one_person_become_one_record(deployed: Factory, actors: dict[str, Actor],
                                                  tmp_path: Path) -> None:
    path = tmp_path / "twice.csv"
    path.write_text("ФИО,Телефон,Email,Должность\n"
                    "Анна Петрова,+7 495 123-45-67,,\n"
                    "Анна Петрова,8 (495) 123-45-67,anna@example.com,Бухгалтер\n", encoding="utf-8")
    job = run(deployed, actors["sales"], path, mode="all_or_nothing")
    assert job.counts == {"created": 1, "updated": 0, "merged": 1, "skipped": 0, "rejected": 0, "review": 0,
                          "rule_pairs": 0}
    (anna,) = contacts(deployed, actors["sales"]).values()
    assert (anna["email"], anna["position"]) == ("anna@example.com", "Бухгалтер")


def _workbook(rows: list[list[Any]]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_configured_action_runs_for_every_created_record(deployed: Factory, actors: dict[str, Actor],
                                                         tmp_path: Path) -> None:
    # the shipped crm_model/imports.yaml starts lead qualification for each imported Lead
    path = tmp_path / "leads.xlsx"
    path.write_bytes(_workbook([["Тема", "Бюджет", "Дата следующего контакта"],
                                ["20 ноутбуков", 150000.5, datetime(2026, 3, 10)],
                                ["Сервер", "1 200 000,00", "15.03.2026"]]))
    job = run(deployed, actors["head"], path, entity="Lead", mode="all_or_nothing")
    assert job.counts["created"] == 2, job
    uow = deployed()
    with uow:
        leads = uow.session.query(RecordRow).filter(RecordRow.entity == "Lead").order_by(RecordRow.id).all()
        assert [(r.data["budget"], r.data["next_contact_on"]) for r in leads] == [
            ("150000.5", "2026-03-10"), ("1200000.00", "2026-03-15")]
        started = [len(uow.instances.for_record(r.id)) for r in leads]
        sources = {c.source for r in leads for c in uow.records.changes(r.id)}
    assert started == [1, 1]
    assert {f"import #{job.id} row 2", f"import #{job.id} row 3"} <= sources  # each value names its row


def test_action_from_a_deployed_imports_yaml(deployed: Factory, actors: dict[str, Actor], tmp_path: Path,
                                             bundle_files: dict[str, str]) -> None:
    files = {**bundle_files, "crm_model/imports.yaml": (
        "entities:\n  Contact:\n    match_on: [email]\n    actions:\n"
        "      - create_task: {title: Call the imported contact, assignee: owner}\n")}
    deploy_bundle(deployed(), Actor(None, "setup", "setup", frozenset({"designer"})), files, NOW)
    path = tmp_path / "two.csv"
    path.write_text("Full name,Email\nA One,a@example.com\nB Two,b@example.com\n", encoding="utf-8")
    job = run(deployed, actors["sales"], path)
    assert job.counts["created"] == 2
    uow = deployed()
    with uow:
        titles = [[t.title for t in uow.tasks.for_record(r.id)]
                  for r in uow.session.query(RecordRow).filter(RecordRow.entity == "Contact").all()]
    assert all("Call the imported contact" in found for found in titles)
    assert len(titles) == 2


def test_progress_is_committed_after_each_batch(deployed: Factory, actors: dict[str, Actor]) -> None:
    from engine.imports.run import run_import

    job = create_job(deployed(), actors["sales"], "Contact", MIXED.name, MIXED, NOW, mode="valid_only")
    assert (job.status, job.total_rows, job.processed_rows) == ("pending", 5, 0)
    seen: list[int] = []

    def spying() -> UnitOfWork:
        seen.append(get_job(deployed(), actors["sales"], job.id).processed_rows)
        return deployed()

    run_import(spying, job.id, clock, batch_size=2)
    done = get_job(deployed(), actors["sales"], job.id)
    assert (done.status, done.processed_rows, done.total_rows) == ("done", 5, 5)
    assert {2, 4} <= set(seen)


def test_unreadable_file_is_refused_when_the_job_is_made(deployed: Factory, actors: dict[str, Actor],
                                                         tmp_path: Path) -> None:
    from engine.errors import ValidationError

    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04garbage")
    with pytest.raises(ValidationError, match=r"broken\.xlsx: not a readable XLSX workbook"):
        create_job(deployed(), actors["sales"], "Contact", path.name, path, NOW)


def test_a_file_gone_before_the_run_fails_the_job_with_the_reason(deployed: Factory, actors: dict[str, Actor],
                                                                  tmp_path: Path) -> None:
    path = tmp_path / "gone.csv"
    path.write_text("Name\nX\n", encoding="utf-8")
    job = create_job(deployed(), actors["sales"], "Contact", path.name, path, NOW)
    path.unlink()
    from engine.imports.run import run_import

    run_import(deployed, job.id, clock)
    failed = get_job(deployed(), actors["sales"], job.id)
    assert failed.status == "failed"
    assert "gone.csv: cannot be read" in (failed.message or "")


def test_salespeople_see_only_their_own_imports(deployed: Factory, actors: dict[str, Actor]) -> None:
    from engine.errors import Forbidden, NotFound
    from engine.services.imports import list_jobs

    job = create_job(deployed(), actors["sales"], "Contact", MIXED.name, MIXED, NOW)
    assert [j.id for j in list_jobs(deployed(), actors["head"])] == [job.id]
    assert list_jobs(deployed(), actors["sales2"]) == []
    with pytest.raises(NotFound):
        get_job(deployed(), actors["sales2"], job.id)
    with pytest.raises(Forbidden):
        create_job(deployed(), actors["auditor"], "Contact", MIXED.name, MIXED, NOW)


def test_duplicate_rules_match_phones_but_keep_a_household_apart(deployed: Factory, actors: dict[str, Actor],
                                                                 tmp_path: Path) -> None:
    sam = actors["sales"]
    existing = create_record(deployed(), sam, "Contact", {"full_name": "Ivan Petrov", "phone": "8 (912) 345-67-89"},
                             NOW, owner_id=sam.id)
    path = tmp_path / "phones.csv"
    path.write_text("Name,Phone,Position\n"
                    "Ivan Petrov,+7 912 345-67-89,CEO\n"  # the same person: same_phone rule, folded into the record
                    "Maria Sidorova,+79123456789,CFO\n", encoding="utf-8")  # same line, another person: household
    job = run(deployed, sam, path, mode="valid_only")
    assert job.counts == {"created": 1, "updated": 1, "merged": 0, "skipped": 0, "rejected": 0, "review": 0,
                          "rule_pairs": 1}  # the household pair opens at import, as a scan would open it
    assert get_record(deployed(), sam, existing.id).data["position"] == "CEO"
    with deployed() as uow:
        assert [(p.rule, p.found_by) for p in uow.quality.pairs_of(existing.id)] == [("household", "import")]
    assert set(contacts(deployed, sam)) == {"Ivan Petrov", "Maria Sidorova"}


def test_single_transaction_progress_is_live_and_on_postgres_committed_beside(
        db_url: str, deployed: Factory, actors: dict[str, Actor], monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.imports import run as runner

    sam = actors["sales"]
    job = create_job(deployed(), sam, "Contact", MIXED.name, MIXED, NOW, mode="valid_only", dry_run=True)
    stored: list[int] = []
    live: list[int] = []
    original = runner._rows

    def spying(*args: Any) -> None:
        live.append(get_job(deployed(), sam, job.id).processed_rows)
        stored.append(count_progress(deployed, job.id))
        original(*args)

    monkeypatch.setattr(runner, "_rows", spying)
    runner.run_import(deployed, job.id, clock, batch_size=2)
    assert live == [0, 2, 4]  # this process sees the rows done while the one transaction is open
    assert stored == ([0, 2, 4] if db_url.startswith("postgres") else [0, 0, 0])  # SQLite: only at the end
    assert get_job(deployed(), sam, job.id).processed_rows == 5


def count_progress(make_uow: Factory, job_id: int) -> int:
    uow = make_uow()
    with uow:
        job = uow.imports.job(job_id)
        assert job is not None
        return job.processed_rows


def test_a_finished_import_does_not_run_twice(deployed: Factory, actors: dict[str, Actor]) -> None:
    from engine.errors import ValidationError
    from engine.imports.run import run_import

    job = run(deployed, actors["sales"], MIXED, mode="valid_only")
    with pytest.raises(ValidationError, match="has already run"):
        run_import(deployed, job.id, clock)
    assert get_job(deployed(), actors["sales"], job.id).counts["created"] == 3
