"""CSV and XLSX downloads of what a filter or a segment finds, streamed batch by batch."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import Any

from flask import Response, request, stream_with_context
from werkzeug.exceptions import NotFound

from engine.services.exports import FORMATS, csv_chunks, export_rows, write_xlsx
from web import now, uow
from web.auth import actor
from web.i18n import get_locale
from web.zones import user_zone

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"  # a Content-Type, not a mimetype: Werkzeug would add a second charset
CHUNK = 64 * 1024
SPOOL = 8 * 1024 * 1024  # an XLSX larger than this goes to a temporary file, not memory


def chosen_columns() -> list[str] | None:
    """?columns=a,b (or repeated ?columns=a&columns=b); None = the default columns."""
    names = [n.strip() for value in request.args.getlist("columns") for n in value.split(",") if n.strip()]
    return names or None


def export_response(fmt: str, data: Any, basename: str) -> Response:
    """A download of the records `data` (a filter) finds for the signed-in actor, as `fmt` (csv or xlsx)."""
    if fmt not in FORMATS:
        raise NotFound(f"no export format {fmt!r}; use {' or '.join(FORMATS)}")
    locale = get_locale()
    columns, batches = export_rows(uow(), actor(), data, now(), columns=chosen_columns(), locale=locale,
                                   zone=request.args.get("tz") or user_zone().key)
    disposition = f'attachment; filename="{basename}.{fmt}"'
    if fmt == "csv":
        delimiter = ";" if request.args.get("sep") == "semicolon" else ","
        body = csv_chunks(columns, batches, locale=locale, delimiter=delimiter)
        return Response(stream_with_context(chunk.encode("utf-8") for chunk in body), content_type=CSV_TYPE,
                        headers={"Content-Disposition": disposition})
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL)  # noqa: SIM115 - closed by the generator below
    try:
        write_xlsx(columns, batches, spool, locale=locale)
    except BaseException:
        spool.close()
        raise
    size = spool.tell()
    spool.seek(0)

    def chunks() -> Iterator[bytes]:
        try:
            while block := spool.read(CHUNK):
                yield block
        finally:
            spool.close()

    return Response(chunks(), mimetype=XLSX_TYPE, headers={"Content-Disposition": disposition,
                                                           "Content-Length": str(size)})
