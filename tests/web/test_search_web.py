"""The header search box and its results page (grouped, in the user's language), and GET /api/v1/search."""

from __future__ import annotations

from typing import Any

from flask import Flask
from jsonschema import Draft202012Validator

from engine.services.records import create_record
from tests.conftest import NOW
from tests.web.conformance import Conformance
from tests.web.conftest import as_user, text


def test_the_header_box_finds_a_contact_by_a_phone_typed_differently(app: Flask, deployed, actors) -> None:
    create_record(deployed(), actors["sales"], "Contact", {"full_name": "Иванов Пётр", "phone": "+79123456789"}, NOW)
    create_record(deployed(), actors["sales2"], "Contact", {"full_name": "Иванова Анна", "phone": "+79001112233",
                                                          "email": "anna@example.ru"}, NOW)
    sam = as_user(app, "sam")
    home = sam.get("/tasks?lang=ru").get_data(as_text=True)
    assert 'role="search"' in home
    assert 'aria-label="Поиск по именам, телефонам, e-mail"' in home
    page = text(sam.get("/search?q=8+(912)+345-67-89"))
    assert "Контакт Иванов Пётр" in page
    assert "Иванова Анна" not in text(sam.get("/search?q=ivanov"))  # sue's contact
    assert "По запросу «smirnov» ничего не найдено." in text(sam.get("/search?q=smirnov"))
    dina = as_user(app, "dina")
    assert 'role="search"' not in dina.get("/designer").get_data(as_text=True)


def test_a_partial_phone_finds_the_contacts_whose_number_starts_with_it(app: Flask, deployed, actors) -> None:
    """The start of a number as people type it — with the trunk prefix 8, as E.164 digits, with a dash — finds
    the seller's contacts whose phone starts with those digits; digits from the middle of a number do not."""
    create_record(deployed(), actors["sales"], "Contact", {"full_name": "Иванов Пётр", "phone": "+79123456789"}, NOW)
    create_record(deployed(), actors["sales"], "Contact", {"full_name": "Смирнов Олег", "phone": "8 (912) 340-00-00"},
                  NOW)
    create_record(deployed(), actors["sales"], "Contact", {"full_name": "Петров Иван", "phone": "+79001112233"}, NOW)
    sam = as_user(app, "sam")
    for typed in ("8 912 345", "+7912345", "912-34-5", "7 912 345 6"):
        page = text(sam.get("/search", query_string={"q": typed, "lang": "ru"}))
        assert "Иванов Пётр" in page, typed
        assert "Смирнов Олег" not in page, typed
        assert "Петров Иван" not in page, typed
    both = text(sam.get("/search", query_string={"q": "8 912 34"}))
    assert "Иванов Пётр" in both
    assert "Смирнов Олег" in both
    assert "Петров Иван" not in both
    assert "По запросу «345-67» ничего не найдено." in text(sam.get("/search", query_string={"q": "345-67",
                                                                                              "lang": "ru"}))
    newest_first = text(sam.get("/search", query_string={"q": "+7912"}))
    assert newest_first.index("Смирнов Олег") < newest_first.index("Иванов Пётр")


def searched(c: Conformance, user: Any, status: int, **query: str) -> dict[str, Any]:
    """GET /search?… checked against the document's schema for that status."""
    response = user.get("/search", **query)
    assert response.status_code == status, response.get_json()
    declared = c.schema("/search", "get", status)
    root = {"$ref": "#/$defs/target", "$defs": {"target": declared}, "components": c.document["components"]}
    assert not list(Draft202012Validator(root).iter_errors(response.get_json()))
    answer: dict[str, Any] = response.get_json()
    return answer


def test_the_search_api_answers_as_documented(api: dict[str, Any], deployed, actors) -> None:
    c = Conformance()
    create_record(deployed(), actors["sales"], "Lead", {"title": "Ноутбуки", "email": "Buyer@Example.com"}, NOW)
    found = searched(c, api["sales"], 200, q="buyer@example")
    assert [(g["entity"], [h["title"] for h in g["hits"]]) for g in found["groups"]] == [("Lead", ["Ноутбуки"])]
    searched(c, api["sales"], 400)
    searched(c, api["designer"], 403, q="x")
