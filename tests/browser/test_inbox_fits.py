"""In Chromium at 1280 px, in Russian: the inbox table with its filter row fits its card, so the seller reaches the
"Применить" button without scrolling sideways (issue 13: the table was ~100 px wider than its card)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from engine.bootstrap import UowFactory
from engine.services import records
from engine.services.users import create_user, get_actor
from tests.browser.test_csp import sign_in
from tests.conftest import NOW, PASSWORD

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser


@pytest.fixture
def seed(browser_db: UowFactory) -> None:
    """sam, a Russian-speaking seller; two leads with long names wait in the sales pool."""
    make_uow = browser_db
    create_user(make_uow(), "sam", PASSWORD, ["sales"], NOW, team="north", locale="ru")
    hank = get_actor(make_uow(), create_user(make_uow(), "hank", PASSWORD, ["head_of_sales"], NOW, locale="ru").id)
    now = NOW.now(NOW.tzinfo)
    for age, title in enumerate(("Константин Константинопольский", "ООО «Северная торговая компания»")):
        records.create_record(make_uow(), hank, "Lead", {"title": title}, now - timedelta(hours=age))


def test_the_inbox_fits_a_1280_px_screen_with_its_apply_button(live_server: str, seed: None, page: Page) -> None:
    from playwright.sync_api import expect

    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, live_server, "sam")
    page.goto(f"{live_server}/tasks?tab=pool")
    apply = page.get_by_role("button", name="Применить")
    expect(apply).to_be_visible()
    sizes = page.evaluate(
        """() => {
        const card = document.querySelector('table.inbox-table').closest('.card');
        const root = document.scrollingElement;
        return {page: root.scrollWidth, view: root.clientWidth, card: card.scrollWidth, inner: card.clientWidth};
    }"""
    )
    assert sizes["page"] <= sizes["view"], sizes
    assert sizes["card"] <= sizes["inner"], sizes  # nothing scrolls sideways inside the card either
    box, card = apply.bounding_box(), page.locator("section.card:has(table.inbox-table)").bounding_box()
    assert box is not None
    assert card is not None
    assert card["x"] <= box["x"]
    assert box["x"] + box["width"] <= min(card["x"] + card["width"], 1280)
