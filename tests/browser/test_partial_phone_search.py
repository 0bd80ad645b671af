"""A seller (Russian UI, Europe/Moscow) types only the start of a client's number into the header search box — with
the trunk prefix 8, as E.164 digits, with a dash — and finds her contacts whose phone starts with it (not others)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from engine.bootstrap import UowFactory
from engine.services.records import create_record
from engine.services.users import create_user, get_actor, set_preferences
from tests.browser.test_csp import sign_in
from tests.conftest import NOW, PASSWORD

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser


@pytest.fixture
def seed(browser_db: UowFactory) -> None:
    """olga (sales, ru, Europe/Moscow) with three contacts: two numbers starting 912 34, one 900."""
    user = create_user(
        browser_db(), "olga", PASSWORD, ["sales"], NOW, team="north", display_name="Ольга Петрова", locale="ru"
    )
    olga = set_preferences(browser_db(), get_actor(browser_db(), user.id), locale="ru", timezone="Europe/Moscow")
    for name, phone in (
        ("Иванов Пётр", "+7 912 345-67-89"),
        ("Смирнов Олег", "8 (912) 340-00-00"),
        ("Петров Иван", "+7 900 111-22-33"),
    ):
        create_record(browser_db(), olga, "Contact", {"full_name": name, "phone": phone}, NOW)


def test_a_seller_finds_contacts_by_the_start_of_a_phone(live_server: str, seed: None, page: Page) -> None:
    from playwright.sync_api import expect

    sign_in(page, live_server, "olga")
    for typed, found in (
        ("8 912 345", ["Иванов Пётр"]),
        ("+7912", ["Смирнов Олег", "Иванов Пётр"]),
        ("912-34", ["Смирнов Олег", "Иванов Пётр"]),
    ):
        box = page.get_by_role("searchbox", name="Поиск по именам, телефонам, e-mail")
        box.fill(typed)
        box.press("Enter")
        expect(page.locator(".search-results h2")).to_have_text(["Контакт"])
        expect(page.locator(".search-hit")).to_have_text(found)
    box = page.get_by_role("searchbox", name="Поиск по именам, телефонам, e-mail")
    box.fill("345-67")
    box.press("Enter")
    expect(page.locator(".search-hit")).to_have_count(0)
    expect(page.locator("main")).to_contain_text("По запросу «345-67» ничего не найдено.")
