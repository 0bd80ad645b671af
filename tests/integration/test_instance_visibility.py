"""Who reads a process instance: the readers of its record, or — for a standalone instance — its starter and the
readers of its tasks; a designer reads definitions, not instances. Auditors set no reminders."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from engine.errors import Forbidden, NotFound
from engine.services.audit import instance_waits
from engine.services.instances import get_instance, start_process
from engine.services.records import create_record
from engine.services.reminders import cancel_reminder, set_reminder
from engine.services.tasks import list_tasks
from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.conftest import NOW

MakeUow = Callable[[], UnitOfWork]


def test_standalone_instance_is_read_by_its_starter_and_its_tasks_candidates_only(
    deployed: MakeUow, actors: dict[str, Actor]
) -> None:
    started = start_process(deployed(), actors["sales"], "document_approval", None, NOW)
    assert [t.instance_id for t in list_tasks(deployed(), actors["head"], "pool")] == [started.id]
    for reader in ("sales", "head", "admin", "auditor"):
        assert get_instance(deployed(), actors[reader], started.id).instance.id == started.id
    for stranger in ("sales2", "designer"):
        with pytest.raises(NotFound):
            get_instance(deployed(), actors[stranger], started.id)
        with pytest.raises(NotFound):
            instance_waits(deployed(), actors[stranger], started.id)


def test_designer_does_not_read_the_instance_of_a_record(deployed: MakeUow, actors: dict[str, Actor]) -> None:
    lead = create_record(deployed(), actors["head"], "Lead", {"title": "Order"}, NOW)
    (task,) = list_tasks(deployed(), actors["sales"], "pool")
    assert task.record_id == lead.id
    assert task.instance_id is not None
    assert get_instance(deployed(), actors["head"], task.instance_id).instance.record_id == lead.id
    with pytest.raises(NotFound):
        get_instance(deployed(), actors["designer"], task.instance_id)


def test_auditor_may_not_set_or_cancel_reminders(deployed: MakeUow, actors: dict[str, Actor]) -> None:
    lead = create_record(deployed(), actors["head"], "Lead", {"title": "Order"}, NOW)
    with pytest.raises(Forbidden, match="otto may not set reminders"):
        set_reminder(deployed(), actors["auditor"], lead.id, NOW.replace(year=2027), "call", NOW)
    reminder = set_reminder(deployed(), actors["admin"], lead.id, NOW.replace(year=2027), "call", NOW)
    with pytest.raises(Forbidden, match="otto may not cancel reminders"):
        cancel_reminder(deployed(), actors["auditor"], reminder.id)
