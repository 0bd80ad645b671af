"""An evaluated report as CSV, XLSX or a plain-text table (for downloads and the command line)."""

from __future__ import annotations

import csv
import io

from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.styles import Font  # type: ignore[import-untyped]

from engine.cells import csv_safe, xlsx_cell
from engine.reports.views import ReportResult


def csv_text(result: ReportResult) -> str:
    """The report as CSV with a header row of column labels (UTF-8 BOM so spreadsheets read Cyrillic)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([csv_safe(column.label) for column in result.columns])
    for row in result.rows:
        writer.writerow(["" if value is None else csv_safe(value) for value in row])
    return "\ufeff" + out.getvalue()


def xlsx_bytes(result: ReportResult) -> bytes:
    """The report as an XLSX workbook: one sheet, a bold header row, numbers as numbers."""
    book = Workbook()
    sheet = book.active
    if sheet is None:
        sheet = book.create_sheet()
    sheet.title = result.info.name[:31]
    sheet.append([xlsx_cell(sheet, column.label) for column in result.columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in result.rows:
        sheet.append([xlsx_cell(sheet, value) for value in row])
    for index, column in enumerate(result.columns, start=1):
        letter = sheet.cell(row=1, column=index).column_letter
        sheet.column_dimensions[letter].width = max(12, min(40, len(column.label) + 2))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def table_text(result: ReportResult) -> str:
    """The report as an aligned plain-text table."""
    cells = [[c.label for c in result.columns]]
    cells += [["" if v is None else str(v) for v in row] for row in result.rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(result.columns))]
    numeric = [c.format not in ("text", "login") for c in result.columns]
    lines = []
    for number, row in enumerate(cells):
        parts = [v.rjust(w) if numeric[i] and number else v.ljust(w) for i, (v, w) in enumerate(zip(row, widths,
                                                                                                      strict=True))]
        lines.append("  ".join(parts).rstrip())
        if number == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines) + "\n"
