"""Links between records: reference fields kept as links, hand-made links, access, history; every backend."""

from __future__ import annotations

from typing import Any

import pytest

from engine.errors import ConflictError, Forbidden, NotFound, ValidationError
from engine.services import links, records
from engine.services.deployments import deploy_bundle
from engine.services.views import Actor
from tests.conftest import NOW
from tests.integration.rules_bundle import DESIGNER, MakeUow, bundle_files, deploy, make_people


@pytest.fixture
def people(make_uow: MakeUow) -> dict[str, Actor]:
    deploy(make_uow)
    return make_people(make_uow)


def create(make_uow: MakeUow, actor: Actor, entity: str, data: dict[str, Any]) -> int:
    return records.create_record(make_uow(), actor, entity, data, NOW, owner_id=actor.id).id


def history(make_uow: MakeUow, actor: Actor, record_id: int, field: str) -> list[tuple[Any, Any, str]]:
    return [(c.old_value, c.new_value, c.source) for c in records.record_history(make_uow(), actor, record_id)
            if c.field == field]


def test_a_reference_field_is_kept_as_one_link_per_field(make_uow: MakeUow, people: dict[str, Actor]) -> None:
    sam = people["sales"]
    ann = create(make_uow, sam, "Contact", {"full_name": "Ann"})
    bob = create(make_uow, sam, "Contact", {"full_name": "Bob"})
    deal = create(make_uow, sam, "Deal", {"title": "d1", "client": ann})

    [link] = links.record_links(make_uow(), sam, deal).outgoing
    assert (link.record_id, link.entity, link.title, link.kind, link.field) == (ann, "Contact", "Ann", "reference",
                                                                              "client")
    assert [(i.record_id, i.field) for i in links.record_links(make_uow(), sam, ann).incoming] == [(deal, "client")]

    records.update_record(make_uow(), sam, deal, {"client": bob}, NOW)
    assert links.record_links(make_uow(), sam, ann).incoming == []
    assert [o.record_id for o in links.record_links(make_uow(), sam, deal).outgoing] == [bob]
    records.update_record(make_uow(), sam, deal, {"client": None}, NOW)
    assert links.record_links(make_uow(), sam, deal).outgoing == []


def test_reference_and_user_fields_must_name_what_exists(make_uow: MakeUow, people: dict[str, Actor]) -> None:
    sam = people["sales"]
    ann = create(make_uow, sam, "Contact", {"full_name": "Ann"})
    deal = create(make_uow, sam, "Deal", {"title": "d1"})

    with pytest.raises(ValidationError) as missing:
        create(make_uow, sam, "Deal", {"title": "d2", "client": 9999})
    assert missing.value.errors == {"client": ["no Contact record with id 9999"]}
    with pytest.raises(ValidationError) as wrong_entity:
        records.update_record(make_uow(), sam, deal, {"client": deal}, NOW)
    assert wrong_entity.value.errors == {"client": [f"no Contact record with id {deal}"]}

    with pytest.raises(ValidationError) as nobody:
        records.update_record(make_uow(), sam, ann, {"account_manager": "ghost"}, NOW)
    assert nobody.value.errors == {"account_manager": ["no such user"]}
    with make_uow() as uow:
        user = uow.users.by_username("sue")
        assert user is not None
        user.active = False
        uow.commit()
    with pytest.raises(ValidationError, match="no such user"):
        records.update_record(make_uow(), sam, ann, {"account_manager": "sue"}, NOW)
    records.update_record(make_uow(), sam, ann, {"account_manager": "hank"}, NOW)
    assert records.get_record(make_uow(), sam, ann).data["account_manager"] == "hank"


def test_hand_made_links_show_both_ways_and_are_in_history(make_uow: MakeUow, people: dict[str, Actor]) -> None:
    sam = people["sales"]
    ann = create(make_uow, sam, "Contact", {"full_name": "Ann"})
    bob = create(make_uow, sam, "Contact", {"full_name": "Bob"})

    made = links.link_records(make_uow(), sam, ann, bob, "partner", NOW)
    assert (made.record_id, made.kind, made.field, made.created_by) == (bob, "partner", None, "sam")
    assert [(i.record_id, i.kind) for i in links.record_links(make_uow(), sam, bob).incoming] == [(ann, "partner")]
    assert history(make_uow, sam, ann, "link:partner") == [(None, bob, "link")]
    assert history(make_uow, sam, bob, "link:partner") == [(None, ann, "link")]
    with pytest.raises(ConflictError):
        links.link_records(make_uow(), sam, ann, bob, "partner", NOW)

    links.unlink_records(make_uow(), sam, made.id, NOW)
    assert links.record_links(make_uow(), sam, ann).outgoing == []
    assert history(make_uow, sam, ann, "link:partner")[-1] == (bob, None, "unlink")


def test_link_kinds_come_from_the_link_catalog(make_uow: MakeUow, people: dict[str, Actor]) -> None:
    sam = people["sales"]
    ann = create(make_uow, sam, "Contact", {"full_name": "Ann"})
    bob = create(make_uow, sam, "Contact", {"full_name": "Bob"})
    for kind in ("reference", "friend"):
        with pytest.raises(ValidationError) as error:
            links.link_records(make_uow(), sam, ann, bob, kind, NOW)
        assert error.value.errors == {"kind": ["must be one of: related, partner"]}
    with pytest.raises(ValidationError):
        links.link_records(make_uow(), sam, ann, ann, "related", NOW)

    files = {p: t for p, t in bundle_files().items() if p != "crm_model/catalogs/link_type.yaml"}
    deploy_bundle(make_uow(), DESIGNER, files, NOW)
    assert links.link_records(make_uow(), sam, ann, bob, "related", NOW).kind == "related"
    with pytest.raises(ValidationError):
        links.link_records(make_uow(), sam, ann, bob, "partner", NOW)


def test_only_writers_who_see_both_records_may_link(make_uow: MakeUow, people: dict[str, Actor]) -> None:
    sam, sue, otto = people["sales"], people["sales2"], people["auditor"]
    ann = create(make_uow, sam, "Contact", {"full_name": "Ann"})
    bob = create(make_uow, sam, "Contact", {"full_name": "Bob"})
    sues = create(make_uow, sue, "Contact", {"full_name": "Sue's"})

    with pytest.raises(Forbidden):
        links.link_records(make_uow(), otto, ann, bob, "related", NOW)
    with pytest.raises(NotFound):
        links.link_records(make_uow(), sam, ann, sues, "related", NOW)
    made = links.link_records(make_uow(), people["admin"], ann, sues, "related", NOW)

    # the other end is not sam's to open: named by its title (as a CRM lookup), not openable
    assert [(o.title, o.openable) for o in links.record_links(make_uow(), sam, ann).outgoing] == [("Sue's", False)]
    assert [o.record_id for o in links.record_links(make_uow(), otto, ann).outgoing] == [sues]
    with pytest.raises(NotFound):
        links.unlink_records(make_uow(), sam, made.id, NOW)
    with pytest.raises(Forbidden):
        links.unlink_records(make_uow(), otto, made.id, NOW)


def test_a_reference_link_goes_by_clearing_the_field(make_uow: MakeUow, people: dict[str, Actor]) -> None:
    sam = people["sales"]
    ann = create(make_uow, sam, "Contact", {"full_name": "Ann"})
    deal = create(make_uow, sam, "Deal", {"title": "d1", "client": ann})
    [link] = links.record_links(make_uow(), sam, deal).outgoing
    with pytest.raises(ValidationError, match="clear the field"):
        links.unlink_records(make_uow(), sam, link.id, NOW)
