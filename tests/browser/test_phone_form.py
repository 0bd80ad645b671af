"""On a 375 px phone, in Russian: a seller enters an activity (the time zone beside a date-and-time input goes under
it instead of pushing the form off the screen); the head of sales reviews a pair of duplicates (the table of why
they match scrolls inside its card, the page does not scroll sideways)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from engine.bootstrap import UowFactory
from engine.services.records import create_record
from engine.services.users import create_user, get_actor
from tests.browser.test_csp import sign_in
from tests.conftest import NOW, PASSWORD
from tests.web.test_duplicates_ui import pair_of
from tests.web.test_merge_defaults import CURATED, RAW

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser


@pytest.fixture
def seed(browser_db: UowFactory) -> int:
    """anna (sales) and hank (head of sales), Russian, in the bundle's zone (Europe/Moscow); a pair of duplicate
    contacts hank entered: its id."""
    make_uow = browser_db
    create_user(make_uow(), "anna", PASSWORD, ["sales"], NOW, team="north", locale="ru")
    hank = get_actor(make_uow(), create_user(make_uow(), "hank", PASSWORD, ["head_of_sales"], NOW, team="north",
                                             locale="ru").id)
    old = create_record(make_uow(), hank, "Contact", CURATED, NOW).id
    new = create_record(make_uow(), hank, "Contact", RAW, NOW).id
    return pair_of(make_uow, old, new, entity="Contact")


def test_a_seller_on_a_phone_enters_an_activity_without_scrolling_sideways(
    live_server: str, seed: int, page: Page
) -> None:
    from playwright.sync_api import expect

    page.set_viewport_size({"width": 375, "height": 740})
    sign_in(page, live_server, "anna")
    page.goto(f"{live_server}/records/Activity/new")
    zone = page.locator(".field", has=page.get_by_label("Когда")).locator(".suffix")
    expect(zone).to_have_text("Europe/Moscow")
    box = zone.bounding_box()
    assert box is not None
    assert box["x"] + box["width"] <= 375  # the zone goes under the input, not off the screen
    assert page.evaluate("document.documentElement.scrollWidth") <= 375


def test_the_head_of_sales_reviews_duplicates_on_a_phone_without_scrolling_sideways(
    live_server: str, seed: int, page: Page
) -> None:
    from playwright.sync_api import expect

    page.set_viewport_size({"width": 375, "height": 740})
    sign_in(page, live_server, "hank")
    page.goto(f"{live_server}/duplicates/{seed}")
    expect(page.locator("main")).to_contain_text("Телефон")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    merge = page.get_by_role("button", name="Объединить")
    merge.scroll_into_view_if_needed()
    box = merge.bounding_box()
    assert box is not None
    assert box["x"] + box["width"] <= 375
