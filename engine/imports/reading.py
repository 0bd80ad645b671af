"""Read a CSV (any delimiter and common encoding) or XLSX file into a header and numbered rows."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import ParseError

from engine.errors import ValidationError
from engine.imports.limits import MB, ReadLimits
from engine.imports.xlsx_guard import check_workbook, refuse

DELIMITERS = (",", ";", "\t", "|")
ENCODINGS = ("utf-8", "utf-8-sig", "cp1251")
_SNIFF_BYTES = 64 * 1024
_XLSX_SUFFIXES = (".xlsx", ".xlsm")
_ZIP_MAGIC = b"PK\x03\x04"
_BOMS = ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"), (b"\xef\xbb\xbf", "utf-8-sig"),
         (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))


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
    count: int = 0  # data rows in the file (`rows` may keep only the first of them)


def file_error(filename: str, reason: str) -> ValidationError:
    """The error of an unreadable file, naming it."""
    return refuse(filename, reason)


def is_xlsx(filename: str, data: bytes) -> bool:
    """True for an Excel workbook (by name, or a zip archive's signature)."""
    return filename.lower().endswith(_XLSX_SUFFIXES) or data.startswith(_ZIP_MAGIC)


def read_path(filename: str, path: Path, *, limits: ReadLimits | None = None, keep: int | None = None,
              **options: str | None) -> Table:
    """read_table over a stored file, its size checked before it is loaded."""
    limits = limits or ReadLimits.from_env()
    try:
        size = path.stat().st_size
        if size > limits.max_file_mb * MB:
            raise refuse(filename, f"the file has {size / MB:.1f} MB, above the limit of {limits.max_file_mb} MB "
                                   "(FLOWCRM_IMPORT_MAX_FILE_MB)")
        data = path.read_bytes()
    except OSError as exc:
        raise refuse(filename, f"cannot be read ({exc.strerror or exc})") from exc
    return read_table(filename, data, limits=limits, keep=keep, **options)


def read_table(filename: str, data: bytes, *, encoding: str | None = None, delimiter: str | None = None,
               sheet: str | None = None, limits: ReadLimits | None = None, keep: int | None = None) -> Table:
    """The header and rows of a CSV or XLSX file (every row is checked and counted, the first `keep` kept when
    given); ValidationError naming the file (and the row, column or limit concerned) when it cannot be read or
    breaks a limit."""
    limits = limits or ReadLimits.from_env()
    if len(data) > limits.max_file_mb * MB:
        raise refuse(filename, f"the file has {len(data) / MB:.1f} MB, above the limit of {limits.max_file_mb} MB "
                               "(FLOWCRM_IMPORT_MAX_FILE_MB)")
    if not data.strip():
        raise file_error(filename, "the file is empty")
    if is_xlsx(filename, data):
        return _read_xlsx(filename, data, sheet, limits, keep)
    if sheet:
        raise file_error(filename, "--sheet applies to XLSX files only")
    return _read_csv(filename, data, encoding, delimiter, limits, keep)


def _zero_share(sample: bytes, offset: int, step: int) -> float:
    picked = sample[offset::step]
    return picked.count(0) / max(len(picked), 1)


def _bomless_wide(sample: bytes) -> str | None:
    """utf-32-le/-be or utf-16-le/-be when NUL bytes sit where those encodings put them for mostly-ASCII text."""
    if len(sample) >= 8 and _zero_share(sample, 3, 4) == 1 and _zero_share(sample, 2, 4) == 1:
        return "utf-32-le"
    if len(sample) >= 8 and _zero_share(sample, 0, 4) == 1 and _zero_share(sample, 1, 4) == 1:
        return "utf-32-be"
    even, odd = _zero_share(sample, 0, 2), _zero_share(sample, 1, 2)
    if odd > 0.3 and even == 0:
        return "utf-16-le"
    if even > 0.3 and odd == 0:
        return "utf-16-be"
    return None


def detect_encoding(data: bytes) -> str:
    """By BOM (UTF-32, UTF-16, UTF-8), then UTF-16/32 without BOM by where its NUL bytes are, then utf-8 when
    the bytes are valid UTF-8, else cp1251."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name
    sample = data[:_SNIFF_BYTES - _SNIFF_BYTES % 4]
    wide = _bomless_wide(sample) if b"\x00" in sample else None
    if wide:
        return wide
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "cp1251"
    return "utf-8"


def _row_at(data: bytes, offset: int, encoding: str) -> int:
    return data[:offset].decode(encoding, errors="replace").count("\n") + 1


def _decode(filename: str, data: bytes, encoding: str | None) -> tuple[str, str]:
    chosen = encoding or detect_encoding(data)
    try:
        text = data.decode(chosen)
    except LookupError as exc:
        raise file_error(filename, f"unknown encoding {chosen!r}") from exc
    except UnicodeDecodeError as exc:
        raise file_error(filename, f"not {chosen} text: undecodable bytes at row {_row_at(data, exc.start, chosen)}, "
                                   f"byte offset {exc.start} ({exc.reason}); give the file's encoding") from exc
    nul = text.find("\x00")
    if nul != -1:
        row = text.count("\n", 0, nul) + 1
        raise file_error(filename, f"a NUL character at row {row}, column {nul - text.rfind(chr(10), 0, nul)} "
                                   f"(read as {chosen}): not a text file, or UTF-16/UTF-32 that needs --encoding")
    if chosen.startswith(("utf-16", "utf-32")):
        text = text.lstrip("\ufeff")
    return text, chosen


def _check_lines(filename: str, text: str, limits: ReadLimits) -> None:
    """Refuse the first line longer than the limit, before the csv module splits it into cells."""
    if len(text) <= limits.max_line_chars:
        return
    start, row = 0, 1
    while True:
        end = text.find("\n", start)
        stop = len(text) if end == -1 else end
        if stop - start > limits.max_line_chars:
            raise file_error(filename, f"row {row} has {stop - start} characters, above the limit of "
                                       f"{limits.max_line_chars} per line (FLOWCRM_IMPORT_MAX_LINE_CHARS)")
        if end == -1:
            return
        start, row = end + 1, row + 1


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


def _checked(filename: str, raw_rows: Iterable[Sequence[Any]], limits: ReadLimits) -> Iterator[Sequence[Any]]:
    """The rows, each refused when it has more cells than the column limit or a cell longer than the cell limit,
    and the file refused past the row limit (the header row counts as row 1)."""
    count = 0
    for number, values in enumerate(raw_rows, start=1):
        if len(values) > limits.max_columns and not _blank(values[limits.max_columns:]):
            raise file_error(filename, f"row {number} has {len(values)} columns, above the limit of "
                                       f"{limits.max_columns} (FLOWCRM_IMPORT_MAX_COLUMNS)")
        for column, value in enumerate(values, start=1):
            if isinstance(value, str) and len(value) > limits.max_cell_chars:
                raise file_error(filename, f"row {number}, column {column} has {len(value)} characters, above the "
                                           f"limit of {limits.max_cell_chars} per cell (FLOWCRM_IMPORT_MAX_CELL_CHARS)")
        if not _blank(values):
            count += 1
            if count > limits.max_rows + 1:
                raise file_error(filename, f"more than {limits.max_rows} data rows (row {number}), above the limit "
                                           "(FLOWCRM_IMPORT_MAX_ROWS)")
        yield values[:limits.max_columns]


def _table(filename: str, raw_rows: Iterable[Sequence[Any]], table: Table, limits: ReadLimits,
           keep: int | None) -> Table:
    rows = enumerate(_checked(filename, raw_rows, limits), start=1)
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
        table.count += 1
        if keep is not None and len(table.rows) >= keep:
            continue
        if len(cells) > width and not _blank(cells[width:]):
            table.widths[number] = len(_trim_header(cells))
        cells = (cells + [None] * width)[:width]
        table.rows.append((number, cells))
    return table


def _read_csv(filename: str, data: bytes, encoding: str | None, delimiter: str | None, limits: ReadLimits,
              keep: int | None) -> Table:
    text, used = _decode(filename, data, encoding)
    _check_lines(filename, text, limits)
    if delimiter is not None:
        delimiter = {"\\t": "\t", "tab": "\t", "TAB": "\t"}.get(delimiter, delimiter)
        if len(delimiter) != 1:
            raise file_error(filename, f"the delimiter must be one character, not {delimiter!r}")
    chosen = delimiter or detect_delimiter(text.lstrip("\ufeff"))
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=chosen)
    try:
        return _table(filename, reader, Table([], kind="csv", encoding=used, delimiter=chosen), limits, keep)
    except csv.Error as exc:
        raise file_error(filename, f"not readable as CSV at row {reader.line_num}: {exc}") from exc


def _read_xlsx(filename: str, data: bytes, sheet: str | None, limits: ReadLimits, keep: int | None) -> Table:
    from openpyxl import load_workbook  # type: ignore[import-untyped]
    from openpyxl.utils.exceptions import InvalidFileException  # type: ignore[import-untyped]

    check_workbook(filename, data, limits)
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise file_error(filename, f"not a readable XLSX workbook ({exc})") from exc
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise file_error(filename, f"no sheet {sheet!r}; sheets: {', '.join(book.sheetnames)}")
        ws = book[sheet] if sheet is not None else book.worksheets[0]
        ws.reset_dimensions()  # a forged <dimension ref="A1:XFD1048576"> would pad every row to 16384 cells
        return _table(filename, ws.iter_rows(values_only=True), Table([], kind="xlsx", sheet=ws.title), limits,
                      keep)
    except (ParseError, zipfile.BadZipFile, KeyError, ValueError, TypeError) as exc:
        raise file_error(filename, f"not a readable XLSX workbook ({type(exc).__name__}: {exc})") from exc
    finally:
        book.close()
