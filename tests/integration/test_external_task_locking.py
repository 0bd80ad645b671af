"""Locking an external task is a conditional update: of two workers that picked the same free task (SQLite has no
SKIP LOCKED), only the first gets it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.conftest import NOW
from tests.web.external_rest import CHARGE_BPMN, start


@pytest.fixture
def bundle_files(bundle_files: dict[str, str]) -> dict[str, str]:
    return {**bundle_files, "processes/external_charge.bpmn": CHARGE_BPMN}


def test_two_workers_that_picked_the_same_task_do_not_both_lock_it(
    deployed: Callable[[], UnitOfWork], actors: dict[str, Actor]
) -> None:
    start(deployed, actors["sales"])
    first, second = deployed(), deployed()
    with first:
        (picked_by_first,) = first.external_tasks.fetchable([("charge", {})], NOW, 10, False)
        task_id = picked_by_first.id
    with second:
        (picked_by_second,) = second.external_tasks.fetchable([("charge", {})], NOW, 10, False)
        assert second.external_tasks.take(picked_by_second, "w2", NOW + timedelta(minutes=1), NOW)
        second.commit()
    with first:
        row = first.external_tasks.get(task_id)
        assert row is not None
        assert not first.external_tasks.take(row, "w1", NOW + timedelta(minutes=1), NOW)
        assert row.worker_id == "w2"
