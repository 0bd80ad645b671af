"""Queries of a board: per-column counts and sums under a filter, the next open task and the stage age of cards."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from engine.store.filter_spec import FieldRef, Filter
from engine.store.filter_sql import FindRepository, FindScope
from engine.store.models import FieldChangeRow, RecordRow, TaskRow


class BoardRepository(FindRepository):
    """Filters compiled as by FindRepository, grouped by a stage field."""

    def totals(self, flt: Filter, now: datetime, scope: FindScope, stage: FieldRef,
               amount: FieldRef | None) -> dict[str, tuple[int, Decimal | None]]:
        """{stage value: (count, sum of amount)} of the matching records the scope admits."""
        compiler = self.compiler(now)
        ids = self.statement(flt, now, scope).subquery()
        key = compiler.typed(RecordRow, stage)
        columns: list[Any] = [key, func.count()]
        if amount is not None:
            columns.append(func.sum(compiler.typed(RecordRow, amount)))
        stmt = select(*columns).join(ids, ids.c.id == RecordRow.id).group_by(key)
        result: dict[str, tuple[int, Decimal | None]] = {}
        for row in self.session.execute(stmt):
            total = row[2] if amount is not None else None
            result[str(row[0])] = (int(row[1]), Decimal(str(total)) if total is not None else None)
        return result

    def next_tasks(self, record_ids: Iterable[int]) -> dict[int, TaskRow]:
        """The open task of each record that is due first (undated ones last, then the oldest)."""
        wanted = sorted(set(record_ids))
        if not wanted:
            return {}
        stmt = (select(TaskRow).where(TaskRow.record_id.in_(wanted), TaskRow.state == "open")
                .order_by(TaskRow.record_id, TaskRow.due_at.is_(None), TaskRow.due_at, TaskRow.created_at))
        found: dict[int, TaskRow] = {}
        for task in self.session.scalars(stmt):
            if task.record_id is not None:
                found.setdefault(task.record_id, task)
        return found

    def open_tasks(self, record_id: int) -> list[TaskRow]:
        """Open tasks of a record, oldest first."""
        stmt = (select(TaskRow).where(TaskRow.record_id == record_id, TaskRow.state == "open")
                .order_by(TaskRow.created_at, TaskRow.id))
        return list(self.session.scalars(stmt).all())

    def entered(self, record_ids: Iterable[int], field: str) -> dict[int, datetime]:
        """When each record's `field` was last written (its current stage's start)."""
        wanted = sorted(set(record_ids))
        if not wanted:
            return {}
        stmt = (select(FieldChangeRow.record_id, func.max(FieldChangeRow.at, type_=FieldChangeRow.at.type))
                .where(FieldChangeRow.record_id.in_(wanted), FieldChangeRow.field == field)
                .group_by(FieldChangeRow.record_id))
        return {int(record_id): at for record_id, at in self.session.execute(stmt) if at is not None}
