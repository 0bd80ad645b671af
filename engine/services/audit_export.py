"""The audit log as files: CSV (UTF-8 with a byte order mark, so spreadsheet programs read it right) and XLSX,
both written row by row from the batched log, so an export of millions of entries stays small in memory. Moments
are written in the reader's time zone, with their offset, and the header names the zone; who made a change is
named by display name (`name_of`), the login kept in the last column, `actor_login`, for programs."""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC
from typing import IO, Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook  # type: ignore[import-untyped]

from engine.cells import csv_safe, xlsx_cell
from engine.services.audit import AuditEntry

COLUMNS = ("at", "kind", "actor", "entity", "record_id", "record_title", "instance_id", "subject", "old_value",
           "new_value", "source", "data", "actor_login")
NameOf = Callable[[str], str]  # a login -> the name to show (a display name; the engine's actors in a language)
BOM = "\ufeff"
UTC_ZONE = ZoneInfo("UTC")
_CHUNK_ROWS = 500


def cell(value: Any) -> str | int | None:
    """A value as one cell: text and numbers as they are, anything structured as JSON."""
    if value is None or isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def header(zone: ZoneInfo = UTC_ZONE) -> list[str]:
    """COLUMNS, with the time zone of the `at` column named: `at (Europe/Moscow)`."""
    return [f"at ({zone.key})", *COLUMNS[1:]]


def export_row(entry: AuditEntry, zone: ZoneInfo = UTC_ZONE, name_of: NameOf | None = None) -> list[str | int | None]:
    """An entry as one row in COLUMNS order, its moment in `zone` (ISO 8601 with the offset), its actor by
    `name_of` (else the login) and by login."""
    moment = entry.at if entry.at.tzinfo is not None else entry.at.replace(tzinfo=UTC)
    actor = name_of(entry.actor) if name_of is not None else entry.actor
    return [moment.astimezone(zone).isoformat(), entry.kind, actor, entry.entity, entry.record_id,
            entry.record_title, entry.instance_id, entry.subject, cell(entry.old_value), cell(entry.new_value),
            entry.source, cell(entry.data), entry.actor]


def csv_chunks(entries: Iterable[AuditEntry], zone: ZoneInfo = UTC_ZONE,
               name_of: NameOf | None = None) -> Iterator[str]:
    """The CSV text in pieces of a few hundred rows: the BOM and the header first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header(zone))
    yield BOM + _drain(buffer)
    pending = 0
    for entry in entries:
        writer.writerow([csv_safe(value) for value in export_row(entry, zone, name_of)])
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


def write_xlsx(entries: Iterable[AuditEntry], target: IO[bytes], zone: ZoneInfo = UTC_ZONE,
               name_of: NameOf | None = None) -> int:
    """Write the entries as an XLSX workbook (write-only mode: rows go out as they come); returns the count."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("audit")
    sheet.append(header(zone))
    count = 0
    for entry in entries:
        sheet.append([xlsx_cell(sheet, value) for value in export_row(entry, zone, name_of)])
        count += 1
    book.save(target)
    return count


def xlsx_chunks(entries: Iterable[AuditEntry], chunk_size: int = 64 * 1024,
                zone: ZoneInfo = UTC_ZONE, name_of: NameOf | None = None) -> Iterator[bytes]:
    """The XLSX file in pieces: built in a temporary file (a zip is written whole), then read out."""
    with tempfile.TemporaryFile() as spool:
        write_xlsx(entries, spool, zone, name_of)
        spool.seek(0)
        while True:
            piece = spool.read(chunk_size)
            if not piece:
                return
            yield piece
