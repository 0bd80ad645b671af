"""Spreadsheet cells (engine/cells.py): formula-leading text is neutralized in CSV and is never a formula in XLSX,
while numbers and dates keep their types; the report exporter uses them."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

import pytest
from openpyxl import Workbook, load_workbook

from engine.cells import FORMULA_START, csv_safe, xlsx_cell
from engine.reports.export import csv_text, xlsx_bytes
from engine.reports.views import Column, ReportInfo, ReportParams, ReportResult

PAYLOAD = "=cmd|' /C calc'!A0"
ATTACKS = [PAYLOAD, "+1+1", "-2+3", "@SUM(A1:A2)", "\t=1+1", "\r=1+1", '=HYPERLINK("http://evil")', "#N/A"]


@pytest.mark.parametrize("start", FORMULA_START)
def test_csv_text_starting_like_a_formula_gets_an_apostrophe(start: str) -> None:
    assert csv_safe(f"{start}1+1") == f"'{start}1+1"


def test_csv_leaves_other_text_and_numbers_alone() -> None:
    assert [csv_safe(v) for v in ("Ivan", "a=b", "", -5, 2.5, None)] == ["Ivan", "a=b", "", -5, 2.5, None]


def cells_of(book_bytes: bytes) -> list[list[tuple[object, str]]]:
    """(value, data type) of every cell of the first sheet, as a spreadsheet program would load them."""
    book = load_workbook(io.BytesIO(book_bytes))
    try:
        return [[(c.value, c.data_type) for c in row] for row in book.worksheets[0].iter_rows()]
    finally:
        book.close()


@pytest.mark.parametrize("write_only", [True, False])
def test_xlsx_text_is_a_string_cell_and_numbers_and_dates_keep_their_types(write_only: bool) -> None:
    book = Workbook(write_only=write_only)
    sheet = book.create_sheet("t") if write_only else book.active
    sheet.append([xlsx_cell(sheet, v) for v in ATTACKS])
    sheet.append(
        [
            xlsx_cell(sheet, 42),
            xlsx_cell(sheet, -1.5),
            xlsx_cell(sheet, date(2026, 4, 30), "yyyy-mm-dd"),
            xlsx_cell(sheet, datetime(2026, 3, 2, 9, 0)),
            xlsx_cell(sheet, "bad\x01char"),
            xlsx_cell(sheet, None),
        ]
    )
    out = io.BytesIO()
    book.save(out)
    texts, typed = cells_of(out.getvalue())
    assert texts == [(v, "s") for v in ATTACKS]
    assert typed[:2] == [(42, "n"), (-1.5, "n")]
    assert [t for _, t in typed[2:4]] == ["d", "d"]
    assert typed[2][0] == datetime(2026, 4, 30)
    assert typed[4] == ("badchar", "s")


def test_report_exports_neutralize_formulas_and_keep_numbers() -> None:
    info = ReportInfo("leads", "table", "Leads", "", False, False, False)
    result = ReportResult(
        info, ReportParams(), (Column("name", "=Name", "text"), Column("n", "Leads", "int")), [[PAYLOAD, 3], ["-7", -7]]
    )
    rows = list(csv.reader(io.StringIO(csv_text(result).removeprefix("\ufeff"))))
    assert rows == [["'=Name", "Leads"], ["'" + PAYLOAD, "3"], ["'-7", "-7"]]
    header, first, second = cells_of(xlsx_bytes(result))
    assert header == [("=Name", "s"), ("Leads", "s")]
    assert first == [(PAYLOAD, "s"), (3, "n")]
    assert second == [("-7", "s"), (-7, "n")]
