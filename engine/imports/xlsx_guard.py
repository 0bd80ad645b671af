"""Checks of an XLSX archive made before openpyxl opens it: the zip directory against size and ratio limits
(a zip bomb is refused from its directory alone), then each XML member streamed in small chunks for DTDs
(no entity is ever resolved), non-UTF-8 XML and texts longer than a cell may be."""

from __future__ import annotations

import io
import zipfile

from engine.errors import ValidationError
from engine.imports.limits import MB, ReadLimits

_CHUNK = 64 * 1024
_RATIO_FLOOR = MB  # members smaller than this may compress as well as they like
_DTD_MARKS = (b"<!DOCTYPE", b"<!ENTITY")
_TAG_SLACK = 1024  # bytes of markup that may sit between two '<' besides a cell's text
_XML_SUFFIXES = (".xml", ".rels", ".vml")
_CELL_MEMBERS = ("xl/sharedStrings.xml", "xl/worksheets/")


def refuse(filename: str, reason: str) -> ValidationError:
    """The error of a file refused by a limit or a check, naming it."""
    return ValidationError({"file": [f"{filename}: {reason}"]})


def _mb(size: int) -> str:
    return f"{size / MB:.1f} MB"


def check_directory(filename: str, archive: zipfile.ZipFile, limits: ReadLimits) -> None:
    """Refuse by the archive's directory alone: member count, per-member and total uncompressed size, ratio."""
    infos = archive.infolist()
    if len(infos) > limits.max_members:
        raise refuse(
            filename,
            f"the archive has {len(infos)} members, above the limit of {limits.max_members} "
            f"(FLOWCRM_IMPORT_MAX_MEMBERS)",
        )
    total = 0
    for info in infos:
        if info.file_size > limits.max_member_mb * MB:
            raise refuse(
                filename,
                f"member {info.filename} unpacks to {_mb(info.file_size)}, above the limit of "
                f"{limits.max_member_mb} MB per member (FLOWCRM_IMPORT_MAX_MEMBER_MB)",
            )
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > _RATIO_FLOOR and ratio > limits.max_ratio:
            raise refuse(
                filename,
                f"member {info.filename} unpacks {ratio:.0f} times its packed size, above the "
                f"limit of {limits.max_ratio} (FLOWCRM_IMPORT_MAX_RATIO): a zip bomb?",
            )
        total += info.file_size
    if total > limits.max_unzipped_mb * MB:
        raise refuse(
            filename,
            f"the workbook unpacks to {_mb(total)}, above the limit of {limits.max_unzipped_mb} "
            f"MB (FLOWCRM_IMPORT_MAX_UNZIPPED_MB)",
        )


def _longest_text(chunk: bytes, run: int) -> tuple[int, int]:
    """(longest stretch without '<' ending or lying in this chunk, stretch still open at its end)."""
    first = chunk.find(b"<")
    if first == -1:
        return run + len(chunk), run + len(chunk)
    last = chunk.rfind(b"<")
    inner = max((len(part) for part in chunk[first + 1 : last].split(b"<")), default=0) if last > first else 0
    return max(run + first, inner), len(chunk) - last - 1


def scan_xml(filename: str, archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: ReadLimits) -> None:
    """Stream one XML member: refuse a DTD (DOCTYPE/ENTITY), UTF-16/32 or NUL bytes, and in the members holding
    cells a text between two tags longer than a cell may be (its bytes, 4 per character at most, plus the markup
    of its tag)."""
    where = f"member {info.filename}"
    holds_cells = info.filename.startswith(_CELL_MEMBERS)  # elsewhere long texts are data (customXml base64, ...)
    longest_allowed = limits.max_cell_chars * 4 + _TAG_SLACK
    tail, run, start = b"", 0, True
    with archive.open(info) as stream:
        while chunk := stream.read(_CHUNK):
            if start and (chunk[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in chunk[:4]):
                raise refuse(filename, f"{where} is XML in UTF-16 or UTF-32: only UTF-8 workbooks are read")
            start = False
            window = tail + chunk
            if b"\x00" in chunk:
                raise refuse(filename, f"{where} holds a NUL byte: not a valid workbook")
            if any(mark in window.upper() for mark in _DTD_MARKS):
                raise refuse(
                    filename,
                    f"{where} declares a DOCTYPE/ENTITY (XML external or nested entities "
                    "are refused, none was resolved)",
                )
            longest, run = _longest_text(chunk, run)
            if holds_cells and longest > longest_allowed:
                raise refuse(
                    filename,
                    f"{where} holds a text of more than {limits.max_cell_chars} characters, "
                    f"above the limit per cell (FLOWCRM_IMPORT_MAX_CELL_CHARS)",
                )
            tail = window[-16:]


def check_workbook(filename: str, data: bytes, limits: ReadLimits) -> None:
    """Every check of this module, before the workbook is opened; ValidationError naming the file and limit."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as exc:
        raise refuse(filename, f"not a readable XLSX workbook ({exc})") from exc
    with archive:
        check_directory(filename, archive, limits)
        try:
            for info in archive.infolist():
                if info.filename.lower().endswith(_XML_SUFFIXES):
                    scan_xml(filename, archive, info, limits)
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
            raise refuse(filename, f"not a readable XLSX workbook ({exc})") from exc
