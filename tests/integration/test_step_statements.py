"""SQL statements one task completion sends: counted with SQLAlchemy events, so a regression fails."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from engine.services import records, tasks
from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.conftest import NOW

MakeUow = Callable[[], UnitOfWork]
COMPLETE_TASK_BUDGET = 12  # issue 12: one task completion through the service, every statement counted


@contextmanager
def statements(make_uow: MakeUow) -> Iterator[list[str]]:
    """The SQL statements sent on the test database inside the block."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        seen.append(" ".join(statement.split())[:200])

    engine = make_uow.engine  # type: ignore[attr-defined]  # the fixture is a UowFactory
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _claimed_qualify_task(make_uow: MakeUow, head: Actor, sam: Actor, title: str) -> str:
    lead_id = records.create_record(make_uow(), head, "Lead", {"title": title, "phone": "+7 912 345-67-89"}, NOW).id
    task_id = next(t.id for t in tasks.list_tasks(make_uow(), sam, "pool") if t.record_id == lead_id)
    tasks.claim_task(make_uow(), sam, task_id, NOW)
    return task_id


def test_completing_a_lead_task_sends_at_most_twelve_statements(deployed: MakeUow, actors: dict) -> None:
    sam, head = actors["sales"], actors["head"]
    _claimed_qualify_task(deployed, head, sam, "warm-up lead")  # first use of the bundle and specs in this process
    task_id = _claimed_qualify_task(deployed, head, sam, "20 laptops")
    with statements(deployed) as seen:
        tasks.complete_task(deployed(), sam, task_id, {"outcome": "convert", "budget": "5000"}, NOW)
    assert len(seen) <= COMPLETE_TASK_BUDGET, "\n".join(seen)
