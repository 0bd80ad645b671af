"""Hot workflows: a step reuses the live workflow its instance was saved from, never a stale or shared one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from engine.processes.spiff import Runtime, cache_counts
from engine.processes.spiff.cache import WorkflowCache
from engine.services import instances, records, tasks
from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.conftest import NOW

MakeUow = Callable[[], UnitOfWork]


def _claimed_task(make_uow: MakeUow, head: Actor, sam: Actor) -> tuple[int, str]:
    lead_id = records.create_record(
        make_uow(), head, "Lead", {"title": "20 laptops", "phone": "+7 912 345-67-89"}, NOW
    ).id
    task_id = next(t.id for t in tasks.list_tasks(make_uow(), sam, "pool") if t.record_id == lead_id)
    tasks.claim_task(make_uow(), sam, task_id, NOW)
    return lead_id, task_id


@pytest.fixture
def restores(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """One entry per workflow restored from its stored JSON."""
    seen: list[str] = []
    original = Runtime.load.__func__  # type: ignore[attr-defined]

    def counting(cls: type[Runtime], version_id: int, blob: str, state_json: str, **kwargs: Any) -> Runtime:
        seen.append(state_json)
        return original(cls, version_id, blob, state_json, **kwargs)  # type: ignore[no-any-return]

    monkeypatch.setattr(Runtime, "load", classmethod(counting))
    return seen


def test_next_step_reuses_the_workflow_its_instance_was_saved_from(
    deployed: MakeUow, actors: dict, restores: list[str]
) -> None:
    _, task_id = _claimed_task(deployed, actors["head"], actors["sales"])
    tasks.complete_task(deployed(), actors["sales"], task_id, {"outcome": "convert", "budget": "5000"}, NOW)
    assert restores == []
    meeting = next(t for t in tasks.list_tasks(deployed(), actors["sales"], "mine"))
    tasks.complete_task(deployed(), actors["sales"], meeting.id, {"next_contact_on": "2026-03-10"}, NOW)
    assert restores == []


def test_a_lead_s_steps_count_as_hot_workflow_hits_and_parse_no_spec(deployed: MakeUow, actors: dict) -> None:
    _claimed_task(deployed, actors["head"], actors["sales"])  # first use of the spec in this process
    counts = cache_counts()
    before = (counts["workflows"].hits, counts["workflows"].misses, counts["specs"].misses)
    _, task_id = _claimed_task(deployed, actors["head"], actors["sales"])
    tasks.complete_task(deployed(), actors["sales"], task_id, {"outcome": "convert", "budget": "5000"}, NOW)
    after = (counts["workflows"].hits, counts["workflows"].misses, counts["specs"].misses)
    assert [a - b for a, b in zip(after, before, strict=True)] == [1, 0, 0]  # one hit, no restore, no parse


def test_a_revision_saved_elsewhere_is_restored_from_the_database(
    deployed: MakeUow, actors: dict, restores: list[str]
) -> None:
    lead_id, task_id = _claimed_task(deployed, actors["head"], actors["sales"])
    with deployed() as uow:  # another process writes the instance: same state text, next revision
        (instance,) = uow.instances.for_record(lead_id)
        instance.started_by = "another process"
        uow.commit()
    tasks.complete_task(deployed(), actors["sales"], task_id, {"outcome": "convert", "budget": "5000"}, NOW)
    assert len(restores) == 1


def test_a_step_that_rolls_back_leaves_no_advanced_workflow_behind(
    deployed: MakeUow, actors: dict, restores: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    lead_id, task_id = _claimed_task(deployed, actors["head"], actors["sales"])

    def failing(*_args: Any) -> None:
        raise RuntimeError("the database went away mid-step")

    # the workflow has run the completion in memory when this fails, before anything is committed
    sync_timers = instances._sync_timers
    monkeypatch.setattr(instances, "_sync_timers", failing)
    with pytest.raises(RuntimeError, match="went away"):
        tasks.complete_task(deployed(), actors["sales"], task_id, {"outcome": "convert", "budget": "5000"}, NOW)
    monkeypatch.setattr(instances, "_sync_timers", sync_timers)
    assert restores == []
    view = tasks.complete_task(deployed(), actors["sales"], task_id, {"outcome": "convert", "budget": "900"}, NOW)
    assert view.state == "completed"
    assert len(restores) == 1  # the retry restored the committed state: the advanced copy was thrown away
    with deployed() as uow:
        (instance,) = uow.instances.for_record(lead_id)
        kinds = [e.kind for e in uow.history.events(instance.id)]
    assert kinds.count("task_completed") == 1
    assert [t.element_id for t in tasks.list_tasks(deployed(), actors["sales"], "mine")
            if t.record_id == lead_id] == ["arrange_meeting"]


def test_a_cached_workflow_is_handed_to_one_caller_only() -> None:
    cache: WorkflowCache[Any] = WorkflowCache()
    workflow = object()
    cache.keep(7, 3, "{state}", workflow)
    assert cache.take(7, 3, "{state}") is workflow
    assert cache.take(7, 3, "{state}") is None  # the first caller owns it until it saves a new revision
    assert (cache.counts.hits, cache.counts.misses) == (1, 1)


@pytest.mark.parametrize(("revision", "state"), [(4, "{state}"), (3, "{other}")])
def test_a_cached_workflow_of_another_revision_or_state_is_never_used(revision: int, state: str) -> None:
    cache: WorkflowCache[Any] = WorkflowCache()
    cache.keep(7, 3, "{state}", object())
    assert cache.take(7, revision, state) is None


def test_the_workflow_cache_is_bounded() -> None:
    cache: WorkflowCache[Any] = WorkflowCache(size=2)
    for instance_id in (1, 2, 3):
        cache.keep(instance_id, 1, "{}", object())
    assert cache.take(1, 1, "{}") is None
    assert cache.take(3, 1, "{}") is not None
