"""Claiming from the pool on PostgreSQL: a claim that meets a task another transaction is claiming (or otherwise
writing) answers at once with a conflict instead of queueing on the row lock until that transaction ends."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from engine.errors import ConflictError
from engine.services.records import create_record
from engine.services.tasks import claim_task, list_tasks
from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.conftest import NOW


def test_a_claim_of_a_task_another_transaction_is_claiming_is_refused_without_waiting(
    db_url: str, deployed: Callable[[], UnitOfWork], actors: dict[str, Actor]
) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite has no row locks: one writer at a time, behind its busy timeout")
    create_record(deployed(), actors["head"], "Lead", {"title": "20 laptops"}, NOW)
    (task,) = list_tasks(deployed(), actors["sales"], "pool")
    answers: list[BaseException | None] = []

    def claim() -> None:
        try:
            claim_task(deployed(), actors["sales"], task.id, NOW)
            answers.append(None)
        except ConflictError as exc:
            answers.append(exc)

    faster = deployed()
    with faster:
        assert actors["sales2"].id is not None
        assert faster.tasks.try_claim(task.id, actors["sales2"].id)  # the row is locked until this one ends
        racer = threading.Thread(target=claim)
        racer.start()
        racer.join(timeout=5)
        answered_while_locked = not racer.is_alive()
        faster.commit()
    racer.join()
    assert answered_while_locked, "the second claim waited for the first claimer's transaction"
    assert isinstance(answers[0], ConflictError)
