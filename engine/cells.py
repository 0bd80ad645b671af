"""Values as spreadsheet cells, for every CSV and XLSX the platform writes (exports, reports, audit, rejects).

A cell a user typed must never run in the spreadsheet of whoever opens the file (OWASP "CSV injection"): in CSV,
text starting with = + - @ tab or carriage return gets a leading apostrophe; in XLSX, text is always a string cell
(never a formula), while numbers stay numbers and dates stay dates."""

from __future__ import annotations

import re
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
XLSX_CELL_LIMIT = 32767  # characters a spreadsheet cell holds
# Characters an XLSX (XML 1.0) cannot carry; openpyxl refuses them, so they are dropped.
_NOT_IN_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def csv_safe(value: Any) -> Any:
    """A value for a CSV cell: text a spreadsheet would read as a formula is prefixed with an apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def xlsx_cell(sheet: Any, value: Any, number_format: str | None = None) -> Any:
    """An openpyxl cell for `sheet` (write-only or not): text as a string cell (data type 's', never a formula),
    cut to the cell limit; anything else keeps its type, with `number_format` when given and not empty."""
    from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped]

    if isinstance(value, str):
        cell = WriteOnlyCell(sheet, value=None)
        cell.value = _NOT_IN_XML.sub("", value)[:XLSX_CELL_LIMIT]
        cell.data_type = "s"  # the value setter makes "=..." a formula and "#N/A" an error: undo that
        return cell
    cell = WriteOnlyCell(sheet, value=value)
    if number_format and value is not None:
        cell.number_format = number_format
    return cell
