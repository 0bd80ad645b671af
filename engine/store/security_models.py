"""Rows of sign-in protection: failed sign-ins, counted per user name and per address to throttle guessing (in the
database, so every server process sees the same counts)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.models import Base, UtcDateTime


class LoginFailureRow(Base):
    """One failed sign-in: the user name as typed (known or not, so locking reveals nothing), the client address."""

    __tablename__ = "login_failure"
    __table_args__ = (
        Index("ix_login_failure_username_at", "username", "at"),
        Index("ix_login_failure_address_at", "address", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime(timezone=True), index=True)
