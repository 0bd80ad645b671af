"""A seller (Russian UI) works the request board in Chromium with the mouse: a drag the pipeline refuses snaps back
with the reason, an accepted one moves the card, runs the stage's actions and updates the totals; the card's move
menu does the same from the keyboard, and a final action without its required field is refused there too."""

from __future__ import annotations

import pytest

from engine.bootstrap import UowFactory
from engine.services.records import create_record, get_record
from engine.services.users import create_user, get_actor
from tests.conftest import NOW, PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def seed(browser_db: UowFactory) -> int:
    """sam (Russian UI) with a web inquiry of his in the pipeline's first stage; its id."""
    sam = create_user(browser_db(), "sam", PASSWORD, ["sales"], NOW, team="north", display_name="Сэм", locale="ru")
    lead = create_record(browser_db(), get_actor(browser_db(), sam.id), "Lead", {
        "title": "Ноутбуки для школы", "budget": "150000", "request_type": "web_inquiry", "request_stage": "new"}, NOW)
    return lead.id


def test_a_refused_drag_snaps_back_with_the_reason_and_an_accepted_one_moves(live_server, seed, browser_db, page):
    from playwright.sync_api import expect

    base, lead_id = live_server, seed
    page.goto(f"{base}/login?next=/boards/requests")
    page.fill("#username", "sam")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Обращения")
    new, callback, qualified = (page.locator(f".board-column[data-column={c}]")
                                for c in ("new", "callback_scheduled", "qualified"))
    expect(new.locator(".board-total")).to_contain_text("150 000,00 RUB")
    card = page.locator(f".board-card[data-record-id='{lead_id}']")

    card.drag_to(callback, source_position={"x": 4, "y": 4})  # a stage of another pipeline
    expect(page.locator("#board-message")).to_have_text(
        "Этап обращения: по воронке можно перейти только к: Квалифицировано, Предложение отправлено, "
        "Перевести в сделку, Дубликат другого обращения, Дисквалифицировать")
    expect(new.locator(".board-card")).to_contain_text("Ноутбуки для школы")  # snapped back
    sam = get_actor(browser_db(), 1)
    assert get_record(browser_db(), sam, lead_id).data["request_stage"] == "new"

    card.drag_to(qualified, source_position={"x": 4, "y": 4})
    expect(page.locator(".flash-success")).to_contain_text("«Ноутбуки для школы» перенесено в «Квалифицировано»")
    expect(qualified.locator(".board-card")).to_contain_text("Ноутбуки для школы")
    expect(qualified.locator(".board-total .count")).to_have_text("1")
    expect(new.locator(".board-total .count")).to_have_text("0")
    assert get_record(browser_db(), sam, lead_id).data["status"] == "qualified"  # the stage's on_enter ran

    menu = page.get_by_label("Перенести «Ноутбуки для школы» в")  # the keyboard way: the card's move menu
    menu.focus()
    menu.select_option("lost")
    menu.press("Tab")
    page.keyboard.press("Enter")
    expect(page.locator(".flash-error")).to_have_text(
        "Причина дисквалификации: нужно заполнить перед действием «Дисквалифицировать»")
    assert get_record(browser_db(), sam, lead_id).data["request_stage"] == "qualified"
