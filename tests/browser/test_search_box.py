"""A seller (English UI) types a client's phone the way the client said it into the header search box, gets the
contact grouped under Contacts, walks the results with the keyboard and opens the card."""

from __future__ import annotations

import pytest

from engine.bootstrap import UowFactory
from engine.services.records import create_record
from engine.services.users import create_user, get_actor
from tests.conftest import NOW, PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def seed(browser_db: UowFactory) -> int:
    """sam with a contact and a lead of his; the contact's id."""
    sam = create_user(browser_db(), "sam", PASSWORD, ["sales"], NOW, team="north", display_name="Sam")
    actor = get_actor(browser_db(), sam.id)
    contact = create_record(browser_db(), actor, "Contact", {"full_name": "Петров Иван", "phone": "+7 912 345-67-89",
                                                             "email": "ivan@example.ru"}, NOW)
    create_record(browser_db(), actor, "Lead", {"title": "Servers for Petrov", "contact_name": "Иван Петров"}, NOW)
    return contact.id


def test_search_by_a_phone_typed_differently_and_by_a_transliterated_name(live_server, seed, page):
    from playwright.sync_api import expect

    base = live_server
    page.goto(f"{base}/login?next=/tasks")
    page.fill("#username", "sam")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    box = page.get_by_role("searchbox", name="Search names, phones, e-mails")
    box.fill("8 (912) 345 67 89")
    box.press("Enter")
    expect(page.locator("h1")).to_have_text("Search")
    expect(page.locator(".search-results h2")).to_have_text(["Contact"])
    expect(page.locator(".search-hit")).to_have_text(["Петров Иван"])

    box = page.locator("#search-page-q")
    box.fill("petrov")
    box.press("Enter")
    expect(page.locator(".search-results h2")).to_have_text(["Contact", "Lead"])
    page.wait_for_load_state("load")  # the keys are handled by a deferred script: parsed HTML is not enough
    page.locator("#search-page-q").focus()
    page.keyboard.press("ArrowDown")
    expect(page.locator(".search-hit").first).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(page.locator(".search-hit").nth(1)).to_be_focused()
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{base}/records/{seed}")
