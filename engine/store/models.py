"""ORM rows: the engine's tables. Timestamps are UTC and named *_at."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

JsonType = JSON().with_variant(JSONB(), "postgresql")


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where UTC is required")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of every row."""


class JobState:
    """Retry bookkeeping of a background job row (engine/services/jobs.py): failed attempts so far, when the
    next one is due (None: at the row's own due time), the last error, and when it was parked as an incident."""

    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    parked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class UserRow(Base):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(300))
    roles: Mapped[str] = mapped_column(String(300))  # comma-separated role names
    team: Mapped[str | None] = mapped_column(String(80), index=True)
    locale: Mapped[str] = mapped_column(String(8), default="en")
    timezone: Mapped[str | None] = mapped_column(String(64))  # IANA name; NULL: the bundle's default
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ApiTokenRow(Base):
    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class ConfigVersionRow(Base):
    """A deployed configuration bundle, stored whole so a deploy needs no restart."""

    __tablename__ = "config_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    files: Mapped[dict[str, str]] = mapped_column(JsonType)
    deployed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    deployed_by: Mapped[str] = mapped_column(String(80))
    note: Mapped[str | None] = mapped_column(String(300))  # what made it: files, a browser edit, a rollback


class ProcessVersionRow(Base):
    """One version of one BPMN process; running instances stay on theirs."""

    __tablename__ = "process_version"
    __table_args__ = (
        UniqueConstraint("process_id", "version"),  # the same text may come back as a newer version (a rollback)
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_id: Mapped[str] = mapped_column(String(200), index=True)
    name: Mapped[str] = mapped_column(String(300))
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    file: Mapped[str] = mapped_column(String(300))
    bpmn_xml: Mapped[str] = mapped_column(Text)
    spec_json: Mapped[str] = mapped_column(Text)
    entity: Mapped[str | None] = mapped_column(String(100))
    start_on: Mapped[str | None] = mapped_column(String(40))
    config_version_id: Mapped[int] = mapped_column(ForeignKey("config_version.id"))
    deployed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    deployed_by: Mapped[str] = mapped_column(String(80))


class RecordRow(Base):
    """A record of any configured entity; fields live in `data` so a new field needs no migration."""

    __tablename__ = "record"
    __table_args__ = (Index("ix_record_entity_owner", "entity", "owner_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(300))
    data: Mapped[dict[str, Any]] = mapped_column(JsonType)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_by: Mapped[str] = mapped_column(String(80))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revision: Mapped[int] = mapped_column(Integer)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("record.id"), index=True)  # set by a merge

    __mapper_args__ = {"version_id_col": revision}  # noqa: RUF012


@dataclass(frozen=True)
class LinkedRecord:
    """What an aggregate reads of a record linking to another (RecordRepository.referencing_many): its id, fields
    and owner, without an ORM object for the session to hold."""

    id: int
    data: dict[str, Any]
    owner_id: int | None


class FieldChangeRow(Base):
    """Field-level history of a record: append only."""

    __tablename__ = "field_change"
    __table_args__ = (  # the audit log pages newest first by time, optionally per actor or record
        Index("ix_field_change_at", "at", "id"),
        Index("ix_field_change_actor_at", "actor", "at", "id"),
        Index("ix_field_change_record_at", "record_id", "at", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("record.id"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str] = mapped_column(String(80))
    source: Mapped[str] = mapped_column(String(200))
    field: Mapped[str] = mapped_column(String(100))
    old_value: Mapped[Any] = mapped_column(JsonType, nullable=True)
    new_value: Mapped[Any] = mapped_column(JsonType, nullable=True)


class InstanceRow(Base):
    """A running or finished process instance with its serialized SpiffWorkflow state."""

    __tablename__ = "process_instance"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_version_id: Mapped[int] = mapped_column(ForeignKey("process_version.id"), index=True)
    record_id: Mapped[int | None] = mapped_column(ForeignKey("record.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)  # running | completed | error
    state_json: Mapped[str] = mapped_column(Text)
    serializer_version: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    started_by: Mapped[str] = mapped_column(String(80))
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    revision: Mapped[int] = mapped_column(Integer)

    __mapper_args__ = {"version_id_col": revision}  # noqa: RUF012


def _name_indexes(where: str, infix: str) -> tuple[Index, Index]:
    """The task-name sort's two indexes (an assignee's open tasks, every open task) of the tasks `where` holds."""
    return (Index(f"ix_task_assignee_state_{infix}name", "assignee_id", "state", "spec_name", "title", "due_at",
                  "created_at", postgresql_include=["id", "instance_id", "record_title"],
                  sqlite_where=text(where), postgresql_where=text(where)),
            Index(f"ix_task_state_{infix}name", "state", "spec_name", "title", "due_at", "created_at",
                  postgresql_include=["id", "instance_id", "assignee_id", "record_title"],
                  sqlite_where=text(where), postgresql_where=text(where)))


class TaskRow(Base):
    """Denormalized user task, so inbox queries never deserialize a workflow."""

    __tablename__ = "task"
    __table_args__ = (
        # the sorted inbox tabs' range scans (engine/store/inbox_segments.py). On PostgreSQL each also holds the
        # rest of the columns a scan carries and the record-title filter checks (INCLUDE, migration 0022), so the
        # scans read no task row from the table: index-only once vacuumed (SQLite has no INCLUDE)
        Index("ix_task_assignee_state_due", "assignee_id", "state", "due_at", "created_at",
              postgresql_include=["id", "record_title"]),
        Index("ix_task_assignee_state_created", "assignee_id", "state", "created_at",
              postgresql_include=["id", "due_at", "record_title"]),
        Index("ix_task_state_due", "state", "due_at", "created_at",  # the All tab's (migration 0019)
              postgresql_include=["id", "assignee_id", "record_title"]),
        Index("ix_task_state_created", "state", "created_at",
              postgresql_include=["id", "due_at", "assignee_id", "record_title"]),
        # sorted by the record's title (its copy on the task): range scans per assignee and of every open task,
        # and of the tasks without a record by due then creation time (migration 0021)
        Index("ix_task_assignee_state_record", "assignee_id", "state", "record_title", "due_at", "created_at",
              postgresql_include=["id"]),
        Index("ix_task_state_record", "state", "record_title", "due_at", "created_at",
              postgresql_include=["id", "assignee_id"]),
        # sorted by task name: range scans per name group (element id, title, in a process or not) of an assignee's
        # or every open task, by due then creation time (migration 0023; engine/store/inbox_names.py). The tasks of
        # a process and the standalone ones in indexes of their own (partial, migration 0025): a group is a range
        # of one, where in one index of both a group without tasks was every task of its element id checked
        *_name_indexes("instance_id IS NOT NULL", ""),
        *_name_indexes("instance_id IS NULL", "standalone_"),
        # sorted by process: range scans per process version of an assignee's or every open task, by due then
        # creation time (migration 0024; engine/store/inbox_names.py)
        Index("ix_task_assignee_state_process", "assignee_id", "state", "process_version_id", "due_at", "created_at",
              postgresql_include=["id", "record_title"]),
        Index("ix_task_state_process", "state", "process_version_id", "due_at", "created_at",
              postgresql_include=["id", "assignee_id", "record_title"]),
        Index("ix_task_instance_state", "instance_id", "state"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # SpiffWorkflow task UUID, or a new UUID
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))  # None: standalone task
    record_id: Mapped[int | None] = mapped_column(ForeignKey("record.id"), index=True)
    spec_name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(300))
    form_key: Mapped[str | None] = mapped_column(String(200))
    lane: Mapped[str | None] = mapped_column(String(200))
    candidate_groups: Mapped[str] = mapped_column(String(500), default="")
    candidate_users: Mapped[str] = mapped_column(String(500), default="")
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    state: Mapped[str] = mapped_column(String(20))  # open | completed | cancelled
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    completed_by: Mapped[str | None] = mapped_column(String(80))
    # a standalone task's title per locale ({"en": ..., "ru": ...}) when its maker gave more than one language
    title_labels: Mapped[dict[str, str] | None] = mapped_column(JsonType, nullable=True)
    # its record's title, copied so the inbox sorts and filters by it through the task's indexes: kept current in
    # the transaction that changes the title or the task's record (engine/store/task_titles.py)
    record_title: Mapped[str | None] = mapped_column(String(300), nullable=True)
    # its instance's process version (None: a standalone task), copied so the inbox sorts by process through the
    # task's indexes; an instance keeps its version, so the copy is written once, with the task
    process_version_id: Mapped[int | None] = mapped_column(ForeignKey("process_version.id"), nullable=True)


class TaskCandidateRow(Base):
    """Who may claim a pooled task: one row per candidate group or user, indexed for the pool query."""

    __tablename__ = "task_candidate"
    __table_args__ = (Index("ix_task_candidate_pool", "kind", "name", "pooled", "sort_at", "task_id"),
                      Index("ix_task_candidate_overdue", "kind", "name", "pooled", "due_at", "task_id"))

    task_id: Mapped[str] = mapped_column(ForeignKey("task.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)  # group | user
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    pooled: Mapped[bool] = mapped_column(Boolean)  # open and unassigned
    sort_at: Mapped[datetime] = mapped_column(UtcDateTime())  # due date, else creation time
    # the task's due time (None: none): the overdue tab and its count range-scan it, skipping undated tasks
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class InstanceEventRow(Base):
    """Every step an instance takes, who took it and what they submitted: append only."""

    __tablename__ = "instance_event"
    __table_args__ = (
        Index("ix_instance_event_at", "at", "id"),
        Index("ix_instance_event_actor_at", "actor", "at", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(40))
    task_id: Mapped[str | None] = mapped_column(String(36))
    element_id: Mapped[str | None] = mapped_column(String(200))
    element_name: Mapped[str | None] = mapped_column(String(300))
    element_type: Mapped[str | None] = mapped_column(String(100))
    data: Mapped[dict[str, Any] | None] = mapped_column(JsonType, nullable=True)


class TimerRow(JobState, Base):
    """A waiting BPMN timer, indexed by due time so a worker finds due ones without deserializing."""

    __tablename__ = "timer"
    __table_args__ = (Index("ix_timer_due", "fired_at", "due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    task_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(200))
    due_at: Mapped[datetime] = mapped_column(UtcDateTime())
    fired_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class RecordLinkRow(Base):
    """A link between two records: kept for every reference field (kind "reference") and made by hand."""

    __tablename__ = "record_link"
    __table_args__ = (
        # covering both ends: linked-record filters read the other end from the index alone (migration 0005)
        Index("ix_record_link_from", "from_record_id", "kind", "field", "to_record_id"),
        Index("ix_record_link_to", "to_record_id", "kind", "field", "from_record_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    from_record_id: Mapped[int] = mapped_column(ForeignKey("record.id"))
    to_record_id: Mapped[int] = mapped_column(ForeignKey("record.id"))
    kind: Mapped[str] = mapped_column(String(100))
    field: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_by: Mapped[str] = mapped_column(String(80))


class OutboxRow(Base):
    """An e-mail waiting to be sent, sent, or failed; retried by the worker, never lost."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int | None] = mapped_column(ForeignKey("record.id"), index=True)
    template: Mapped[str] = mapped_column(String(200))
    locale: Mapped[str] = mapped_column(String(8))
    to_address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_by: Mapped[str] = mapped_column(String(200))
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class RuleScheduleRow(JobState, Base):
    """When a scheduled rule last ran and is next due (one row per rule name)."""

    __tablename__ = "rule_schedule"

    rule: Mapped[str] = mapped_column(String(200), primary_key=True)
    next_run_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_run_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class AssignmentCursorRow(Base):
    """Round-robin position per team: the user who got the last task."""

    __tablename__ = "assignment_cursor"

    team: Mapped[str] = mapped_column(String(80), primary_key=True)
    last_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ReminderRow(JobState, Base):
    """A reminder a user set on a record; the worker turns a due one into a task for that user."""

    __tablename__ = "reminder"
    __table_args__ = (Index("ix_reminder_due", "fired_at", "due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("record.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime())
    note: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    fired_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    task_id: Mapped[str | None] = mapped_column(String(36))


class InboundEventRow(Base):
    """Every inbound event (webhook) as received, with what the engine did with it: append only."""

    __tablename__ = "inbound_event"
    __table_args__ = (Index("ix_inbound_event_source_at", "source", "received_at", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    source: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    business_key: Mapped[str | None] = mapped_column(String(200), index=True)
    payload: Mapped[Any] = mapped_column(JsonType, nullable=True)
    outcome: Mapped[str] = mapped_column(String(40))  # correlated | started | rejected
    detail: Mapped[str | None] = mapped_column(Text)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))


class MessageWaitRow(Base):
    """An instance waiting for a BPMN message, indexed by name and business key for correlation."""

    __tablename__ = "message_wait"
    __table_args__ = (Index("ix_message_wait_lookup", "message", "business_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    task_id: Mapped[str] = mapped_column(String(36))
    message: Mapped[str] = mapped_column(String(200))
    business_key: Mapped[str | None] = mapped_column(String(200))



# --- data quality (issue 5) and finding (issue 6): their rows live in engine/store/quality_models.py ---
from engine.store import external_models as _external_models  # noqa: E402,F401  (issue 11: external tasks)
from engine.store import incident_models as _incident_models  # noqa: E402,F401  (issue 10: job incidents)

# --- per-user list settings (issue 13, lists): engine/store/preference_models.py ---
from engine.store import preference_models as _preference_models  # noqa: E402,F401  (registers them on Base)
from engine.store import quality_models as _quality_models  # noqa: E402,F401  (registers them on Base)

# --- global search (issue 13): engine/store/search_models.py ---
from engine.store import search_models as _search_models  # noqa: E402,F401  (registers them on Base)

# --- sign-in protection (issue 10): engine/store/security_models.py ---
from engine.store import security_models as _security_models  # noqa: E402,F401  (registers them on Base)
