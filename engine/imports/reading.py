"""Read a CSV (any delimiter and common encoding) or XLSX file into a header and numbered rows."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.errors import ValidationError

DELIMITERS = (",", ";", "\t", "|")
ENCODINGS = ("utf-8", "utf-8-sig", "cp1251")
_SNIFF_BYTES = 64 * 1024
_XLSX_SUFFIXES = (".xlsx", ".xlsm")
_ZIP_MAGIC = b"PK\x03\x04"


@dataclass
class Table:
    """A file's header and data rows; `rows` holds (row number as the user sees it, values), header = row 1."""

    headers: list[str]
    rows: list[tuple[int, list[Any]]] = field(default_factory=list)
    kind: str = "csv"  # csv | xlsx
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    widths: dict[int, int] = field(default_factory=dict)  # row number -> cell count, where it exceeds the header


def file_error(filename: str, reason: str) -> ValidationError:
    """The error of an unreadable file, naming it."""
    return ValidationError({"file": [f"{filename}: {reason}"]})


def is_xlsx(filename: str, data: bytes) -> bool:
    """True for an Excel workbook (by name, or a zip archive's signature)."""
    return filename.lower().endswith(_XLSX_SUFFIXES) or data.startswith(_ZIP_MAGIC)


def read_table(filename: str, data: bytes, *, encoding: str | None = None, delimiter: str | None = None,
               sheet: str | None = None) -> Table:
    """The header and rows of a CSV or XLSX file; ValidationError naming the file when it cannot be read."""
    if not data.strip():
        raise file_error(filename, "the file is empty")
    if is_xlsx(filename, data):
        return _read_xlsx(filename, data, sheet)
    if sheet:
        raise file_error(filename, "--sheet applies to XLSX files only")
    return _read_csv(filename, data, encoding, delimiter)


def detect_encoding(data: bytes) -> str:
    """utf-8-sig when a BOM is present, utf-8 when the bytes are valid UTF-8, else cp1251."""
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "cp1251"
    return "utf-8"


def _decode(filename: str, data: bytes, encoding: str | None) -> tuple[str, str]:
    chosen = encoding or detect_encoding(data)
    try:
        return data.decode(chosen), chosen
    except LookupError as exc:
        raise file_error(filename, f"unknown encoding {chosen!r}") from exc
    except UnicodeDecodeError as exc:
        raise file_error(filename, f"not {chosen} text (bad byte at {exc.start})") from exc


def detect_delimiter(text: str) -> str:
    """The delimiter of CSV text: csv.Sniffer over a sample, checked against the header line; else the most
    frequent of , ; tab | in the header."""
    sample = text[:_SNIFF_BYTES]
    header = next(iter(sample.splitlines()), "")
    try:
        found = csv.Sniffer().sniff(sample, delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        found = ""
    if found in DELIMITERS and found in header:
        return found
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _unique_headers(cells: Sequence[Any]) -> list[str]:
    headers: list[str] = []
    for index, cell in enumerate(cells, start=1):
        name = str(cell).strip() if cell not in (None, "") else f"column {index}"
        base, n = name, 2
        while name in headers:
            name, n = f"{base} ({n})", n + 1
        headers.append(name)
    return headers


def _blank(values: Sequence[Any]) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in values)


def _trim_header(cells: list[Any]) -> list[Any]:
    while cells and cells[-1] in (None, ""):
        cells.pop()
    return cells


def _table(filename: str, raw_rows: Any, table: Table) -> Table:
    rows = enumerate(raw_rows, start=1)
    header: Sequence[Any] = ()
    for _, header in rows:
        if not _blank(header):
            break
    if _blank(header):
        raise file_error(filename, "no header row: the first row must name the columns")
    table.headers = _unique_headers(_trim_header(list(header)))
    width = len(table.headers)
    for number, values in rows:
        cells = list(values)
        if _blank(cells):
            continue
        if len(cells) > width and not _blank(cells[width:]):
            table.widths[number] = len(_trim_header(cells))
        cells = (cells + [None] * width)[:width]
        table.rows.append((number, cells))
    return table


def _read_csv(filename: str, data: bytes, encoding: str | None, delimiter: str | None) -> Table:
    text, used = _decode(filename, data, encoding)
    if delimiter is not None:
        delimiter = {"\\t": "\t", "tab": "\t", "TAB": "\t"}.get(delimiter, delimiter)
        if len(delimiter) != 1:
            raise file_error(filename, f"the delimiter must be one character, not {delimiter!r}")
    chosen = delimiter or detect_delimiter(text.lstrip("\ufeff"))
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=chosen)
    try:
        return _table(filename, reader, Table([], kind="csv", encoding=used, delimiter=chosen))
    except csv.Error as exc:
        raise file_error(filename, f"not readable as CSV: {exc}") from exc


def _read_xlsx(filename: str, data: bytes, sheet: str | None) -> Table:
    from openpyxl import load_workbook  # type: ignore[import-untyped]
    from openpyxl.utils.exceptions import InvalidFileException  # type: ignore[import-untyped]

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise file_error(filename, f"not a readable XLSX workbook ({exc})") from exc
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise file_error(filename, f"no sheet {sheet!r}; sheets: {', '.join(book.sheetnames)}")
        ws = book[sheet] if sheet is not None else book.worksheets[0]
        return _table(filename, ws.iter_rows(values_only=True), Table([], kind="xlsx", sheet=ws.title))
    finally:
        book.close()
