"""A merged record is read-only everywhere (services, record card, REST API) yet still readable; merge and undo
still write to it."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from flask import Flask

from engine.errors import ConflictError, MergedRecord, ValidationError
from engine.quality.merge import merge_records, undo_merge
from engine.services import assignment, instances, links, records, reminders
from engine.services.views import Actor
from engine.store.models import RecordLinkRow
from engine.store.uow import UnitOfWork
from tests.conftest import NOW
from tests.web.api_client import api_users, app_uow, close_databases, make_app, snapshot
from tests.web.conformance import Conformance
from tests.web.conftest import as_user, settings, text
from web import create_app

MakeUow = Callable[[], UnitOfWork]
LATER = NOW + timedelta(hours=1)


@dataclass
class Merged:
    survivor: int
    merged: int
    other: int
    merge_id: int

    @property
    def refusal(self) -> str:
        return f"record #{self.merged} was merged into #{self.survivor}; open #{self.survivor}"


@pytest.fixture
def world(deployed: MakeUow, actors: dict[str, Actor]) -> Merged:
    """Two contacts of Sam merged by the head of sales, and a third one to link to."""
    head, sam = actors["head"], actors["sales"]

    def contact(name: str, email: str) -> int:
        return records.create_record(deployed(), head, "Contact", {"full_name": name, "email": email}, NOW,
                                     owner_id=sam.id).id

    survivor, merged = contact("Ivan Petrov", "ivan@example.com"), contact("I. Petrov", "petrov@example.org")
    other = contact("Maria Sidorova", "maria@example.net")
    merge_id = merge_records(deployed(), head, survivor, merged, {"email": "survivor"}, LATER)
    return Merged(survivor, merged, other, merge_id)


def refused(excinfo: pytest.ExceptionInfo[ConflictError], world: Merged) -> None:
    assert isinstance(excinfo.value, MergedRecord)
    assert str(excinfo.value) == world.refusal
    assert (excinfo.value.record_id, excinfo.value.merged_into_id) == (world.merged, world.survivor)


def test_every_write_to_a_merged_record_is_a_conflict_naming_the_survivor(
        deployed: MakeUow, actors: dict[str, Actor], world: Merged) -> None:
    head = actors["head"]
    before = snapshot(deployed)
    with pytest.raises(ConflictError) as update:
        records.update_record(deployed(), head, world.merged, {"position": "CEO"}, LATER)
    refused(update, world)
    with pytest.raises(ConflictError) as link_from:
        links.link_records(deployed(), head, world.merged, world.other, "spouse", LATER)
    refused(link_from, world)
    with pytest.raises(ConflictError) as link_to:
        links.link_records(deployed(), head, world.other, world.merged, "spouse", LATER)
    refused(link_to, world)
    with pytest.raises(ConflictError) as remind:
        reminders.set_reminder(deployed(), head, world.merged, LATER + timedelta(days=1), "call", LATER)
    refused(remind, world)
    with pytest.raises(ConflictError) as start:
        instances.start_process(deployed(), head, "account_management", world.merged, LATER)
    refused(start, world)
    with pytest.raises(ConflictError) as reassign:
        assignment.reassign_records(deployed(), head, [world.other, world.merged], "sue", LATER)
    refused(reassign, world)
    assert snapshot(deployed) == before


def test_a_hand_made_link_left_on_a_merged_record_cannot_be_removed(
        deployed: MakeUow, actors: dict[str, Actor], world: Merged) -> None:
    with deployed() as uow:  # as a link written before merges moved them would be
        row = RecordLinkRow(from_record_id=world.other, to_record_id=world.merged, kind="spouse", field=None,
                            created_at=NOW, created_by="legacy")
        uow.links.add(row)
        uow.commit()
        link_id = row.id
    with pytest.raises(ConflictError) as unlink:
        links.unlink_records(deployed(), actors["head"], link_id, LATER)
    refused(unlink, world)


def test_a_reference_field_may_not_be_pointed_at_a_merged_record(
        deployed: MakeUow, actors: dict[str, Actor], world: Merged) -> None:
    head = actors["head"]
    message = [f"record #{world.merged} was merged into #{world.survivor}; use #{world.survivor}"]
    with pytest.raises(ValidationError) as created:
        records.create_record(deployed(), head, "Comment", {"text": "hi", "about": world.merged}, LATER)
    assert created.value.errors == {"about": message}
    comment = records.create_record(deployed(), head, "Comment", {"text": "hi", "about": world.survivor}, LATER)
    with pytest.raises(ValidationError) as updated:
        records.update_record(deployed(), head, comment.id, {"about": world.merged}, LATER)
    assert updated.value.errors == {"about": message}


def test_a_merged_record_still_reads_by_id_and_says_where_it_went(
        deployed: MakeUow, actors: dict[str, Actor], world: Merged) -> None:
    for who in (actors["head"], actors["auditor"], actors["sales"]):
        merged = records.get_record(deployed(), who, world.merged)
        assert (merged.merged_into_id, merged.data["full_name"]) == (world.survivor, "I. Petrov")
        assert records.get_record(deployed(), who, world.survivor).merged_into_id is None
    assert records.record_history(deployed(), actors["auditor"], world.merged)


def test_merge_and_undo_still_write_and_an_undone_record_is_writable_again(
        deployed: MakeUow, actors: dict[str, Actor], world: Merged) -> None:
    head = actors["head"]
    undo_merge(deployed(), head, world.merge_id, LATER)
    assert records.get_record(deployed(), head, world.merged).merged_into_id is None
    saved = records.update_record(deployed(), head, world.merged, {"position": "CEO"}, LATER)
    assert saved.data["position"] == "CEO"
    again = merge_records(deployed(), head, world.survivor, world.merged, {"position": "merged"}, LATER)
    assert again != world.merge_id
    assert records.get_record(deployed(), head, world.survivor).data["position"] == "CEO"
    with pytest.raises(ConflictError, match=re.escape(world.refusal)):
        records.update_record(deployed(), head, world.merged, {"position": "CTO"}, LATER)


@pytest.fixture
def web_app(db_url: str, deployed: MakeUow, world: Merged) -> Flask:
    return create_app(settings(db_url, UOW_FACTORY=deployed))


def test_the_card_of_a_merged_record_has_no_forms_and_points_at_the_survivor(
        web_app: Flask, deployed: MakeUow, world: Merged) -> None:
    hank = as_user(web_app, "hank")
    page = hank.get(f"/records/{world.merged}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'href="/records/{world.survivor}"' in html
    assert html.count("merged-into") == 1  # one banner
    for form in (f'action="/records/{world.merged}"', f'action="/records/{world.merged}/links"',
                 f'action="/records/{world.merged}/reminders"', 'name="expected_revision"'):
        assert form not in html
    survivor = hank.get(f"/records/{world.survivor}").get_data(as_text=True)
    for form in (f'action="/records/{world.survivor}"', f'action="/records/{world.survivor}/links"',
                 f'action="/records/{world.survivor}/reminders"'):
        assert form in survivor


def test_posting_to_a_merged_record_card_is_refused_in_the_users_language(
        web_app: Flask, deployed: MakeUow, world: Merged) -> None:
    hank = as_user(web_app, "hank")
    before = snapshot(deployed)
    edit = hank.post(f"/records/{world.merged}", data={"full_name": "Changed", "expected_revision": "1"})
    assert edit.status_code == 409
    english = (f"Record #{world.merged} was merged into #{world.survivor} and can no longer be changed; "
               f"open #{world.survivor}.")
    assert english in text(edit)
    link = hank.post(f"/records/{world.merged}/links", data={"to_record_id": str(world.other), "kind": "spouse"})
    assert (link.status_code, english in text(link)) == (409, True)
    remind = hank.post(f"/records/{world.merged}/reminders", data={"due_at": "2099-03-05T10:00", "note": "x"})
    assert (remind.status_code, english in text(remind)) == (409, True)
    to_merged = hank.post(f"/records/{world.other}/links", data={"to_record_id": str(world.merged),
                                                                  "kind": "spouse"})
    assert (to_merged.status_code, english in text(to_merged)) == (409, True)
    russian = hank.post(f"/records/{world.merged}?lang=ru", data={"full_name": "Changed"})
    assert f"Запись #{world.merged} объединена с #{world.survivor}" in text(russian)
    assert snapshot(deployed) == before


@pytest.fixture
def api_app(db_url: str, deployed: MakeUow, world: Merged) -> Iterator[Flask]:
    app = make_app(db_url)
    yield app
    close_databases(app_uow(app), deployed)


def test_the_api_shows_merged_into_id_and_refuses_writes_with_409(
        api_app: Flask, deployed: MakeUow, actors: dict[str, Actor], world: Merged) -> None:
    head = api_users(api_app, deployed, {"head": actors["head"]})["head"]
    c = Conformance()
    body = c.check(head, "get", "/records/{record_id}", 200, record_id=world.merged)
    assert (body["merged_into_id"], body["data"]["full_name"]) == (world.survivor, "I. Petrov")
    assert c.check(head, "get", "/records/{record_id}", 200, record_id=world.survivor)["merged_into_id"] is None
    with deployed() as uow:
        legacy = RecordLinkRow(from_record_id=world.other, to_record_id=world.merged, kind="spouse", field=None,
                               created_at=NOW, created_by="legacy")
        uow.links.add(legacy)
        uow.commit()
        link_id = legacy.id
    before = snapshot(deployed)
    for method, path, payload, values in (
            ("patch", "/records/{record_id}", {"changes": {"position": "CEO"}}, {"record_id": world.merged}),
            ("post", "/records/{record_id}/links", {"to_record_id": world.other, "kind": "spouse"},
             {"record_id": world.merged}),
            ("post", "/records/{record_id}/reminders", {"due_at": "2099-03-05T10:00:00+00:00"},
             {"record_id": world.merged}),
            ("post", "/instances", {"process_id": "account_management", "record_id": world.merged}, {}),
            ("post", "/records/reassign", {"record_ids": [world.merged], "to": "sue"}, {}),
            ("delete", "/links/{link_id}", None, {"link_id": link_id})):
        answer = c.check(head, method, path, 409, payload, **values)
        assert answer == {"error": "MergedRecord", "message": world.refusal}, (method, path)
    assert snapshot(deployed) == before
    assert head.get(f"/records/{world.merged}/history").status_code == 200


def test_redistributing_a_leaver_leaves_merged_records_alone(deployed: MakeUow, actors: dict[str, Actor],
                                                             world: Merged) -> None:
    assignment.redistribute_user(deployed(), actors["head"], actors["sales"].username, LATER)
    assert records.get_record(deployed(), actors["admin"], world.merged).owner == actors["sales"].username
    assert records.get_record(deployed(), actors["admin"], world.survivor).owner != actors["sales"].username
