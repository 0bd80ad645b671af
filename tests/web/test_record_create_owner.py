"""A salesperson who creates a record owns it and lands on its card (they see only records they own); records a
head of sales creates stay unowned, for the pool and assignment rules."""

from __future__ import annotations

from engine.services.records import create_record, get_record
from tests.conftest import NOW
from tests.web.conftest import as_user, text

MSK = {"code": "MSK", "name": "Москва", "region": "moscow", "manager": "sue"}


def test_a_seller_creating_a_contact_owns_it_and_lands_on_its_card(app, deployed, actors):
    sam = as_user(app, "sam")
    response = sam.post("/records/Contact/new", data={"full_name": "Петров Пётр", "phone": "+7 916 123-45-67"})
    assert response.status_code == 302
    card = sam.get(response.headers["Location"])
    assert card.status_code == 200
    assert "Петров Пётр" in text(card)
    record_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert get_record(deployed(), actors["sales"], record_id).owner == "sam"


def test_a_record_created_through_the_service_by_a_seller_is_theirs(deployed, actors):
    made = create_record(deployed(), actors["sales"], "Contact", {"full_name": "Сидорова Анна"}, NOW)
    assert made.owner == "sam"
    assert get_record(deployed(), actors["sales"], made.id).id == made.id
    assert create_record(deployed(), actors["head"], "Contact", {"full_name": "Pool contact"}, NOW).owner is None


def moscow_goes_to_sue(deployed, actors):
    """The territory MSK managed by sue: the territory rule gives her unowned Moscow contacts."""
    create_record(deployed(), actors["head"], "Territory", MSK, NOW)


def test_an_owner_a_rule_assigns_wins_over_the_creating_seller(deployed, actors):
    moscow_goes_to_sue(deployed, actors)
    made = create_record(deployed(), actors["sales"], "Contact", {"full_name": "Орлова Ольга", "region": "moscow"}, NOW)
    assert made.owner == "sue"


def test_a_seller_whose_new_contact_a_rule_gives_away_lands_on_the_list_told_who_has_it(app, deployed, actors):
    moscow_goes_to_sue(deployed, actors)
    sam = as_user(app, "sam")
    response = sam.post(
        "/records/Contact/new?lang=ru",
        data={"full_name": "Орлова Ольга", "region": "moscow", "phone": "+7 916 555-44-33"},
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/records/Contact")
    assert "«Орлова Ольга» создана; по правилу она передана sue." in text(sam.get(response.headers["Location"]))


def test_a_seller_creating_a_contact_through_the_api_owns_it(api):
    created = api["sales"].post("/records/Contact", {"full_name": "Котов Кирилл", "phone": "+7 916 222-33-44"})
    assert created.status_code == 201
    assert created.get_json()["owner"] == "sam"
    assert api["sales"].get(f"/records/{created.get_json()['id']}").status_code == 200
    history = api["sales"].get(f"/records/{created.get_json()['id']}/history").get_json()["items"]
    assert {(h["field"], h["old_value"], h["new_value"], h["actor"]) for h in history} >= {
        ("owner", None, "sam", "sam")
    }
