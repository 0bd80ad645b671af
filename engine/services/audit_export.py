"""The audit log as files: CSV (UTF-8 with a byte order mark, so spreadsheet programs read it right) and XLSX,
both written row by row from the batched log, so an export of millions of entries stays small in memory."""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import Iterable, Iterator
from typing import IO, Any

from openpyxl import Workbook  # type: ignore[import-untyped]

from engine.cells import csv_safe, xlsx_cell
from engine.services.audit import AuditEntry

COLUMNS = ("at", "kind", "actor", "entity", "record_id", "record_title", "instance_id", "subject", "old_value",
           "new_value", "source", "data")
BOM = "\ufeff"
_CHUNK_ROWS = 500


def cell(value: Any) -> str | int | None:
    """A value as one cell: text and numbers as they are, anything structured as JSON."""
    if value is None or isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def export_row(entry: AuditEntry) -> list[str | int | None]:
    """An entry as one row in COLUMNS order."""
    return [entry.at.isoformat(), entry.kind, entry.actor, entry.entity, entry.record_id, entry.record_title,
            entry.instance_id, entry.subject, cell(entry.old_value), cell(entry.new_value), entry.source,
            cell(entry.data)]


def csv_chunks(entries: Iterable[AuditEntry]) -> Iterator[str]:
    """The CSV text in pieces of a few hundred rows: the BOM and the header first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    yield BOM + _drain(buffer)
    pending = 0
    for entry in entries:
        writer.writerow([csv_safe(value) for value in export_row(entry)])
        pending += 1
        if pending >= _CHUNK_ROWS:
            yield _drain(buffer)
            pending = 0
    if pending:
        yield _drain(buffer)


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def write_xlsx(entries: Iterable[AuditEntry], target: IO[bytes]) -> int:
    """Write the entries as an XLSX workbook (write-only mode: rows go out as they come); returns the count."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("audit")
    sheet.append(list(COLUMNS))
    count = 0
    for entry in entries:
        sheet.append([xlsx_cell(sheet, value) for value in export_row(entry)])
        count += 1
    book.save(target)
    return count


def xlsx_chunks(entries: Iterable[AuditEntry], chunk_size: int = 64 * 1024) -> Iterator[bytes]:
    """The XLSX file in pieces: built in a temporary file (a zip is written whole), then read out."""
    with tempfile.TemporaryFile() as spool:
        write_xlsx(entries, spool)
        spool.seek(0)
        while True:
            piece = spool.read(chunk_size)
            if not piece:
                return
            yield piece
