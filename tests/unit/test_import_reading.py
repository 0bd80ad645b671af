"""Reading import files (encodings, delimiters, quoting, XLSX), guessing the mapping, converting cells."""

from __future__ import annotations

import io
import os
import tracemalloc
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from engine.config.loader import load_bundle, read_bundle_dir
from engine.config.model import Bundle
from engine.errors import ConfigError, ValidationError
from engine.imports.convert import (
    BadValue,
    Converter,
    to_boolean,
    to_date,
    to_datetime,
    to_decimal,
    to_integer,
    to_phone,
)
from engine.imports.limits import ReadLimits, WorkerLimits
from engine.imports.mapping import SKIP, guess_mapping, merge_mapping, parse_pairs
from engine.imports.reading import detect_encoding, read_path, read_table
from tests import bombs
from tests.conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "imports"


@pytest.fixture(scope="module")
def bundle() -> Bundle:
    return load_bundle(read_bundle_dir(ROOT))


def read(name: str, **options: Any) -> Any:
    return read_table(name, (FIXTURES / name).read_bytes(), **options)


def xlsx(rows: list[list[Any]], title: str = "Sheet") -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_cp1251_file_with_semicolons_is_detected() -> None:
    table = read("contacts_cp1251_semicolon.csv")
    assert (table.encoding, table.delimiter) == ("cp1251", ";")
    assert table.headers == ["ФИО", "Телефон", "Эл. почта", "Должность", "Дата"]
    assert table.rows[0] == (2, ["Иванов Иван", "+7 912 345-67-89", "ivan@example.com", "Директор", "01.03.2026"])
    assert [number for number, _ in table.rows] == [2, 3]


def test_bom_and_tab_delimiter() -> None:
    table = read("contacts_bom_tab.tsv")
    assert (table.encoding, table.delimiter) == ("utf-8-sig", "\t")
    assert table.headers[0] == "Full name"  # no BOM left in the first header
    assert table.rows[1] == (3, ["Mary Jones", "", "mary@example.com", "partner"])


def test_quoted_fields_keep_commas_quotes_and_newlines() -> None:
    table = read("contacts_quoted.csv")
    assert table.delimiter == ","
    assert table.rows[0] == (2, ["Smith, John", "john@example.com", "first line\nsecond line"])
    assert table.rows[1] == (3, ['O\'Brien "Bob"', "bob@example.com", "plain"])


def test_explicit_encoding_and_delimiter_win() -> None:
    data = "a|b\n1|2\n".encode("cp1251")
    table = read_table("x.csv", data, encoding="cp1251", delimiter="|")
    assert table.headers == ["a", "b"]
    assert table.rows == [(2, ["1", "2"])]
    with pytest.raises(ValidationError, match=r"x.csv: not utf-8 text"):
        read_table("x.csv", "ФИО\n".encode("cp1251"), encoding="utf-8")
    with pytest.raises(ValidationError, match="unknown encoding"):
        read_table("x.csv", b"a\n", encoding="klingon")


def test_encoding_detection() -> None:
    assert detect_encoding(b"\xef\xbb\xbfabc") == "utf-8-sig"
    assert detect_encoding("Привет".encode()) == "utf-8"
    assert detect_encoding("Привет".encode("cp1251")) == "cp1251"


def test_blank_rows_are_skipped_but_numbering_follows_the_file_and_long_rows_are_noted() -> None:
    table = read_table("x.csv", b"a,b\n1,2\n,\n3,4,5\n")
    assert table.rows == [(2, ["1", "2"]), (4, ["3", "4"])]
    assert table.widths == {4: 3}


def test_unreadable_files_name_the_file_and_reason() -> None:
    with pytest.raises(ValidationError, match=r"empty.csv: the file is empty"):
        read_table("empty.csv", b"  \n")
    with pytest.raises(ValidationError, match=r"broken.xlsx: not a readable XLSX workbook"):
        read_table("broken.xlsx", b"PK\x03\x04 nonsense")
    with pytest.raises(ValidationError, match=r"x.csv: --sheet applies to XLSX files only"):
        read_table("x.csv", b"a\n1\n", sheet="Sheet1")


def test_xlsx_keeps_types_takes_the_named_sheet_and_ignores_trailing_empty_rows() -> None:
    book = Workbook()
    first = book.active
    first.append(["ignored"])
    second = book.create_sheet("Clients")
    second.append(["Name", "Budget", "Since"])
    second.append(["Acme", 1200.5, datetime(2026, 3, 1)])
    second.append(["Beta", 7, None])
    second.append([None, None, None])
    second.append([None, None, None])
    out = io.BytesIO()
    book.save(out)
    table = read_table("clients.xlsx", out.getvalue(), sheet="Clients")
    assert (table.kind, table.sheet) == ("xlsx", "Clients")
    assert table.headers == ["Name", "Budget", "Since"]
    assert table.rows == [(2, ["Acme", 1200.5, datetime(2026, 3, 1)]), (3, ["Beta", 7, None])]
    assert read_table("clients.xlsx", out.getvalue()).headers == ["ignored"]
    with pytest.raises(ValidationError, match=r"clients.xlsx: no sheet 'Nope'; sheets: Sheet, Clients"):
        read_table("clients.xlsx", out.getvalue(), sheet="Nope")


def test_xlsx_of_one_sheet() -> None:
    table = read_table("a.xlsx", xlsx([["ФИО", "Телефон"], ["Иванов", 79123456789]]))
    assert table.rows == [(2, ["Иванов", 79123456789])]


def test_headers_are_guessed_in_russian_and_english(bundle: Bundle) -> None:
    contact = bundle.entities["Contact"]
    settings = bundle.imports["Contact"]
    ru = guess_mapping(contact, settings, ["ФИО", "Тел.", "Эл. почта", "Должность", "Организация", "Прочее"])
    assert ru == {"ФИО": "full_name", "Тел.": "phone", "Эл. почта": "email", "Должность": "position",
                  "Организация": "organization", "Прочее": SKIP}
    en = guess_mapping(contact, settings, ["Full Name", "Mobile", "E-mail", "full_name", "Tags"])
    assert en == {"Full Name": "full_name", "Mobile": "phone", "E-mail": "email", "full_name": SKIP,
                  "Tags": "tags"}


def test_explicit_choices_override_guesses_and_bad_fields_are_refused(bundle: Bundle) -> None:
    contact = bundle.entities["Contact"]
    merged = merge_mapping(contact, bundle.imports["Contact"], ["ФИО", "Телефон", "Почта 2"],
                           parse_pairs(["Почта 2=phone"]))
    assert merged == {"ФИО": "full_name", "Телефон": SKIP, "Почта 2": "phone"}
    with pytest.raises(ValidationError, match="'nope' is not a field of Contact"):
        merge_mapping(contact, None, ["A"], {"A": "nope"})
    with pytest.raises(ValidationError, match="must look like column=field"):
        parse_pairs(["no equals sign"])


def test_phones_keep_their_form_and_spreadsheet_numbers_get_their_plus() -> None:
    assert to_phone("+7 912 345-67-89", "RU") == "+7 912 345-67-89"
    assert to_phone(79123456789, "RU") == "79123456789"  # a Russian number as it is
    assert to_phone(14155552671.0, "RU") == "+14155552671"  # not Russian, but American with its + restored
    assert to_phone("12", "RU") == "12"  # validation says what is wrong with it


def test_numbers_dates_and_booleans_in_common_formats() -> None:
    assert to_decimal("1 200,50") == "1200.50"
    assert to_decimal("1,200.50") == "1200.50"
    assert to_decimal("1.200,50 ₽") == "1200.50"
    assert to_decimal(99.5) == "99.5"
    assert to_integer("1 200") == 1200
    assert to_integer(7.0) == 7
    with pytest.raises(BadValue, match="not a whole number"):
        to_integer("1,5")
    assert to_date("01.03.2026") == "2026-03-01"
    assert to_date("2026-03-01") == "2026-03-01"
    assert to_date(46082) == "2026-03-01"  # an Excel serial day number
    assert to_date(date(2026, 3, 1)) == "2026-03-01"
    with pytest.raises(BadValue, match="is not a date"):
        to_date("31.02.2026")
    assert to_datetime("01.03.2026 10:30", "Europe/Moscow") == "2026-03-01T07:30:00+00:00"
    assert to_boolean("Да") is True
    assert to_boolean("no") is False
    assert to_boolean(1) is True
    with pytest.raises(BadValue):
        to_boolean("maybe")


class _NoDatabase:
    def record_entity(self, record_id: int) -> str | None:
        return "Organization" if record_id == 5 else None

    def ids_by_title(self, entity: str, title: str) -> list[int]:
        return {"Acme": [5], "Twins": [6, 7]}.get(title, [])

    def user_active(self, username: str) -> bool:
        return username == "sam"


def test_enums_by_code_or_label_references_by_id_or_title(bundle: Bundle) -> None:
    contact = bundle.entities["Contact"]
    convert = Converter(bundle, contact, _NoDatabase())
    assert convert.value(contact.fields["role"], "лицо, принимающее решение") == "decision_maker"
    assert convert.value(contact.fields["role"], "Influencer") == "influencer"
    assert convert.value(contact.fields["tags"], "VIP; опт, vip") == ["vip", "wholesale"]
    with pytest.raises(BadValue, match="'gold' is not a value of tag"):
        convert.value(contact.fields["tags"], "vip, gold")
    assert convert.value(contact.fields["organization"], "5") == 5
    assert convert.value(contact.fields["organization"], "Acme") == 5
    with pytest.raises(BadValue, match="2 Organization records are titled 'Twins'"):
        convert.value(contact.fields["organization"], "Twins")
    with pytest.raises(BadValue, match="no Organization record with id or title 'Nobody'"):
        convert.value(contact.fields["organization"], "Nobody")


def test_imports_yaml_problems_name_file_and_line(tmp_path: Path) -> None:
    files = read_bundle_dir(ROOT)
    files["crm_model/imports.yaml"] = (
        "entities:\n"
        "  Contact:\n"
        "    match_on: [email, notes]\n"
        "    on_match: replace\n"
        "    aliases: {nope: [x]}\n"
        "    actions:\n"
        "      - start_process: no_such_process\n"
        "  Ghost: {}\n")
    with pytest.raises(ConfigError) as caught:
        load_bundle(files)
    found = {(p.file, p.line, p.message.split(";")[0].split(",")[0]) for p in caught.value.problems}
    assert ("crm_model/imports.yaml", 3, "match_on: 'notes' must be a field of type string") in found
    assert ("crm_model/imports.yaml", 4, "on_match must be one of update_empty") in found
    assert ("crm_model/imports.yaml", 5, "aliases: 'nope' is not a field") in found
    assert ("crm_model/imports.yaml", 7, "start_process: unknown process 'no_such_process' (known: "
            "account_management") in found
    assert ("crm_model/imports.yaml", 8, "unknown entity 'Ghost'") in found


def test_imports_yaml_date_formats_apply_to_date_fields_with_a_usable_format() -> None:
    files = read_bundle_dir(ROOT)
    files["crm_model/imports.yaml"] = (
        "entities:\n"
        "  Contact:\n"
        "    date_formats:\n"
        "      email: '%Y%m%d'\n"
        "      repeat_sale_for: 'yyyymmdd'\n")
    with pytest.raises(ConfigError) as caught:
        load_bundle(files)
    found = {(p.line, p.message) for p in caught.value.problems}
    assert (4, "date_formats: 'email' is not a date or datetime field") in found
    assert (5, "date_formats: repeat_sale_for: 'yyyymmdd' is not a date format like %Y%m%d or %d.%m.%Y") in found
    files["crm_model/imports.yaml"] = "entities:\n  Contact:\n    date_formats: {repeat_sale_for: '%Y%m%d'}\n"
    assert load_bundle(files).imports["Contact"].date_formats == {"repeat_sale_for": "%Y%m%d"}


# Limits and hostile files (tests/bombs.py makes them; nothing big is committed)


@pytest.mark.parametrize("kind", sorted(bombs.CORPUS))
def test_every_bomb_file_is_refused_naming_the_file_and_the_limit_without_memory_growth(kind: str) -> None:
    name, data = bombs.CORPUS[kind]()
    tracemalloc.start()
    try:
        with pytest.raises(ValidationError) as caught:
            read_table(name, data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    (message,) = caught.value.errors["file"]
    assert message.startswith(f"{name}: ")
    assert bombs.EXPECTED[kind] in message
    assert peak < 2 * len(data) + 20 * bombs.MB  # nothing unpacked beyond a chunk: the file and its text at most


def test_zip_bomb_is_refused_from_the_directory_before_any_member_is_unpacked(
        monkeypatch: pytest.MonkeyPatch) -> None:
    name, data = bombs.zip_bomb(1)

    def no_unpacking(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a member was opened")

    monkeypatch.setattr(zipfile.ZipFile, "open", no_unpacking)
    with pytest.raises(ValidationError, match=r"sheet1.xml unpacks to 1024.0 MB, above the limit of 100 MB"):
        read_table(name, data)


def test_member_compressed_beyond_the_ratio_is_refused() -> None:
    members = bombs._members(bombs.workbook([["name"]]))
    members["xl/media/blank.bin"] = bombs._deflate([(b" " * bombs.MB, 50)])
    with pytest.raises(ValidationError, match=r"blank.bin unpacks \d+ times its packed size, above the limit of "
                                              r"100 \(FLOWCRM_IMPORT_MAX_RATIO\)"):
        read_table("ratio.xlsx", bombs._zip(members))


def test_workbook_above_the_total_unpacked_size_is_refused() -> None:
    members = bombs._members(bombs.workbook([["name"]]))
    for index in range(3):
        members[f"xl/media/part{index}.bin"] = os.urandom(bombs.MB - 1)
    with pytest.raises(ValidationError, match=r"unpacks to 3.0 MB, above the limit of 2 MB "
                                              r"\(FLOWCRM_IMPORT_MAX_UNZIPPED_MB\)"):
        read_table("parts.xlsx", bombs._zip(members), limits=ReadLimits(max_unzipped_mb=2))


def test_xlsx_cell_longer_than_the_cell_limit_is_refused_before_the_workbook_is_opened() -> None:
    members = bombs._members(bombs.workbook([["name"], ["Ann"]]))
    members["xl/sharedStrings.xml"] = (
        b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/'
        b'main" count="2" uniqueCount="2"><si><t>name</t></si><si><t>' + b"A" * 200_000 + b"</t></si></sst>")
    with pytest.raises(ValidationError, match=r"member xl/sharedStrings.xml holds a text of more than 32767 "
                                              r"characters, above the limit per cell"):
        read_table("cell.xlsx", bombs._zip(members))


def test_long_texts_outside_the_cells_are_data_not_cells() -> None:
    members = bombs._members(bombs.workbook([["name"], ["Ann"]]))
    members["customXml/item1.xml"] = b"<DataMashup>" + b"QUJD" * 100_000 + b"</DataMashup>"  # Power Query
    assert read_table("query.xlsx", bombs._zip(members)).rows == [(2, ["Ann"])]


def test_xlsx_with_utf16_xml_is_refused_plainly() -> None:
    members = bombs._members(bombs.workbook([["name"], ["Ann"]]))
    members["xl/sharedStrings.xml"] = '<?xml version="1.0" encoding="UTF-16"?><sst/>'.encode("utf-16")
    with pytest.raises(ValidationError, match=r"sharedStrings.xml is XML in UTF-16 or UTF-32"):
        read_table("u16.xlsx", bombs._zip(members))


def test_csv_limits_name_the_row_and_column() -> None:
    limits = ReadLimits(max_rows=2, max_columns=3, max_cell_chars=5, max_line_chars=30)
    read_table("ok.csv", b"a,b,c\n1,2,3\n4,5,6\n", limits=limits)
    with pytest.raises(ValidationError, match=r"more than 2 data rows \(row 4\)"):
        read_table("rows.csv", b"a,b,c\n1,2,3\n4,5,6\n7,8,9\n", limits=limits)
    with pytest.raises(ValidationError, match=r"row 2 has 4 columns, above the limit of 3"):
        read_table("cols.csv", b"a,b,c\n1,2,3,4\n", limits=limits)
    with pytest.raises(ValidationError, match=r"row 3, column 2 has 6 characters, above the limit of 5 per cell"):
        read_table("cell.csv", b"a,b,c\n1,2,3\n4,567890,6\n", limits=limits)
    with pytest.raises(ValidationError, match=r"row 2 has 31 characters, above the limit of 30 per line"):
        read_table("line.csv", b"a,b,c\n" + b"1" * 31 + b"\n", limits=limits)


def test_xlsx_limits_name_the_row_and_column() -> None:
    limits = ReadLimits(max_rows=1, max_columns=2, max_cell_chars=3)
    with pytest.raises(ValidationError, match=r"more than 1 data rows \(row 3\)"):
        read_table("rows.xlsx", xlsx([["a"], ["1"], ["2"]]), limits=limits)
    with pytest.raises(ValidationError, match=r"row 1 has 3 columns, above the limit of 2"):
        read_table("cols.xlsx", xlsx([["a", "b", "c"]]), limits=limits)
    with pytest.raises(ValidationError, match=r"row 2, column 1 has 4 characters"):
        read_table("cell.xlsx", xlsx([["a"], ["abcd"]]), limits=limits)


def test_file_above_the_size_limit_is_refused_before_it_is_loaded(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_bytes(b"a\n" + b"1\n" * bombs.MB)
    with pytest.raises(ValidationError, match=r"big.csv: the file has 2.0 MB, above the limit of 1 MB "
                                              r"\(FLOWCRM_IMPORT_MAX_FILE_MB\)"):
        read_path("big.csv", path, limits=ReadLimits(max_file_mb=1))


@pytest.mark.parametrize(("encoding", "bom"), [("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff"),
                                                ("utf-16-le", b""), ("utf-16-be", b""),
                                                ("utf-32-le", b"\xff\xfe\x00\x00"), ("utf-32-be", b""),
                                                ("utf-32-le", b"")])
def test_utf16_and_utf32_with_or_without_bom_are_read(encoding: str, bom: bytes) -> None:
    data = bom + "name;email\r\nАнна Петрова;anna@example.com\r\n".encode(encoding)
    table = read_table("wide.csv", data)
    assert table.headers == ["name", "email"]
    assert table.rows == [(2, ["Анна Петрова", "anna@example.com"])]


def test_undecodable_bytes_name_the_row_and_byte_offset() -> None:
    data = "a,b\n1,2\nФ,3\n".encode("cp1251")
    with pytest.raises(ValidationError, match=r"x.csv: not utf-8 text: undecodable bytes at row 3, byte offset 8"):
        read_table("x.csv", data, encoding="utf-8")
    lone = b"\xff\xfe" + "a,b\n1,".encode("utf-16-le") + b"\x00\xd8" + "\n".encode("utf-16-le")
    with pytest.raises(ValidationError, match=r"not utf-16 text: undecodable bytes at row 2, byte offset 14 "
                                              r"\(illegal UTF-16 surrogate\)"):
        read_table("s.csv", lone)


def test_nul_bytes_name_the_row() -> None:
    with pytest.raises(ValidationError, match=r"x.csv: a NUL character at row 2, column 2 \(read as utf-8\)"):
        read_table("x.csv", b"a,b\n1\x00,2\n")


def test_only_the_kept_rows_are_held_but_all_are_checked_and_counted() -> None:
    table = read_table("x.csv", b"a\n1\n2\n3\n", keep=1)
    assert (table.rows, table.count) == ([(2, ["1"])], 3)
    with pytest.raises(ValidationError, match="row 4, column 1"):
        read_table("x.csv", b"a\n1\n2\n" + b"3" * 40_000 + b"\n", keep=0)


def test_limits_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWCRM_IMPORT_MAX_ROWS", "7")
    monkeypatch.setenv("FLOWCRM_IMPORT_WORKER_MEMORY_MB", "300")
    assert ReadLimits.from_env().max_rows == 7
    assert WorkerLimits.from_env().memory_mb == 300
    monkeypatch.setenv("FLOWCRM_IMPORT_MAX_ROWS", "many")
    with pytest.raises(ValueError, match="FLOWCRM_IMPORT_MAX_ROWS must be a whole number, not 'many'"):
        ReadLimits.from_env()
