"""A Russian seller on a 375 px phone enters an activity: the time zone beside a date-and-time input goes under it
instead of pushing the form off the screen."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from engine.bootstrap import UowFactory
from engine.services.users import create_user
from tests.browser.test_csp import sign_in
from tests.conftest import NOW, PASSWORD

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser


@pytest.fixture
def seed(browser_db: UowFactory) -> None:
    """anna: sales, Russian, in the bundle's zone (Europe/Moscow)."""
    create_user(browser_db(), "anna", PASSWORD, ["sales"], NOW, team="north", locale="ru")


def test_a_seller_on_a_phone_enters_an_activity_without_scrolling_sideways(
    live_server: str, seed: None, page: Page
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
