"""Repositories of data quality (match keys, duplicate pairs, merges, imports) and of segments.

Each feature extends its own repository here; the unit of work exposes them as uow.quality, uow.imports and
uow.segments."""

from __future__ import annotations

from sqlalchemy import select

from engine.store.quality_models import (
    DuplicatePairRow,
    ImportJobRow,
    MappingProfileRow,
    MergeLogRow,
    SegmentRow,
)
from engine.store.repositories import _Repository


class QualityRepository(_Repository):
    """Match keys, duplicate pairs and merge log."""

    def pair(self, pair_id: int) -> DuplicatePairRow | None:
        """A duplicate pair by id."""
        return self.session.get(DuplicatePairRow, pair_id)

    def merge(self, merge_id: int) -> MergeLogRow | None:
        """A merge log entry by id."""
        return self.session.get(MergeLogRow, merge_id)


class ImportRepository(_Repository):
    """Import jobs, their rejected rows and row keys, and mapping profiles."""

    def job(self, job_id: int) -> ImportJobRow | None:
        """An import job by id."""
        return self.session.get(ImportJobRow, job_id)

    def profile(self, entity: str, name: str) -> MappingProfileRow | None:
        """A mapping profile by entity and name."""
        return self.session.scalar(select(MappingProfileRow).where(MappingProfileRow.entity == entity,
                                                                   MappingProfileRow.name == name))


class SegmentRepository(_Repository):
    """Saved filters."""

    def get(self, segment_id: int) -> SegmentRow | None:
        """A segment by id."""
        return self.session.get(SegmentRow, segment_id)
