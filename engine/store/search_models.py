"""Rows of global search: normalized keys of each record's title and searchable fields (engine/search)."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.models import Base

# Byte order on PostgreSQL ("C"), so `key >= 'ab' AND key < 'ab\uffff'` is an index range on any database locale.
SEARCH_KEY_TYPE = String(200).with_variant(String(200, collation="C"), "postgresql")


class SearchKeyRow(Base):
    """One normalized key of a record: a transliterated, folded word of a name, an E.164 phone and its national
    digits, or a lower-case e-mail. A search is an index range scan on `key` (prefix match)."""

    __tablename__ = "search_key"
    # (owner, key, record): a reader who sees some owners' records range-scans only their keys (migration 0017)
    __table_args__ = (Index("ix_search_key_key", "key", "entity", "record_id"),
                      Index("ix_search_key_owner_key", "owner_id", "key", "record_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("record.id"), index=True)
    entity: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(SEARCH_KEY_TYPE)
    # the record's owner, copied; a trigger on record.owner_id keeps it current (migration 0017)
    owner_id: Mapped[int | None] = mapped_column(Integer)
