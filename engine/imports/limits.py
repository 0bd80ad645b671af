"""Limits on import files and on the worker process that imports them; settings from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from typing import Any

MB = 1024 * 1024


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be a whole number, not {raw!r}") from exc
    if value <= 0:
        raise ValueError(f"{name} must be above 0, not {value}")
    return value


def _from_env(cls: type[Any], prefix: str) -> dict[str, int]:
    """Each integer field of a limits dataclass from PREFIX + its upper-case name, else its default."""
    return {f.name: _env_int(f"{prefix}{f.name.upper()}", f.default) for f in fields(cls) if isinstance(f.default, int)}


@dataclass(frozen=True)
class ReadLimits:
    """What a file may hold before reading it is refused (each checked before the data it guards is loaded)."""

    max_file_mb: int = 50  # the uploaded file as stored
    max_rows: int = 1_000_000  # data rows, header excluded
    max_columns: int = 500  # cells in any row
    max_cell_chars: int = 32_767  # Excel's own limit for a cell
    max_line_chars: int = 1_000_000  # a CSV line, checked before it is split into cells
    max_unzipped_mb: int = 200  # XLSX: all members of the zip archive, uncompressed
    max_member_mb: int = 100  # XLSX: one member (a sheet, the shared strings), uncompressed
    max_ratio: int = 100  # XLSX: uncompressed / compressed size of a member above 1 MB
    max_members: int = 10_000  # XLSX: members in the archive

    @classmethod
    def from_env(cls) -> ReadLimits:
        """Defaults overridden by FLOWCRM_IMPORT_MAX_FILE_MB, ..._MAX_ROWS, ... (one per field, upper case)."""
        return cls(**_from_env(cls, "FLOWCRM_IMPORT_"))


@dataclass(frozen=True)
class WorkerLimits:
    """What the process running an import may use: address space (RLIMIT_AS) and CPU time (RLIMIT_CPU)."""

    memory_mb: int = 1024
    cpu_seconds: int = 3600
    stale_seconds: int = 120  # a running job whose worker gave no sign of life for this long has died

    @classmethod
    def from_env(cls) -> WorkerLimits:
        """Defaults overridden by FLOWCRM_IMPORT_WORKER_MEMORY_MB, ..._CPU_SECONDS, ..._STALE_SECONDS."""
        return cls(**_from_env(cls, "FLOWCRM_IMPORT_WORKER_"))
