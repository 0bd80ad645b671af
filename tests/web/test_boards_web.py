"""The board page (in the user's language), its move menu and drag endpoint, and the boards REST API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask

from engine.services.records import create_record, get_record
from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.conftest import NOW
from tests.web.conformance import Conformance
from tests.web.conftest import as_user, text


def test_a_seller_moves_a_deal_with_the_menu_and_sees_why_a_move_is_refused(app: Flask, deployed, actors) -> None:
    deal = create_record(deployed(), actors["sales"], "Deal", {"title": "Router", "amount": "1500"}, NOW)
    create_record(deployed(), actors["sales2"], "Deal", {"title": "Not sams", "amount": "7"}, NOW)
    sam = as_user(app, "sam")
    page = text(sam.get("/boards/deals?lang=ru"))
    assert "Сделки" in page
    assert "Router" in page
    assert "Not sams" not in page
    assert "Предложение" in page
    assert "1 500,00 RUB" in page
    html = sam.get("/boards/deals?lang=en").get_data(as_text=True)
    assert 'draggable="true"' in html
    assert 'aria-label="Move “Router” to"' in html
    moved = sam.post("/boards/deals/move", data={"record_id": deal.id, "to": "offer", "back": "scope=mine"})
    assert moved.status_code == 302
    assert moved.headers["Location"].endswith("/boards/deals?scope=mine")
    assert get_record(deployed(), actors["sales"], deal.id).data["stage"] == "offer"
    sam.get("/boards/deals?lang=ru")
    refused = sam.post("/boards/deals/move", json={"record_id": deal.id, "to": "lost"})
    assert refused.status_code == 422
    assert refused.get_json()["message"] == "Причина проигрыша: нужно заполнить перед переносом в «Проиграна»"
    assert get_record(deployed(), actors["sales"], deal.id).data["stage"] == "offer"
    stale = sam.post("/boards/deals/move", json={"record_id": deal.id, "to": "new", "revision": 0})
    assert stale.status_code == 409
    otto = as_user(app, "otto")
    assert 'draggable="true"' not in otto.get("/boards/deals").get_data(as_text=True)
    assert otto.post("/boards/deals/move", json={"record_id": deal.id, "to": "new"}).status_code == 403


def test_the_boards_api_answers_as_documented(api: dict[str, Any], deployed: Callable[[], UnitOfWork],
                                              actors: dict[str, Actor]) -> None:
    c = Conformance()
    sam, dina = api["sales"], api["designer"]
    deal = create_record(deployed(), actors["sales"], "Deal", {"title": "Switch", "amount": "10"}, NOW)
    names = [b["name"] for b in c.check(sam, "get", "/boards", 200)["items"]]
    assert names == ["deals", "requests"]
    board = c.check(sam, "get", "/boards/{name}", 200, name="deals?scope=mine&per_column=5")
    assert next((col["code"], col["count"], col["amount"]) for col in board["columns"]) == ("new", 1, "10.00")
    c.check(sam, "get", "/boards/{name}", 422, name="requests?email=x")
    c.check(sam, "get", "/boards/{name}", 400, name="deals?per_column=0")
    c.check(sam, "get", "/boards/{name}", 404, name="nope")
    c.check(dina, "get", "/boards/{name}", 403, name="deals")
    moved = c.check(sam, "post", "/boards/{name}/moves", 200, {"record_id": deal.id, "to": "negotiation",
                                                               "expected_revision": deal.revision}, name="deals")
    assert (moved["column"], moved["final"]) == ("negotiation", False)
    refused = c.check(sam, "post", "/boards/{name}/moves", 422, {"record_id": deal.id, "to": "lost"}, name="deals")
    assert refused["fields"] == {"loss_reason": ["must be filled in before moving to Lost"]}
    stale = {"record_id": deal.id, "to": "new", "expected_revision": 0}
    c.check(sam, "post", "/boards/{name}/moves", 409, stale, name="deals")
    c.check(sam, "post", "/boards/{name}/moves", 400, {"record_id": deal.id}, name="deals")
    c.check(sam, "post", "/boards/{name}/moves", 422, {"record_id": deal.id, "to": "nowhere"}, name="deals")
