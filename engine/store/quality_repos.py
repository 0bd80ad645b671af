"""Repositories of data quality (match keys, duplicate pairs, merges, imports) and of segments.

Each feature extends its own repository here; the unit of work exposes them as uow.quality, uow.imports and
uow.segments."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import String, Table, and_, delete, or_, select, text, update
from sqlalchemy.orm import SessionTransaction

from engine.store.bulk_insert import insert_rows
from engine.store.db import WAL_PAGES_DEFAULT, WAL_PAGES_NOTE
from engine.store.duplicate_repos import DuplicateQueries
from engine.store.models import InstanceRow, ProcessVersionRow, RecordRow
from engine.store.quality_models import (
    DuplicatePairRow,
    ImportJobRow,
    ImportRejectRow,
    ImportRowKeyRow,
    MappingProfileRow,
    MergeLogRow,
    SegmentRow,
)
from engine.store.repo_base import one_of
from engine.store.repositories import _Repository


class QualityRepository(DuplicateQueries):
    """Match keys, duplicate pairs (queries in engine/store/duplicate_repos.py) and merge log."""

    def pair(self, pair_id: int) -> DuplicatePairRow | None:
        """A duplicate pair by id."""
        return self.session.get(DuplicatePairRow, pair_id)

    def merge(self, merge_id: int) -> MergeLogRow | None:
        """A merge log entry by id."""
        return self.session.get(MergeLogRow, merge_id)

GROWN_BY_IMPORT = ("record", "field_change", "match_key", "search_key", "import_row_key", "duplicate_pair",
                   "record_link")


class ImportRepository(_Repository):
    """Import jobs, their rejected rows and row keys, and mapping profiles."""

    def job(self, job_id: int) -> ImportJobRow | None:
        """An import job by id."""
        return self.session.get(ImportJobRow, job_id)

    def profile(self, entity: str, name: str) -> MappingProfileRow | None:
        """A mapping profile by entity and name."""
        return self.session.scalar(select(MappingProfileRow).where(MappingProfileRow.entity == entity,
                                                                   MappingProfileRow.name == name))

    def profiles(self, entity: str | None = None) -> list[MappingProfileRow]:
        """Mapping profiles (of one entity when given), by entity and name."""
        stmt = select(MappingProfileRow).order_by(MappingProfileRow.entity, MappingProfileRow.name)
        if entity is not None:
            stmt = stmt.where(MappingProfileRow.entity == entity)
        return list(self.session.scalars(stmt))

    def delete_profile(self, row: MappingProfileRow) -> None:
        """Remove a mapping profile."""
        self.session.delete(row)

    def jobs(self, created_by: str | None, limit: int) -> list[ImportJobRow]:
        """Import jobs, newest first (only one user's when `created_by` is given)."""
        stmt = select(ImportJobRow).order_by(ImportJobRow.id.desc()).limit(limit)
        if created_by is not None:
            stmt = stmt.where(ImportJobRow.created_by == created_by)
        return list(self.session.scalars(stmt))

    def running_jobs(self) -> list[ImportJobRow]:
        """Jobs marked running (to find those whose process died)."""
        return list(self.session.scalars(select(ImportJobRow).where(ImportJobRow.status == "running")))

    def beat(self, job_id: int, at: datetime) -> None:
        """Record a sign of life of the job's worker (in the caller's short transaction)."""
        self.session.execute(update(ImportJobRow).where(ImportJobRow.id == job_id).values(heartbeat_at=at))

    def set_progress(self, job_id: int, processed_rows: int) -> None:
        """Record how many rows of a job are done (in the caller's short transaction)."""
        self.session.execute(update(ImportJobRow).where(ImportJobRow.id == job_id)
                             .values(processed_rows=processed_rows))

    def rejects(self, job_id: int, limit: int | None = None) -> list[ImportRejectRow]:
        """A job's rejected rows in file order."""
        stmt = select(ImportRejectRow).where(ImportRejectRow.job_id == job_id).order_by(ImportRejectRow.row_number)
        return list(self.session.scalars(stmt.limit(limit) if limit is not None else stmt))

    def clear_rejects(self, job_id: int) -> None:
        """Forget a job's rejected rows (before it runs again)."""
        self.session.execute(delete(ImportRejectRow).where(ImportRejectRow.job_id == job_id))

    def row_keys(self, entity: str, hashes: Iterable[str]) -> dict[str, ImportRowKeyRow]:
        """Row keys of earlier imports by row hash, for the hashes given."""
        wanted = sorted(set(hashes))
        if not wanted:
            return {}
        arrays = self.session.get_bind().dialect.name == "postgresql"  # one array parameter, not one per hash
        stmt = select(ImportRowKeyRow).where(ImportRowKeyRow.entity == entity,
                                             one_of(ImportRowKeyRow.row_hash, "hashes", String, arrays))
        return {row.row_hash: row for row in self.session.scalars(stmt, {"hashes": wanted})}

    def add_row_keys(self, entity: str, job_id: int, keys: Sequence[tuple[str, int]]) -> None:
        """Row keys (row hash, record id) of new rows of an import, in multi-row statements."""
        if keys:
            insert_rows(self.session, cast(Table, ImportRowKeyRow.__table__), [
                {"entity": entity, "row_hash": digest, "record_id": record_id, "job_id": job_id}
                for digest, record_id in keys])

    def record_data(self, entity: str) -> list[tuple[int, dict[str, Any]]]:
        """(id, data) of every record of an entity that was not merged away, in no particular order (not sorted:
        the whole entity is read at once; PostgreSQL and SQLite return it in different orders)."""
        stmt = select(RecordRow.id, RecordRow.data).where(RecordRow.entity == entity,
                                                          RecordRow.merged_into_id.is_(None))
        return [(record_id, data) for record_id, data in self.session.execute(stmt)]

    def ids_by_title(self, entity: str, title: str) -> list[int]:
        """Ids of the records of an entity with this title (records merged away excluded)."""
        stmt = select(RecordRow.id).where(RecordRow.entity == entity, RecordRow.title == title,
                                          RecordRow.merged_into_id.is_(None)).order_by(RecordRow.id).limit(5)
        return list(self.session.scalars(stmt))

    def record_entities(self, record_ids: Iterable[int]) -> dict[int, str]:
        """record_entity of many records in one query: the entity of each that exists and was not merged away."""
        wanted = sorted(set(record_ids))
        if not wanted:
            return {}
        stmt = select(RecordRow.id, RecordRow.entity).where(RecordRow.id.in_(wanted),
                                                            RecordRow.merged_into_id.is_(None))
        return {int(record_id): entity for record_id, entity in self.session.execute(stmt).all()}

    def record_entity(self, record_id: int) -> str | None:
        """The entity of a record, None when it does not exist or was merged away."""
        stmt = select(RecordRow.entity).where(RecordRow.id == record_id, RecordRow.merged_into_id.is_(None))
        return self.session.scalar(stmt)

    def claim_run(self, job_id: int) -> bool:
        """Mark a job running unless it runs already or has run for real (an atomic check, one winner)."""
        runnable = or_(ImportJobRow.status.in_(("pending", "failed", "rejected")),
                       and_(ImportJobRow.status == "done", ImportJobRow.dry_run.is_(True)))
        result = self.session.execute(update(ImportJobRow).where(ImportJobRow.id == job_id, runnable)
                                      .values(status="running").execution_options(synchronize_session=False))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def analyze_grown_tables(self) -> None:
        """PostgreSQL: refresh the planner's statistics of the tables an import grows (ANALYZE reads a sample of
        at most 30,000 rows of each); nothing on SQLite, whose planner keeps no statistics unless asked."""
        if self.session.get_bind().dialect.name == "postgresql":
            self.session.execute(text(f"ANALYZE {', '.join(GROWN_BY_IMPORT)}"))

    def spread_checkpoints(self, pages: int | None) -> None:
        """SQLite: let this connection's write-ahead log grow to `pages` pages before a commit copies it into the
        database file (None: back to SQLite's 1,000). An import's batch dirties pages all over the key indexes;
        at SQLite's default every batch's commit copied them all and synced the file, so a page changed by ten
        batches was written ten times over. The transactions and their durability are the same; nothing on
        PostgreSQL. Sent only when the connection's setting changes (the pool keeps connections, and this note
        on each); a connection goes back to 1,000 when it returns to the pool (engine/store/db.py)."""
        if self.session.get_bind().dialect.name != "sqlite":
            return
        connection = self.session.connection()
        wanted = int(pages or WAL_PAGES_DEFAULT)
        if connection.info.get(WAL_PAGES_NOTE, WAL_PAGES_DEFAULT) != wanted:
            connection.exec_driver_sql(f"PRAGMA wal_autocheckpoint={wanted}")
            connection.info[WAL_PAGES_NOTE] = wanted

    def side_writes_allowed(self) -> bool:
        """Whether another connection may write while this one holds a write transaction (not on SQLite)."""
        return self.session.get_bind().dialect.name != "sqlite"

    def savepoint(self) -> SessionTransaction:
        """A nested transaction: one row's writes can be rolled back without losing the batch."""
        return self.session.begin_nested()


class SegmentRepository(_Repository):
    """Saved filters."""

    def get(self, segment_id: int) -> SegmentRow | None:
        """A segment by id."""
        return self.session.get(SegmentRow, segment_id)

    def by_name(self, entity: str, name: str) -> SegmentRow | None:
        """The segment of an entity with this name."""
        return self.session.scalar(select(SegmentRow).where(SegmentRow.entity == entity, SegmentRow.name == name))

    def named(self, name: str) -> list[SegmentRow]:
        """Segments of any entity with this name, by id."""
        return list(self.session.scalars(select(SegmentRow).where(SegmentRow.name == name).order_by(SegmentRow.id)))

    def all(self, entity: str | None = None) -> list[SegmentRow]:
        """Every segment (of one entity when given), by entity and name."""
        stmt = select(SegmentRow).order_by(SegmentRow.entity, SegmentRow.name, SegmentRow.id)
        if entity is not None:
            stmt = stmt.where(SegmentRow.entity == entity)
        return list(self.session.scalars(stmt))

    def delete(self, row: SegmentRow) -> None:
        """Remove a segment."""
        self.session.delete(row)

    def running_instance_records(self, process_id: str, record_ids: Iterable[int]) -> set[int]:
        """Ids among `record_ids` with a running instance of any version of the process."""
        wanted = sorted(set(record_ids))
        if not wanted:
            return set()
        stmt = (select(InstanceRow.record_id).join(ProcessVersionRow,
                                                   ProcessVersionRow.id == InstanceRow.process_version_id)
                .where(ProcessVersionRow.process_id == process_id, InstanceRow.status == "running",
                       InstanceRow.record_id.in_(wanted)))
        return {r for r in self.session.scalars(stmt) if r is not None}

    def records_in_order(self, ids: Iterable[int]) -> list[RecordRow]:
        """Records by id in ascending id order (one batch of an export)."""
        wanted = sorted(set(ids))
        if not wanted:
            return []
        return list(self.session.scalars(select(RecordRow).where(RecordRow.id.in_(wanted)).order_by(RecordRow.id)))
