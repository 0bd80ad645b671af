"""A card's timeline (calls, comments, tasks done, field changes...), logging a call in one step, the titles a card
shows and the reference picker's choices: the services, on the shipped CRM."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from engine.errors import NotFound, ValidationError
from engine.services import records, tasks
from engine.services.card_log import log_on_record
from engine.services.timeline import record_timeline, timeline_kinds
from engine.services.titles import reference_choices, visible_titles
from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.conftest import NOW

MakeUow = Callable[[], UnitOfWork]
CALL = {"result": "agreed", "agreed": "Send the price list", "next_step": "Call back about the price list",
        "next_step_on": (NOW + timedelta(days=3)).date().isoformat()}


def new_contact(make_uow: MakeUow, actor: Actor, name: str = "Иван Петров") -> int:
    """A reachable contact (one without a phone or e-mail gets a task in the sales pool, seen by every seller)."""
    data = {"full_name": name, "email": f"{actor.username}-{len(name)}@example.com"}
    return records.create_record(make_uow(), actor, "Contact", data, NOW).id


def test_a_logged_call_is_on_the_timeline_and_its_next_task_in_the_inbox(deployed: MakeUow, actors: dict) -> None:
    sam = actors["sales"]
    contact_id = new_contact(deployed, sam)
    later = NOW + timedelta(hours=1)
    logged = log_on_record(deployed(), sam, contact_id, "Activity", CALL, later, "ru")

    call = logged.record
    assert call.title == "Звонок: Иван Петров"
    assert (call.data["kind"], call.data["contact"], call.data["result"], call.owner) == (
        "call", contact_id, "agreed", "sam")
    [task] = tasks.list_tasks(deployed(), sam, "mine")
    assert (task.id, task.title, task.record_id) == (logged.task_id, "Call back about the price list", contact_id)
    assert task.due_at is not None
    assert task.due_at.date() == (NOW + timedelta(days=3)).date()
    assert task.due_at.hour == 6  # 09:00 in Moscow, the bundle's working hours

    page = record_timeline(deployed(), sam, contact_id)
    assert page.items[0].kind == "call"
    assert (page.items[0].record_id, page.items[0].text) == (call.id, "Send the price list")
    assert {e.kind for e in page.items} >= {"call", "field"}
    only_calls = record_timeline(deployed(), sam, contact_id, kinds=["call"])
    assert [e.record_id for e in only_calls.items] == [call.id]
    assert record_timeline(deployed(), sam, contact_id, kinds=["meeting"]).items == []

    tasks.complete_task(deployed(), sam, task.id, {}, later + timedelta(hours=1))
    newest = record_timeline(deployed(), sam, contact_id).items[0]
    assert (newest.kind, newest.title, newest.actor) == ("task", "Call back about the price list", "sam")


def test_every_call_ends_with_a_next_step_and_nothing_is_stored_without_it(deployed: MakeUow, actors: dict) -> None:
    sam = actors["sales"]
    contact_id = new_contact(deployed, sam)
    before = record_timeline(deployed(), sam, contact_id).items
    with pytest.raises(ValidationError) as missing:
        log_on_record(deployed(), sam, contact_id, "Activity", {**CALL, "next_step_on": ""}, NOW, "en")
    assert missing.value.errors == {"next_step_on": ["is required"]}
    with pytest.raises(ValidationError) as extra:
        log_on_record(deployed(), sam, contact_id, "Activity", {**CALL, "subject": "x"}, NOW, "en")
    assert list(extra.value.errors) == ["subject"]  # not silently dropped
    with pytest.raises(ValidationError) as past:
        log_on_record(deployed(), sam, contact_id, "Activity", {**CALL, "next_step_on": "2020-01-01"}, NOW, "en")
    assert list(past.value.errors) == ["next_step_on"]
    with pytest.raises(ValidationError) as bad:
        log_on_record(deployed(), sam, contact_id, "Activity", {**CALL, "result": "maybe"}, NOW, "en")
    assert list(bad.value.errors) == ["result"]
    with pytest.raises(NotFound):  # Comment declares no log form
        log_on_record(deployed(), sam, contact_id, "Comment", {"text": "hi"}, NOW, "en")
    assert record_timeline(deployed(), sam, contact_id).items == before
    assert tasks.list_tasks(deployed(), sam, "mine") == []


def test_timeline_pages_by_cursor_without_gaps_or_repeats(deployed: MakeUow, actors: dict) -> None:
    sam = actors["sales"]
    contact_id = new_contact(deployed, sam)
    for minute in range(5):
        at = NOW + timedelta(minutes=minute)
        records.update_record(deployed(), sam, contact_id, {"position": f"P{minute}"}, at)
        records.create_record(deployed(), sam, "Comment", {"text": f"note {minute}", "about": contact_id}, at)
    everything = record_timeline(deployed(), sam, contact_id, limit=100).items
    seen, cursor = [], None
    while True:
        page = record_timeline(deployed(), sam, contact_id, after=cursor, limit=3)
        seen += page.items
        cursor = page.next_cursor
        if cursor is None:
            break
    assert [e.cursor for e in seen] == [e.cursor for e in everything]
    assert [e.at for e in seen] == sorted((e.at for e in seen), reverse=True)
    assert "Comment" in timeline_kinds(deployed_bundle(deployed))
    comments = record_timeline(deployed(), sam, contact_id, kinds=["Comment"]).items
    assert [e.text for e in comments] == [f"note {m}" for m in reversed(range(5))]
    with pytest.raises(ValidationError):
        record_timeline(deployed(), sam, contact_id, kinds=["gossip"])
    for bad in ("yesterday", "2026-03-02T09:00:00+00:00|1|abc", "2026-03-02T09:00:00|1|5", "x|9|5",
                "2026-03-02T09:00:00+00:00|1|99999999999999999999999"):
        with pytest.raises(ValidationError):
            record_timeline(deployed(), sam, contact_id, after=bad)


def deployed_bundle(make_uow: MakeUow) -> object:
    from engine.processes.deployed import active_bundle

    return active_bundle(make_uow())[0]


def test_titles_and_choices_respect_visibility(deployed: MakeUow, actors: dict) -> None:
    sam, sue = actors["sales"], actors["sales2"]
    mine = new_contact(deployed, sam, "Анна Смирнова")
    hers = new_contact(deployed, sue, "Анна Кузнецова")
    assert visible_titles(deployed(), sam, [mine, hers]) == {mine: "Анна Смирнова"}
    assert reference_choices(deployed(), sam, "Contact", "анна") == [(mine, "Анна Смирнова")]
    assert reference_choices(deployed(), sam, "Contact", str(mine)) == [(mine, "Анна Смирнова")]
    assert reference_choices(deployed(), sue, "Contact", "СМИР") == []
    with pytest.raises(NotFound):
        reference_choices(deployed(), sam, "Planet", "a")
