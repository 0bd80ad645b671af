"""In Chromium, in English: a seller with more contacts than one page holds sorts and filters the contact list, pages
forward by keyset (the next page goes on in the same order and filter) and comes back to the first page."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from engine.bootstrap import UowFactory
from engine.services import records
from engine.services.users import create_user, get_actor
from tests.browser.test_csp import sign_in
from tests.conftest import NOW, PASSWORD
from web.blueprints.records import PAGE

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser
PETROVS = [f"Petrov {n:02d}" for n in range(PAGE + 5)]  # one page and five more


@pytest.fixture
def seed(browser_db: UowFactory) -> None:
    """sam (sales, English) owns the Petrovs and two contacts the filter leaves out."""
    make_uow = browser_db
    sam = get_actor(make_uow(), create_user(make_uow(), "sam", PASSWORD, ["sales"], NOW, team="north").id)
    for n, name in enumerate([*PETROVS, "Ivanova", "Sidorov"]):
        records.create_record(make_uow(), sam, "Contact", {"full_name": name, "phone": f"+7 916 100-{n:04d}"}, NOW)


def _names(page: Page) -> list[str]:
    page.wait_for_load_state("load")  # a click returns once the next page starts loading, maybe unparsed
    return page.locator("table.list-table tbody td:first-child a").all_inner_texts()


def test_a_seller_pages_a_sorted_filtered_contact_list_forward_and_back(
    live_server: str, seed: None, page: Page
) -> None:
    from playwright.sync_api import expect

    sign_in(page, live_server, "sam")
    page.goto(f"{live_server}/records/Contact")
    page.get_by_label("Filter by Full name").fill("petrov")
    page.get_by_label("Filter by Full name").press("Enter")
    page.locator('th[data-column="title"] a').click()
    page.locator('th[data-column="title"] a').click()  # descending
    expect(page.locator('th[data-column="title"]')).to_have_attribute("aria-sort", "descending")
    newest_first = sorted(PETROVS, reverse=True)
    assert _names(page) == newest_first[:PAGE]

    page.get_by_role("link", name="Next →").click()
    expect(page).to_have_url(re.compile(r"after="))
    assert _names(page) == newest_first[PAGE:]  # the same order and filter go on, nothing repeated or skipped
    expect(page.get_by_role("link", name="Next →")).to_have_count(0)

    page.get_by_role("link", name="« First page").click()
    assert _names(page) == newest_first[:PAGE]
