"""A seller (Russian UI) works the deal board in Chromium: a drag the rules refuse snaps back with the reason, an
accepted drag moves the card and the column totals, and the move menu does the same from the keyboard."""

from __future__ import annotations

import pytest

from engine.bootstrap import UowFactory
from engine.services.records import create_record, get_record
from engine.services.users import create_user, get_actor
from tests.conftest import NOW, PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def seed(browser_db: UowFactory) -> dict[str, int]:
    """sam (Russian UI) with two deals of his; their ids."""
    sam = create_user(browser_db(), "sam", PASSWORD, ["sales"], NOW, team="north", display_name="Сэм", locale="ru")
    actor = get_actor(browser_db(), sam.id)
    router = create_record(browser_db(), actor, "Deal", {"title": "Маршрутизаторы", "amount": "1500"}, NOW)
    switch = create_record(browser_db(), actor, "Deal", {"title": "Коммутаторы", "amount": "500"}, NOW)
    return {"router": router.id, "switch": switch.id}


def drag(page, card, column) -> None:
    """An HTML5 drag of `card` onto `column`: the events a mouse drag fires, with one DataTransfer. (Playwright's
    mouse drag does not start an HTML5 drag of these cards with Debian's Chromium.)"""
    transfer = page.evaluate_handle("() => new DataTransfer()")
    card.dispatch_event("dragstart", {"dataTransfer": transfer})
    column.dispatch_event("dragover", {"dataTransfer": transfer})
    column.dispatch_event("drop", {"dataTransfer": transfer})
    card.dispatch_event("dragend", {"dataTransfer": transfer})


def test_a_refused_drag_snaps_back_with_the_reason_and_an_accepted_one_moves(live_server, seed, browser_db, page):
    from playwright.sync_api import expect

    base = live_server
    page.goto(f"{base}/login?next=/boards/deals")
    page.fill("#username", "sam")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Сделки")
    new, lost, offer = (page.locator(f".board-column[data-column={c}]") for c in ("new", "lost", "offer"))
    expect(new.locator(".board-total .count")).to_have_text("2")
    router = page.locator(f".board-card[data-record-id='{seed['router']}']")

    drag(page, router, lost)
    expect(page.locator("#board-message")).to_have_text(
        "Причина проигрыша: нужно заполнить перед переносом в «Проиграна»")
    expect(new.locator(f".board-card[data-record-id='{seed['router']}']")).to_be_visible()  # snapped back
    assert get_record(browser_db(), get_actor(browser_db(), 1), seed["router"]).data["stage"] == "new"

    drag(page, router, offer)
    expect(page.locator(".flash-success")).to_contain_text("«Маршрутизаторы» перенесено в «Предложение»")
    expect(offer.locator(".board-card")).to_contain_text("Маршрутизаторы")
    expect(offer.locator(".board-total")).to_contain_text("1 500,00 RUB")
    expect(new.locator(".board-total .count")).to_have_text("1")

    menu = page.get_by_label("Перенести «Коммутаторы» в")  # the keyboard way: the card's move menu
    menu.focus()
    menu.select_option("negotiation")
    menu.press("Tab")
    page.keyboard.press("Enter")
    expect(page.locator(".flash-success")).to_contain_text("«Коммутаторы» перенесено в «Переговоры»")
    expect(page.locator(".board-column[data-column=negotiation] .board-card")).to_contain_text("Коммутаторы")
