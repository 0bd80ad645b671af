"""Running an import job: batches of rows in transactions, progress, the outcome and the rejected rows."""

from __future__ import annotations

import gc
import os
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from engine.config.import_loader import ImportSettings
from engine.config.model import Bundle, Entity
from engine.errors import FlowError, NotFound, ValidationError
from engine.imports.ahead import Ahead, Prepared
from engine.imports.duplicates import ExactDuplicates
from engine.imports.limits import WorkerLimits
from engine.imports.liveness import this_host
from engine.imports.reading import Table, read_path
from engine.imports.rows import OUTCOMES, Importer
from engine.imports.rule_pairs import queue_rule_pairs
from engine.messages import Message
from engine.processes.deployed import active_bundle
from engine.services.records import entity_of
from engine.services.views import Actor
from engine.store.quality_models import ImportJobRow, ImportRejectRow
from engine.store.uow import UnitOfWork

BATCH_SIZE = 2000  # rows per batch (valid_only: per transaction); docs/imports.md, thirteenth pass
WAL_PAGES = 25_000  # SQLite: write-ahead log pages (about 100 MB) between checkpoints while batches commit
ANALYZE_FROM = 1_000  # records an import has created when it first refreshes PostgreSQL's statistics
UowMaker = Callable[[], UnitOfWork]
Clock = Callable[[], datetime]

# (database, job id) -> rows processed so far, while a run of this process is busy: job ids repeat across the
# databases one process may serve. Entries live only while their run does (run_import removes its own).
_LIVE: dict[tuple[str, int], int] = {}
_LIVE_LOCK = threading.Lock()


def live_progress(uow: UnitOfWork, job_id: int) -> int | None:
    """Rows processed so far by a run of this process on the unit's database (None when none runs): fresher than
    the job row while a single-transaction run (all or nothing, dry run) cannot commit its progress."""
    with _LIVE_LOCK:
        return _LIVE.get((uow.database, job_id))


def _set_live(factory: UowMaker, job_id: int, processed: int | None) -> None:
    key = (factory().database, job_id)
    with _LIVE_LOCK:
        if processed is None:
            _LIVE.pop(key, None)
        else:
            _LIVE[key] = processed


def settings_for(bundle: Bundle, entity: str) -> ImportSettings:
    """The entity's import settings (crm_model/imports.yaml), or the defaults."""
    return bundle.imports.get(entity) or ImportSettings(entity)


def field_formats(options: dict[str, Any]) -> dict[str, str]:
    """The job's date formats (`options["date_formats"]`: column -> format) per field its mapping gives."""
    mapping = dict(options.get("mapping") or {})
    return {mapping[column]: str(fmt) for column, fmt in dict(options.get("date_formats") or {}).items()
            if column in mapping}


def load_table(job: ImportJobRow, keep: int | None = None) -> Table:
    """The job's file read with the job's options (only its first `keep` rows kept when given); ValidationError
    naming the file when it cannot be."""
    options = job.options
    return read_path(job.filename, Path(str(options.get("path", ""))), keep=keep, encoding=options.get("encoding"),
                     delimiter=options.get("delimiter"), sheet=options.get("sheet"))


def _batches(rows: Sequence[tuple[int, list[Any]]], size: int) -> list[Sequence[tuple[int, list[Any]]]]:
    return [rows[start:start + size] for start in range(0, len(rows), size)]


class _Statistics:
    """When an import refreshes the statistics of the tables it grows (PostgreSQL; `analyze_grown_tables`): once
    it has created ANALYZE_FROM records, then each time that count doubles — 7 times in a 100,000-row file.
    Autovacuum analyzes a table only after a tenth of its rows changed and its nap ended; an import grows the
    tables from a few rows to 100,000s faster than that, and meanwhile the planner plans each batch's lookups
    for the tables it last saw, empty: the row-hash lookup then read every row key of the entity per batch."""

    def __init__(self) -> None:
        self.next = ANALYZE_FROM

    def refresh(self, uow: UnitOfWork, created: int) -> None:
        """Analyze before the batch's reads when the created records reached the next mark."""
        if created >= self.next:
            uow.imports.analyze_grown_tables()
            self.next = 2 * created


def _rows(importer: Importer, uow: UnitOfWork, table: Table, batch: Sequence[tuple[int, list[Any]]],
          statistics: _Statistics, prepared: Prepared) -> None:
    # what lives across batches (the file, the match index, the row hashes, the key caches) grows with the file;
    # the cycle collector would walk all of it again and again (about a tenth of a 100k import's CPU): moved out
    # of its sight for this run (run_import gives it back); memory is still freed by reference counting
    gc.freeze()
    statistics.refresh(uow, importer.counts.get("created", 0))
    converted = prepared.converted
    hashes = importer.read_batch([data for data, _ in converted], prepared)  # each row's content hash and keys, once
    # the search and match keys of the batch's new records go in one sorted INSERT per table at its end (match
    # keys earlier when the pairs below read them); in one transaction for the whole file, the search keys once
    with uow.keys_together():
        importer.prefetch(uow, [data for data, _ in converted])
        known = uow.imports.row_keys(importer.entity.name, hashes)
        uow.records.by_ids(key.record_id for key in known.values())  # loaded once: the rows below find them here
        importer.process_batch(uow, batch, table.widths, known, converted)  # one query above for earlier row keys
        queue_rule_pairs(uow, importer)  # fuzzy and probabilistic matches of the batch's new records: review pairs


def _open_writes(uow: UnitOfWork, job_id: int, processed: int) -> None:
    """Write first, then take row savepoints: SQLite's driver opens its transaction at the first write, and a
    savepoint taken before it would commit on release. Not elsewhere: that write would lock the job's row for the
    whole batch, and the heartbeat's UPDATE of the row (its own short transaction) would wait behind it."""
    if not uow.imports.side_writes_allowed():
        uow.imports.set_progress(job_id, processed)


def _store_rejects(uow: UnitOfWork, job_id: int, importer: Importer, start: int) -> None:
    for reject in importer.rejects[start:]:
        uow.imports.add(ImportRejectRow(job_id=job_id, row_number=reject.row_number, values=reject.values,
                                        errors=reject.errors))


def _finish(job: ImportJobRow, status: str, counts: dict[str, int], processed: int, message: str | None,
            now: datetime) -> None:
    job.status, job.counts, job.processed_rows, job.message, job.finished_at = status, counts, processed, \
        message, now


def _single_transaction(factory: UowMaker, job_id: int, importer: Importer, table: Table, clock: Clock,
                        batch_size: int) -> None:
    """All or nothing, and dry runs: every row in one transaction, committed only when nothing was rejected."""
    job_row = None
    processed = 0
    uow = factory()
    with uow:
        side_writes = uow.imports.side_writes_allowed()
        if not side_writes:  # elsewhere the job row stays unlocked for the progress written beside this transaction
            _open_writes(uow, job_id, 0)
        importer.load_index(uow)
        statistics = _Statistics()
        batches = _batches(table.rows, batch_size)
        # the whole file's search keys in one sorted INSERT (nothing reads them here)
        with uow.keys_together(), Ahead(importer, batches) as ahead:
            for n, batch in enumerate(batches):
                _rows(importer, uow, table, batch, statistics, ahead.take(n, uow))
                processed += len(batch)
                _set_live(factory, job_id, processed)
                if side_writes:  # other processes see the progress too; SQLite would wait for this transaction
                    with factory() as side:
                        side.imports.set_progress(job_id, processed)
                        side.commit()
        job_row = uow.imports.job(job_id)
        if job_row is None:
            raise NotFound(f"import {job_id} not found")
        rejected = importer.counts["rejected"]
        if not job_row.dry_run and not rejected:
            _finish(job_row, "done", dict(importer.counts), processed, None, clock())
            uow.commit()
            return
    with uow:  # rolled back: the report and the rejected rows are kept in a transaction of their own
        job = uow.imports.job(job_id)
        assert job is not None  # noqa: S101 - it was there a moment ago and jobs are never deleted
        if job.dry_run:
            _finish(job, "done", dict(importer.counts), processed, Message("runtime.import_dry_run"), clock())
        else:
            counts = {**dict.fromkeys(OUTCOMES, 0), "rejected": rejected}
            _finish(job, "rejected", counts, processed, Message("runtime.import_rejected", count=rejected), clock())
        _store_rejects(uow, job_id, importer, 0)
        uow.commit()


def _in_batches(factory: UowMaker, job_id: int, importer: Importer, table: Table, clock: Clock,
                batch_size: int, done: int) -> None:
    """Valid rows only: each batch of rows commits with its rejects and the job's progress (and a sign of life);
    the first `done` rows were committed by an earlier run that died (a resumed job)."""
    with factory() as uow:
        importer.load_index(uow)
    processed, statistics = done, _Statistics()
    batches = _batches(table.rows[done:], batch_size)
    with Ahead(importer, batches) as ahead:
        for n, batch in enumerate(batches):
            before = len(importer.rejects)
            uow = factory()
            with uow:
                if processed > done:  # from the second batch on (a one-batch import commits once), on this batch's
                    uow.imports.spread_checkpoints(WAL_PAGES)  # connection (a pool may hand out another)
                _open_writes(uow, job_id, processed)
                _rows(importer, uow, table, batch, statistics, ahead.take(n, uow))
                _store_rejects(uow, job_id, importer, before)
                processed += len(batch)
                job = uow.imports.job(job_id)
                if job is None:
                    raise NotFound(f"import {job_id} not found")
                job.processed_rows, job.counts, job.heartbeat_at = processed, dict(importer.counts), clock()
                uow.commit()
            _set_live(factory, job_id, processed)
    with factory() as uow:
        uow.imports.spread_checkpoints(None)  # this commit checkpoints the log the batches left
        job = uow.imports.job(job_id)
        assert job is not None  # noqa: S101 - jobs are never deleted
        rejected = importer.counts["rejected"]
        _finish(job, "done", dict(importer.counts), processed,
                f"{rejected} row(s) rejected, the others were imported" if rejected else None, clock())
        uow.commit()


def _start(factory: UowMaker, job_id: int, clock: Clock, resume: bool) -> tuple[ImportJobRow, Actor, Bundle, Entity,
                                                                              int]:
    """Claim the job for this process; a resumed job (failed, valid rows only) keeps what its dead run
    committed: (job, actor, bundle, entity, rows already done)."""
    from engine.services.users import get_actor

    uow = factory()
    with uow:
        job = uow.imports.job(job_id)
        if job is None:
            raise NotFound(f"import {job_id} not found")
        user = uow.users.by_username(job.created_by)
        if user is None:
            raise NotFound(f"user {job.created_by!r} of import {job_id} not found")
        resume = resume and job.status == "failed" and job.mode == "valid_only" and not job.dry_run
        if not uow.imports.claim_run(job_id):
            raise ValidationError({"": [f"import {job_id} is running or has already run ({job.status})"]})
        if not resume:
            uow.imports.clear_rejects(job_id)
            job.processed_rows, job.counts = 0, dict.fromkeys(OUTCOMES, 0)
        job.status, job.message, job.finished_at = "running", None, None
        job.worker_pid, job.worker_host, job.heartbeat_at = os.getpid(), this_host(), clock()
        uow.commit()
    bundle, _ = active_bundle(factory())
    return job, get_actor(factory(), user.id), bundle, entity_of(bundle, job.entity), job.processed_rows


class _Heartbeat:
    """A thread writing the job's heartbeat_at every `every` seconds in short transactions of its own, where the
    database lets another connection write beside a running import (not SQLite: there the worker's pid tells)."""

    def __init__(self, factory: UowMaker, job_id: int, clock: Clock, every: float) -> None:
        self.factory, self.job_id, self.clock, self.every = factory, job_id, clock, every
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._beat, name=f"import-{job_id}-heartbeat", daemon=True)

    def _beat(self) -> None:
        while not self.stop.wait(self.every):
            with self.factory() as uow:
                if not uow.imports.side_writes_allowed():
                    return
                uow.imports.beat(self.job_id, self.clock())
                uow.commit()

    def __enter__(self) -> _Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


def run_import(factory: UowMaker, job_id: int, clock: Clock, *, batch_size: int = BATCH_SIZE,
               resume: bool = False, heartbeat_seconds: float | None = None, bulk: bool = True) -> None:
    """Run a prepared import job to its end (the caller's thread): status, counts and rejects land on the job.

    `factory` makes a unit of work per transaction (valid_only: one per batch of `batch_size` rows; all or
    nothing and dry runs: one for the whole file). An unreadable file or a broken mapping fails the job with
    the reason in its message. `resume` continues a failed valid_only job after the rows its dead run
    committed; otherwise every row runs again (rows imported before are skipped by their content hash).
    `bulk=False` writes every row alone (the path the batch path is checked against)."""
    job, actor, bundle, entity, done = _start(factory, job_id, clock, resume)
    _set_live(factory, job_id, done)
    beat_every = heartbeat_seconds or WorkerLimits.from_env().stale_seconds / 4
    try:
        table = load_table(job)
        with factory() as uow:
            uow.imports.set_progress(job_id, done)
            found = uow.imports.job(job_id)
            if found is not None:
                found.total_rows = len(table.rows)
            uow.commit()
        importer = Importer(bundle, entity, settings_for(bundle, entity.name), table.headers,
                            dict(job.options.get("mapping") or {}), actor, job_id, clock(),
                            finder=ExactDuplicates(bundle, entity), bulk=bulk,
                            on_match=job.options.get("on_match"), date_formats=field_formats(job.options))
        importer.counts.update(job.counts if done else {})
        with _Heartbeat(factory, job_id, clock, beat_every):
            if job.dry_run or job.mode == "all_or_nothing":
                _single_transaction(factory, job_id, importer, table, clock, batch_size)
            else:
                _in_batches(factory, job_id, importer, table, clock, batch_size, done)
    except FlowError as exc:
        fail_job(factory, job_id, str(exc), clock())
    except Exception as exc:
        fail_job(factory, job_id, Message("runtime.import_stopped", detail=f"{type(exc).__name__}: {exc}"), clock())
        raise
    finally:
        gc.unfreeze()
        _set_live(factory, job_id, None)


def fail_job(factory: UowMaker, job_id: int, message: str, now: datetime) -> None:
    """Mark a job failed with the reason (in a transaction of its own)."""
    with factory() as uow:
        job = uow.imports.job(job_id)
        if job is not None:
            job.status, job.message, job.finished_at = "failed", message[:2000], now
            uow.commit()
