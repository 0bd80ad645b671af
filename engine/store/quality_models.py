"""Rows of data quality (match keys, duplicate pairs, merges, imports) and of saved filters (segments)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.models import Base, JsonType, UtcDateTime


class MatchKeyRow(Base):
    """A derived, normalized key of a record (E.164 phone, lower-case e-mail, folded name, blocking key):
    exact matches and fuzzy-match blocks are index lookups on (entity, key, value)."""

    __tablename__ = "match_key"
    __table_args__ = (Index("ix_match_key_lookup", "entity", "key", "value"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("record.id"), index=True)
    entity: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(100))  # rule key name, e.g. phone, email, block_name
    value: Mapped[str] = mapped_column(String(300))


class DuplicatePairRow(Base):
    """Two records that may be one client (record_a_id < record_b_id), why, and what a reviewer decided."""

    __tablename__ = "duplicate_pair"
    __table_args__ = (
        UniqueConstraint("record_a_id", "record_b_id", name="uq_duplicate_pair"),
        Index("ix_duplicate_pair_queue", "entity", "status", "score"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity: Mapped[str] = mapped_column(String(100))
    record_a_id: Mapped[int] = mapped_column(ForeignKey("record.id"))
    record_b_id: Mapped[int] = mapped_column(ForeignKey("record.id"), index=True)
    score: Mapped[float] = mapped_column(Float)  # 0..100
    rule: Mapped[str] = mapped_column(String(100))  # the match rule that found it
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JsonType)  # [{field, how, a, b, score}]
    status: Mapped[str] = mapped_column(String(20))  # open | merged | dismissed | related
    found_by: Mapped[str] = mapped_column(String(20))  # create | import | scan | update
    found_at: Mapped[datetime] = mapped_column(UtcDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(80))


class MatchModelRow(Base):
    """The learned Fellegi-Sunter model of one probabilistic duplicate rule of an entity: prior, m and u per
    comparison level (engine/quality/fellegi_sunter.py), when it was trained and on how many pairs/labels."""

    __tablename__ = "match_model"
    __table_args__ = (UniqueConstraint("entity", "rule", name="uq_match_model"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity: Mapped[str] = mapped_column(String(100))
    rule: Mapped[str] = mapped_column(String(100))
    params: Mapped[dict[str, Any]] = mapped_column(JsonType)  # {prior, m, u, pairs, labels, iterations}
    trained_at: Mapped[datetime] = mapped_column(UtcDateTime())


class MergeLogRow(Base):
    """One merge: what survived, what moved, and enough to undo it. Append only (undo sets undone_at)."""

    __tablename__ = "merge_log"
    __table_args__ = (Index("ix_merge_log_at", "at", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity: Mapped[str] = mapped_column(String(100))
    survivor_id: Mapped[int] = mapped_column(ForeignKey("record.id"), index=True)
    merged_id: Mapped[int] = mapped_column(ForeignKey("record.id"), index=True)
    pair_id: Mapped[int | None] = mapped_column(ForeignKey("duplicate_pair.id"))
    choices: Mapped[dict[str, Any]] = mapped_column(JsonType)  # field → "survivor" | "merged"
    undo: Mapped[dict[str, Any]] = mapped_column(JsonType)  # survivor's old values, moved rows by table
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    by: Mapped[str] = mapped_column(String(80))
    undone_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    undone_by: Mapped[str | None] = mapped_column(String(80))


class MappingProfileRow(Base):
    """A named column mapping for imports of an entity: file column → field, with options."""

    __tablename__ = "mapping_profile"
    __table_args__ = (UniqueConstraint("entity", "name", name="uq_mapping_profile"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    mapping: Mapped[dict[str, Any]] = mapped_column(JsonType)
    created_by: Mapped[str] = mapped_column(String(80))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ImportJobRow(Base):
    """One import of one file: its options, progress and outcome counts."""

    __tablename__ = "import_job"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity: Mapped[str] = mapped_column(String(100))
    filename: Mapped[str] = mapped_column(String(500))
    file_hash: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(20))  # pending | running | done | failed | rejected
    dry_run: Mapped[bool] = mapped_column(default=False)
    mode: Mapped[str] = mapped_column(String(20))  # all_or_nothing | valid_only
    options: Mapped[dict[str, Any]] = mapped_column(JsonType)  # mapping, encoding, delimiter, sheet, actions
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    processed_rows: Mapped[int] = mapped_column(Integer, default=0)
    counts: Mapped[dict[str, int]] = mapped_column(JsonType)  # created, updated, merged, skipped, rejected
    message: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    worker_pid: Mapped[int | None] = mapped_column(Integer)  # the process running the job, while it runs
    worker_host: Mapped[str | None] = mapped_column(String(255))
    heartbeat_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # its last sign of life


class ImportRejectRow(Base):
    """A row an import refused: its number in the file, its values, and the reasons per column."""

    __tablename__ = "import_reject"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("import_job.id"), index=True)
    row_number: Mapped[int] = mapped_column(Integer)
    values: Mapped[dict[str, Any]] = mapped_column(JsonType)
    errors: Mapped[list[dict[str, str]]] = mapped_column(JsonType)  # [{column, reason}]


class ImportRowKeyRow(Base):
    """Which record a file row (by content hash) became: re-importing the same file changes nothing."""

    __tablename__ = "import_row_key"
    __table_args__ = (UniqueConstraint("entity", "row_hash", name="uq_import_row_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity: Mapped[str] = mapped_column(String(100))
    row_hash: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[int] = mapped_column(ForeignKey("record.id"), index=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("import_job.id"))


class SegmentRow(Base):
    """A saved filter (target list, ideal customer profile) over one entity."""

    __tablename__ = "segment"
    __table_args__ = (UniqueConstraint("entity", "name", name="uq_segment"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    filter: Mapped[dict[str, Any]] = mapped_column(JsonType)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
