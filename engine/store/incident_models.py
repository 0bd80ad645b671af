"""Incidents: a background job item that kept failing after its retries, parked until someone retries it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.models import Base, UtcDateTime


class IncidentRow(Base):
    """One parked job item: what kind of job, what it concerns, the error, and who resolved it when."""

    __tablename__ = "incident"
    __table_args__ = (
        Index("ix_incident_job", "kind", "job_key", "resolved_at"),
        Index("ix_incident_open", "resolved_at", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # timer | reminder | outbox | rule | scan
    job_key: Mapped[str] = mapped_column(String(200))  # the job row's key: timer/reminder/outbox id, rule name
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"), index=True)
    task_id: Mapped[str | None] = mapped_column(String(36))
    record_id: Mapped[int | None] = mapped_column(ForeignKey("record.id"), index=True)
    error: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    resolved_by: Mapped[str | None] = mapped_column(String(80))
