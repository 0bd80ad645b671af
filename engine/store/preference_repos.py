"""Per-user list settings: read and replace the chosen columns of a list."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from engine.store.preference_models import ListSettingRow
from engine.store.repo_base import _Repository


class ListSettingRepository(_Repository):
    """The columns each user chose per list."""

    def columns(self, user_id: int, list_key: str) -> list[str] | None:
        """The chosen columns in order, or None when the user never chose."""
        stmt = select(ListSettingRow.columns).where(ListSettingRow.user_id == user_id,
                                                    ListSettingRow.list_key == list_key)
        text = self.session.scalar(stmt)
        return None if text is None else [c for c in text.split(",") if c]

    def set_columns(self, user_id: int, list_key: str, columns: list[str], now: datetime) -> None:
        """Replace the chosen columns (an empty list shows only the fixed ones)."""
        row = self.session.scalar(select(ListSettingRow).where(ListSettingRow.user_id == user_id,
                                                               ListSettingRow.list_key == list_key))
        if row is None:
            row = ListSettingRow(user_id=user_id, list_key=list_key, columns="", updated_at=now)
            self.session.add(row)
        row.columns, row.updated_at = ",".join(columns), now

    def forget(self, user_id: int, list_key: str) -> None:
        """Back to the default columns."""
        row = self.session.scalar(select(ListSettingRow).where(ListSettingRow.user_id == user_id,
                                                               ListSettingRow.list_key == list_key))
        if row is not None:
            self.session.delete(row)
