"""A task's copy of its record's title (`task.record_title`, docs/lists.md) kept current in the transaction that
changes the title or the task's record: the inbox sorts and filters by it through the task's own indexes.

Every ORM write goes through the flush hook below (a record whose title changed, a task made or moved to another
record); the Core writes of record titles (`RecordRepository.update_many`) call `retitle_tasks` themselves."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import Table, bindparam, event, inspect, select
from sqlalchemy.orm import Session, UOWTransaction

from engine.store.models import RecordRow, TaskRow

_TASKS = cast(Table, TaskRow.__table__)
# every task of a record (its index on record_id) whose copy differs
RETITLE = (
    _TASKS.update()
    .where(_TASKS.c.record_id == bindparam("b_record"), _TASKS.c.record_title.is_distinct_from(bindparam("b_title")))
    .values(record_title=bindparam("b_title"))
)


def title_of_record(record_id: Any) -> Any:
    """The title of a record as the task row's value (a scalar subquery, read in the task's INSERT or UPDATE)."""
    return select(RecordRow.title).where(RecordRow.id == record_id).scalar_subquery()


def retitle_tasks(session: Session, titles: Iterable[tuple[int, str]]) -> None:
    """Give the tasks of these records their new titles: (record id, title), one executemany UPDATE."""
    params = [{"b_record": record_id, "b_title": title} for record_id, title in titles]
    if params:
        session.connection().execute(RETITLE, params)


def _changed(obj: Any, name: str) -> bool:
    """Whether an attribute of a loaded object was given a new value (an unloaded old value counts as changed)."""
    history = inspect(obj).attrs[name].history
    return bool(history.added) and (not history.deleted or history.added[0] != history.deleted[0])


@event.listens_for(Session, "before_flush")
def _keep_record_titles(session: Session, _flush: UOWTransaction, _instances: Any) -> None:
    retitled: list[tuple[int, str]] = []
    for obj in session.dirty:
        if isinstance(obj, RecordRow) and obj.id is not None and _changed(obj, "title"):
            retitled.append((obj.id, obj.title))
        elif isinstance(obj, TaskRow) and _changed(obj, "record_id"):
            obj.record_title = None if obj.record_id is None else title_of_record(obj.record_id)
    for obj in session.new:
        if isinstance(obj, TaskRow) and obj.record_id is not None and obj.record_title is None:
            obj.record_title = title_of_record(obj.record_id)
    # before the flush writes the records: a task moved in this flush reads its new record's title after it
    retitle_tasks(session, retitled)
