"""Queries of the external task table: fetchable tasks by topic, lookups and the filtered list."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, update

from engine.store.external_models import ExternalTaskRow
from engine.store.repo_base import _Repository

T = ExternalTaskRow


def _fetchable(now: datetime) -> ColumnElement[bool]:
    """Not locked (or its lock expired), retries left (or never failed), and past a failure's retryTimeout."""
    return and_(
        or_(T.lock_expires_at.is_(None), T.lock_expires_at <= now),
        or_(T.retries.is_(None), T.retries > 0),
        or_(T.available_at.is_(None), T.available_at <= now),
    )


class ExternalTaskRepository(_Repository):
    """External tasks waiting for workers."""

    def delete(self, row: ExternalTaskRow) -> None:
        """Drop a task its instance no longer waits on."""
        self.session.delete(row)

    def get(self, task_id: str, *, lock: bool = False) -> ExternalTaskRow | None:
        """A task by id; `lock`: write-locked for this transaction."""
        return self.session.get(T, task_id, with_for_update=lock or None)

    def for_instance(self, instance_id: int) -> list[ExternalTaskRow]:
        """The tasks of one instance."""
        return list(self.session.scalars(select(T).where(T.instance_id == instance_id)).all())

    def fetchable(
        self, topics: Iterable[tuple[str, dict[str, Any]]], now: datetime, limit: int, use_priority: bool
    ) -> list[ExternalTaskRow]:
        """Up to `limit` tasks a worker may lock now, of the given topics (each with its business key / process
        filters), highest priority first when asked, oldest first; write-locked, skipping rows others hold."""
        alternatives = []
        for topic, filters in topics:
            conditions = [T.topic == topic]
            if filters.get("business_key") is not None:
                conditions.append(T.business_key == filters["business_key"])
            if filters.get("process_ids"):
                conditions.append(T.process_id.in_(sorted(filters["process_ids"])))
            alternatives.append(and_(*conditions))
        if not alternatives:
            return []
        order = [T.priority.desc(), T.created_at, T.id] if use_priority else [T.created_at, T.id]
        stmt = select(T).where(_fetchable(now), or_(*alternatives)).order_by(*order).limit(limit)
        if self.session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        return list(self.session.scalars(stmt).all())

    def take(self, row: ExternalTaskRow, worker_id: str, until: datetime, now: datetime) -> bool:
        """Lock a task picked as fetchable for a worker, if it still is: a conditional UPDATE, so two workers
        racing on a backend without SKIP LOCKED (SQLite) never both get it. False: someone else took it."""
        stmt = (
            update(T)
            .where(T.id == row.id, _fetchable(now))
            .values(worker_id=worker_id, lock_expires_at=until)
            .execution_options(synchronize_session=False)
        )
        taken = bool(self.session.execute(stmt).rowcount)  # type: ignore[attr-defined]
        if taken:
            self.session.refresh(row)
        return taken

    def any_fetchable(self, topics: Iterable[str], now: datetime) -> bool:
        """Whether some task of these topics could be locked now (the long poll's cheap check)."""
        names = sorted(set(topics))
        stmt = select(T.id).where(_fetchable(now), T.topic.in_(names)).limit(1)
        return self.session.scalar(stmt) is not None

    def search(
        self,
        filters: dict[str, Any],
        now: datetime,
        limit: int | None,
        offset: int,
    ) -> tuple[list[ExternalTaskRow], int]:
        """Tasks matching Camunda's list filters (topicName, workerId, locked, notLocked, withRetriesLeft,
        noRetriesLeft, processInstanceId, activityId, businessKey...), oldest first; and how many match."""
        conditions: list[ColumnElement[bool]] = []
        simple = {
            "topic": T.topic,
            "worker_id": T.worker_id,
            "activity_id": T.activity_id,
            "business_key": T.business_key,
            "process_id": T.process_id,
            "instance_id": T.instance_id,
            "id": T.id,
        }
        for key, column in simple.items():
            if filters.get(key) is not None:
                conditions.append(column == filters[key])
        if filters.get("locked"):
            conditions.append(T.lock_expires_at > now)
        if filters.get("not_locked"):
            conditions.append(or_(T.lock_expires_at.is_(None), T.lock_expires_at <= now))
        if filters.get("with_retries_left"):
            conditions.append(or_(T.retries.is_(None), T.retries > 0))
        if filters.get("no_retries_left"):
            conditions.append(T.retries == 0)
        stmt = select(T).where(*conditions).order_by(T.created_at, T.id).offset(offset)
        if limit is not None:
            stmt = stmt.limit(limit)
        total = self.session.scalar(select(func.count()).select_from(T).where(*conditions)) or 0
        return list(self.session.scalars(stmt).all()), int(total)
