"""`flowcrm import` and `flowcrm import-mappings` on a deployed database."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner, Result

import cli
from engine.services.imports import list_jobs
from engine.services.records import create_record, list_records
from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.conftest import NOW, ROOT

MIXED = ROOT / "tests" / "fixtures" / "imports" / "contacts_mixed.csv"


def flowcrm(db_url: str, *args: str) -> Result:
    return CliRunner().invoke(cli.main, ["--database-url", db_url, *args])


def test_all_or_nothing_import_with_a_bad_row_exits_1_and_lists_it(db_url: str, deployed: Callable[[], UnitOfWork],
                                                                   actors: dict[str, Actor]) -> None:
    result = flowcrm(db_url, "import", str(MIXED), "--entity", "Contact", "--as", "sam")
    assert result.exit_code == 1, result.output
    assert "rejected: 0 created, 0 updated, 0 merged, 0 skipped, 1 rejected" in result.output
    assert 'row 4, column "Телефон": is not a valid phone number' in result.output
    assert list_records(deployed(), actors["sales"], "Contact") == []
    checked = flowcrm(db_url, "import", str(MIXED), "--entity", "Contact", "--as", "sam", "--dry-run")
    assert checked.exit_code == 1, checked.output
    assert "done (dry run): 3 created, 0 updated, 1 merged, 0 skipped, 1 rejected" in checked.output


def test_valid_only_import_saves_the_mapping_and_writes_rejects(db_url: str, deployed: Callable[[], UnitOfWork],
                                                                actors: dict[str, Actor], tmp_path: Path) -> None:
    out = tmp_path / "rejects.csv"
    result = flowcrm(db_url, "import", str(MIXED), "--entity", "Contact", "--as", "sam", "--mode", "valid-only",
                     "--map", "Метки=skip", "--save-mapping", "fair", "--rejects", str(out))
    assert result.exit_code == 0, result.output
    assert "Метки -> skip" in result.output
    assert "done: 3 created, 0 updated, 1 merged, 0 skipped, 1 rejected" in result.output
    assert out.read_text(encoding="utf-8").splitlines()[0] == "ФИО,Телефон,Email,Метки,errors"
    listed = flowcrm(db_url, "import-mappings", "--entity", "Contact", "--as", "sam")
    assert listed.exit_code == 0, listed.output
    assert "Contact / fair (by sam" in listed.output
    assert "Метки=skip" in listed.output
    again = flowcrm(db_url, "import", str(MIXED), "--entity", "Contact", "--as", "sam", "--mapping", "fair",
                    "--mode", "valid-only", "--dry-run")
    assert again.exit_code == 0, again.output
    assert "done (dry run): 0 created, 0 updated, 0 merged, 4 skipped, 1 rejected" in again.output
    assert len(list_jobs(deployed(), actors["sales"])) == 2
    refused = flowcrm(db_url, "import-mappings", "--entity", "Contact", "--delete", "fair", "--as", "sue")
    assert refused.exit_code == 1
    assert "sue may not delete the profile 'fair' of sam" in refused.output
    deleted = flowcrm(db_url, "import-mappings", "--entity", "Contact", "--delete", "fair", "--as", "sam")
    assert deleted.exit_code == 0, deleted.output
    assert flowcrm(db_url, "import-mappings", "--as", "sam").output.strip() == "no mapping profiles"


def test_unknown_profile_and_unreadable_file_are_clean_errors(db_url: str, deployed: Callable[[], UnitOfWork],
                                                              actors: dict[str, Actor], tmp_path: Path) -> None:
    missing = flowcrm(db_url, "import", str(MIXED), "--entity", "Contact", "--as", "sam", "--mapping", "nope")
    assert missing.exit_code == 1
    assert "no mapping profile 'nope' for Contact" in missing.output
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04junk")
    result = flowcrm(db_url, "import", str(broken), "--entity", "Contact", "--as", "sam")
    assert result.exit_code == 1
    assert "broken.xlsx: not a readable XLSX workbook" in result.output


def test_on_match_and_date_format_flags_choose_for_this_import(db_url: str, deployed: Callable[[], UnitOfWork],
                                                               actors: dict[str, Actor], tmp_path: Path) -> None:
    path = tmp_path / "again.csv"
    path.write_text("Name,Email,Repeat sale offered for purchase of\nAnna,anna@example.com,19560409\n",
                    encoding="utf-8")
    first = flowcrm(db_url, "import", str(path), "--entity", "Contact", "--as", "sam",
                    "--date-format", "Repeat sale offered for purchase of=%Y%m%d")
    assert "done: 1 created" in first.output, first.output
    path.write_text("Name,Email\nAnna,anna@example.com\n", encoding="utf-8")
    again = flowcrm(db_url, "import", str(path), "--entity", "Contact", "--as", "sam", "--on-match", "review")
    assert again.exit_code == 0, again.output
    assert "0 rejected, 1 review" in again.output
    found = list_records(deployed(), actors["sales"], "Contact")
    assert sorted(r.data.get("repeat_sale_for") or "" for r in found) == ["", "1956-04-09"]
    bad = flowcrm(db_url, "import", str(path), "--entity", "Contact", "--as", "sam", "--date-format", "Email")
    assert bad.exit_code == 1
    assert "'Email' must look like column=format like Born=%Y%m%d" in bad.output


def test_import_says_how_many_pairs_the_duplicate_rules_queued(db_url: str, deployed: Callable[[], UnitOfWork],
                                                               actors: dict[str, Actor], tmp_path: Path) -> None:
    sam = actors["sales"]
    create_record(deployed(), sam, "Contact", {"full_name": "Olga Smirnova"}, NOW, owner_id=sam.id)
    path = tmp_path / "one.csv"
    path.write_text("Name\nOlga Smirnowa\n", encoding="utf-8")  # a typo: only a fuzzy rule finds her
    dry = flowcrm(db_url, "import", str(path), "--entity", "Contact", "--as", "sam", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "1 duplicate pair(s) of a new record would open in the review queue by the duplicate rules" in dry.output
    done = flowcrm(db_url, "import", str(path), "--entity", "Contact", "--as", "sam")
    assert done.exit_code == 0, done.output
    assert "done: 1 created, 0 updated, 0 merged, 0 skipped, 0 rejected, 0 review\n" in done.output
    assert "1 duplicate pair(s) of a new record opened in the review queue by the duplicate rules" in done.output


def test_import_with_lang_ru_gives_the_reasons_and_the_rejects_header_in_russian(
        db_url: str, deployed: Callable[[], UnitOfWork], actors: dict[str, Actor], tmp_path: Path) -> None:
    out = tmp_path / "rejects.csv"
    result = flowcrm(db_url, "import", str(MIXED), "--entity", "Contact", "--as", "sam", "--mode", "valid-only",
                     "--dry-run", "--rejects", str(out), "--lang", "ru")
    assert result.exit_code == 0, result.output
    assert "строка 4, столбец «Метки»: «nope» нет в справочнике tag" in result.output
    assert "импорт #1 — завершён (пробный прогон): создано 3, обновлено 0, объединено 1, пропущено 0, отклонено 1" in (
        result.output)
    header, row = out.read_text(encoding="utf-8-sig").splitlines()
    assert header == "ФИО,Телефон,Email,Метки,ошибки"
    assert "Метки: «nope» нет в справочнике tag" in row


def test_russian_reasons_for_a_western_european_file_come_back_whole_in_utf8(
        db_url: str, deployed: Callable[[], UnitOfWork], actors: dict[str, Actor], tmp_path: Path) -> None:
    source, out = tmp_path / "clients.csv", tmp_path / "rejects.csv"
    source.write_bytes("Full name;Tags\nJosé Müller;nope\n".encode("cp1252"))
    result = flowcrm(db_url, "import", str(source), "--entity", "Contact", "--as", "sam", "--mode", "valid-only",
                     "--encoding", "cp1252", "--rejects", str(out), "--lang", "ru")
    assert result.exit_code == 0, result.output
    assert f"отклонённые строки записаны в {out} (utf-8)" in result.output
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # cp1252 has no Cyrillic: UTF-8 with BOM instead of '?' for each letter
    assert data.decode("utf-8-sig").splitlines() == ["Full name;Tags;ошибки",
                                                     "José Müller;nope;Tags: «nope» нет в справочнике tag "
                                                     "(vip, wholesale, retail, partner)"]
