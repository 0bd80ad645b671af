"""External tasks: service tasks of `camunda:type="external"` that workers fetch, lock and complete over REST."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.models import Base, UtcDateTime


class ExternalTaskRow(Base):
    """One waiting external task: its topic, what it concerns, who holds its lock until when, and its failures.

    `retries` is None until a worker reports a failure (Camunda's null: not yet set); 0 with `error_message`
    means an incident. `available_at` is the end of a failure's retryTimeout (a worker may fetch it again)."""

    __tablename__ = "external_task"
    __table_args__ = (Index("ix_external_task_fetch", "topic", "priority", "id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the workflow task id
    topic: Mapped[str] = mapped_column(String(200))
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    process_id: Mapped[str] = mapped_column(String(200))  # Camunda's processDefinitionKey
    activity_id: Mapped[str] = mapped_column(String(200))
    business_key: Mapped[str | None] = mapped_column(String(200))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    variables: Mapped[dict[str, Any]] = mapped_column(JSON)  # the task's data when it became ready
    worker_id: Mapped[str | None] = mapped_column(String(200))
    lock_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    retries: Mapped[int | None] = mapped_column(Integer)
    available_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    error_message: Mapped[str | None] = mapped_column(Text)
    error_details: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
