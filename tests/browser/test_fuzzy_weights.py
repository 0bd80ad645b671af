"""In Chromium, in Russian: the head of sales opens a pair a fuzzy rule found (similar name, same organization) and
reads each field's share of the score beside its score — the rule's weights, not just the field scores."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from engine.bootstrap import UowFactory
from engine.services.records import create_record
from engine.services.users import create_user, get_actor
from tests.browser.test_csp import sign_in
from tests.conftest import NOW, PASSWORD

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser


@pytest.fixture
def seed(browser_db: UowFactory) -> int:
    """hank (head of sales, Russian); Ivan Petrov and Iwan Petrow of one organization: their pair's id."""
    hank = get_actor(browser_db(), create_user(browser_db(), "hank", PASSWORD, ["head_of_sales"], NOW, team="north",
                                               locale="ru").id)
    org = create_record(browser_db(), hank, "Organization", {"name": "Romashka"}, NOW).id
    create_record(browser_db(), hank, "Contact", {"full_name": "Ivan Petrov", "organization": org}, NOW)
    create_record(browser_db(), hank, "Contact", {"full_name": "Ivan Petorv", "organization": org}, NOW)
    with browser_db() as uow:
        pairs = uow.quality.queue("Contact", limit=5)
        assert [p.rule for p in pairs] == ["similar_name_same_org"]
        return pairs[0].id


def test_the_head_reads_the_weight_of_each_field_of_a_fuzzy_pair(live_server: str, seed: int, page: Page) -> None:
    from playwright.sync_api import expect

    sign_in(page, live_server, "hank")
    page.goto(f"{live_server}/duplicates/{seed}")
    table = page.locator("section.card", has=page.get_by_role("heading", name="Почему")).locator("table")
    expect(table.locator("thead")).to_contain_text("Вес")
    expect(table.locator("tr", has_text="Ivan Petorv")).to_contain_text("70%")  # full_name: 0.7 of the rule
    expect(table.locator("tbody tr").filter(has_not_text="Ivan")).to_contain_text("30%")  # the organization: 0.3
