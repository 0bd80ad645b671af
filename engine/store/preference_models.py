"""Per-user settings of list pages: the columns a user chose for a list."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.models import Base, UtcDateTime


class ListSettingRow(Base):
    """The columns one user shows on one list (`list_key` names the list, e.g. "records:<entity>")."""

    __tablename__ = "list_setting"
    __table_args__ = (UniqueConstraint("user_id", "list_key", name="uq_list_setting_user_list"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    list_key: Mapped[str] = mapped_column(String(200))
    columns: Mapped[str] = mapped_column(Text)  # comma-separated column names, in order
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
