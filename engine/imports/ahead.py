"""The next batch's pure per-row work, done on a thread while the current batch's statements run.

An import's client spends about a third of its wall time waiting for the database (PostgreSQL: the COPYs, the key
groups' reads) while its own per-row Python — reading each cell into a field value, the content hash, the
match_on and exact-rule keys, validation, the duplicate rules' keys of the validated values — waits its turn. That
work depends only on the row's cells and the configuration, never on the database or on earlier rows, so it is
computed for batch n+1 on one helper thread while batch n runs (the driver releases the GIL while it waits), and
handed to the batch as memos that give exactly what computing it then would (engine/imports/rows.py). Nothing on
the thread touches the session, the unit of work or the importer's running state; rows are still decided, written,
rejected and counted in the file's order on the caller's thread. An entity whose mapped columns need the database
to be read (reference and user fields) is prepared in line, as before."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any

from engine.errors import ValidationError
from engine.imports.rule_pairs import rule_keys
from engine.records.schema import validate_record

if TYPE_CHECKING:
    from engine.imports.rows import Importer, Problems
    from engine.quality.matching import Keys
    from engine.store.uow import UnitOfWork

Batch = Sequence[tuple[int, list[Any]]]
_LOOKUP_TYPES = frozenset({"reference", "user"})  # Converter asks the database for these
# seconds a thread holding the GIL keeps it from one that asks (the interpreter's default: 0.005) while the helper
# thread runs: the import's thread asks for it back after every statement, and waited up to the whole default
# interval each time the helper was computing (SQLite, 100k rows: 16 s blocked instead of 1.5 s)
SWITCH_SECONDS = 0.0005


@dataclass
class Prepared:
    """A batch's rows read and their pure facts, by id() of each row's converted values (held here, so no other
    object has that id meanwhile); each memo is checked against a snapshot of the values it was computed from."""

    converted: list[tuple[dict[str, Any], Problems]]
    facts: dict[int, tuple[dict[str, Any], str, list[tuple[str, str]]]] = field(default_factory=dict)
    exact: dict[int, tuple[dict[str, Any], list[tuple[str, str]]]] = field(default_factory=dict)
    # id(values) -> (values, a copy of them, the validated values or the ValidationError) for a new record
    checked: dict[int, tuple[dict[str, Any], dict[str, Any], dict[str, Any] | ValidationError]] = field(
        default_factory=dict)
    # id(validated values) -> (those values, a copy of them, the duplicate rules' keys)
    keyed: dict[int, tuple[dict[str, Any], dict[str, Any], Keys | None]] = field(default_factory=dict)


def prepare(importer: Importer, batch: Batch, uow: UnitOfWork | None = None) -> Prepared:
    """Read a batch's rows and compute what depends on their values alone (no running state; the database only
    through `uow`'s lookups, given in line for rows with reference or user fields)."""
    if uow is not None:
        importer.read_references(uow, [cells for _, cells in batch])  # the records named by id: one query
        converted = [importer.convert(uow, cells) for _, cells in batch]
    else:
        converted = [importer.read_cells(cells) for _, cells in batch]
    prepared = Prepared(converted)
    finder = importer.finder
    for data, problems in prepared.converted:
        prepared.facts[id(data)] = importer.compute_facts(data)
        if finder is not None:
            prepared.exact[id(data)] = (data, finder.compute_keys(data))
        if problems:  # rejected or written alone: validated as before, when it is reached
            continue
        try:
            clean: dict[str, Any] | ValidationError = validate_record(importer.entity, importer.bundle, data)
        except ValidationError as exc:
            clean = exc
        prepared.checked[id(data)] = (data, dict(data), clean)
        if isinstance(clean, dict) and importer.paired:
            prepared.keyed[id(clean)] = (clean, dict(clean), rule_keys(importer, clean))
    return prepared


def readable_alone(importer: Importer) -> bool:
    """Whether the importer's rows can be read without the database (no mapped reference or user field)."""
    return not any(importer.entity.fields[name].type in _LOOKUP_TYPES for name in importer.header_of)


class Ahead:
    """Batch n's Prepared for the caller, batch n+1's computed meanwhile on one thread (`take(n)` in order)."""

    def __init__(self, importer: Importer, batches: Sequence[Batch]) -> None:
        self.importer, self.batches = importer, batches
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="import-ahead") \
            if len(batches) > 1 and readable_alone(importer) else None
        self.next: Future[Prepared] | None = None
        self.interval = sys.getswitchinterval()
        if self.pool is not None:
            sys.setswitchinterval(min(self.interval, SWITCH_SECONDS))

    def take(self, n: int, uow: UnitOfWork) -> Prepared:
        """Batch n's prepared rows (computed here, with `uow`'s lookups, when the thread did not), then batch
        n+1's started."""
        ready, self.next = self.next, None
        prepared = ready.result() if ready is not None else prepare(self.importer, self.batches[n], uow)
        if self.pool is not None and n + 1 < len(self.batches):
            self.next = self.pool.submit(prepare, self.importer, self.batches[n + 1])
        return prepared

    def __enter__(self) -> Ahead:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            sys.setswitchinterval(self.interval)
