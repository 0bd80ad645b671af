"""Hostile import files, generated (nothing big is committed): a zip bomb, a huge cell, XXE, wide encodings,
NUL bytes, too many columns, one enormous line. Each maker returns (file name, bytes)."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

from openpyxl import Workbook

MB = 1024 * 1024


def workbook(rows: list[list[object]]) -> bytes:
    """A small, ordinary XLSX."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _deflate(parts: list[tuple[bytes, int]]) -> tuple[bytes, int, int]:
    """(raw deflate stream, crc32, size) of the parts repeated as given; a repeated part is compressed once:
    after a full flush the compressor starts afresh, so every copy compresses to the same bytes."""
    out, crc, size = io.BytesIO(), 0, 0
    for chunk, times in parts:
        squeezer = zlib.compressobj(9, zlib.DEFLATED, -15)
        block = squeezer.compress(chunk) + squeezer.flush(zlib.Z_FULL_FLUSH)
        for _ in range(times):
            out.write(block)
            crc = zlib.crc32(chunk, crc)
        size += len(chunk) * times
    out.write(zlib.compressobj(9, zlib.DEFLATED, -15).flush(zlib.Z_FINISH))  # an empty final block
    return out.getvalue(), crc, size


def _zip(members: dict[str, bytes | tuple[bytes, int, int]]) -> bytes:
    """A zip archive written by hand, so members can be pre-deflated streams of any declared size (< 4 GB)."""
    out, directory = io.BytesIO(), io.BytesIO()
    for name, content in members.items():
        if isinstance(content, bytes):
            squeezer = zlib.compressobj(9, zlib.DEFLATED, -15)
            content = (squeezer.compress(content) + squeezer.flush(), zlib.crc32(content), len(content))
        stream, crc, size = content
        encoded, offset = name.encode(), out.tell()
        out.write(
            struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, len(stream), size, len(encoded), 0)
            + encoded
            + stream
        )
        directory.write(
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                20,
                20,
                0,
                8,
                0,
                0x21,
                crc,
                len(stream),
                size,
                len(encoded),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
            + encoded
        )
    start, listing = out.tell(), directory.getvalue()
    out.write(listing + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(listing), start, 0))
    return out.getvalue()


def _members(data: bytes) -> dict[str, bytes | tuple[bytes, int, int]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def zip_bomb(gigabytes: int = 3) -> tuple[str, bytes]:
    """An XLSX whose sheet unpacks to `gigabytes` GB of blanks (a few MB packed)."""
    members = _members(workbook([["name"], ["Ann"]]))
    members["xl/worksheets/sheet1.xml"] = _deflate([(b" " * MB, gigabytes * 1024)])
    return "bomb.xlsx", _zip(members)


def huge_cell(megabytes: int = 400) -> tuple[str, bytes]:
    """An XLSX of a few hundred KB whose one shared string holds `megabytes` MB of text."""
    members = _members(workbook([["name"], ["Ann"]]))
    head = (
        b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
        b'2006/main" count="2" uniqueCount="2"><si><t>name</t></si><si><t>'
    )
    members["xl/sharedStrings.xml"] = _deflate([(head, 1), (b"A" * MB, megabytes), (b"</t></si></sst>", 1)])
    return "huge-cell.xlsx", _zip(members)


def xxe() -> tuple[str, bytes]:
    """An XLSX whose shared strings declare an external entity (/etc/passwd) and use it in a cell."""
    members = _members(workbook([["name"], ["Ann"]]))
    members["xl/sharedStrings.xml"] = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE sst [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
        b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="2" uniqueCount="2">'
        b"<si><t>name</t></si><si><t>&xxe;</t></si></sst>"
    )
    return "xxe.xlsx", _zip(members)


def utf16_csv(bom: bool = True) -> tuple[str, bytes]:
    """A UTF-16 (little-endian) CSV, with or without its BOM."""
    text = "name,email\r\nАнна Петрова,anna@example.com\r\n"
    return "utf16.csv", (b"\xff\xfe" if bom else b"") + text.encode("utf-16-le")


def nul_csv() -> tuple[str, bytes]:
    """A UTF-8 CSV with a NUL byte in its third row."""
    return "nul.csv", b"name,email\r\nAnn,ann@example.com\r\nBo\x00b,bob@example.com\r\n"


def wide_csv(columns: int = 5000) -> tuple[str, bytes]:
    """A CSV with more columns than allowed."""
    return "wide.csv", (",".join(f"c{i}" for i in range(columns)) + "\r\n").encode()


def long_line_csv(megabytes: int = 12) -> tuple[str, bytes]:
    """A CSV whose second line is `megabytes` MB long (no newline in it)."""
    return "long-line.csv", b"name,email\r\n" + b"x" * (megabytes * MB) + b",x@example.com\r\n"


CORPUS = {
    "zip bomb": zip_bomb,
    "huge cell": huge_cell,
    "xxe": xxe,
    "nul": nul_csv,
    "too many columns": wide_csv,
    "long line": long_line_csv,
}
EXPECTED = {
    "zip bomb": "FLOWCRM_IMPORT_MAX_MEMBER_MB",
    "huge cell": "FLOWCRM_IMPORT_MAX_MEMBER_MB",
    "xxe": "DOCTYPE/ENTITY",
    "nul": "a NUL character at row 3",
    "too many columns": "FLOWCRM_IMPORT_MAX_COLUMNS",
    "long line": "FLOWCRM_IMPORT_MAX_LINE_CHARS",
}
