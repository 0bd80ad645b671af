"""A head of sales (English UI) narrows the request board in Chromium: to her team's cards, by a declared filter
(channel), to her own; the column totals follow what is shown."""

from __future__ import annotations

import re
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
def seed(browser_db: UowFactory) -> None:
    """hank (head of sales, north) with a lead; sam (north) with a website and a phone lead; sue (south) with one."""
    make_uow = browser_db
    people = {
        name: get_actor(make_uow(), create_user(make_uow(), name, PASSWORD, roles, NOW, team=team).id)
        for name, roles, team in (
            ("hank", ["head_of_sales"], "north"),
            ("sam", ["sales"], "north"),
            ("sue", ["sales"], "south"),
        )
    }
    for owner, title, channel, budget in (
        ("hank", "Hank's inquiry", "website", "1000"),
        ("sam", "Sam's website inquiry", "website", "2000"),
        ("sam", "Sam's phoned inquiry", "phone_call", "4000"),
        ("sue", "Sue's inquiry", "website", "8000"),
    ):
        create_record(
            make_uow(),
            people[owner],
            "Lead",
            {
                "title": title,
                "budget": budget,
                "channel": channel,
                "request_type": "web_inquiry",
                "request_stage": "new",
            },
            NOW,
        )


def test_a_head_of_sales_shows_her_teams_cards_filters_them_by_channel_and_shows_her_own(
    live_server: str, seed: None, page: Page
) -> None:
    from playwright.sync_api import expect

    sign_in(page, live_server, "hank")
    page.goto(f"{live_server}/boards/requests")
    new = page.locator(".board-column[data-column=new]")
    count, total = new.locator(".board-total .count"), new.locator(".board-total")

    def show(scope: str, channel: str = "") -> None:
        page.get_by_label("Show").select_option(label=scope)
        page.get_by_label("Channel").select_option(channel)
        page.get_by_role("button", name="Apply").click()

    expect(count).to_have_text("3")  # her team's two and the pool's inquiry (hers went to the pool, unowned)
    expect(new).to_contain_text("Hank's inquiry")
    expect(new).not_to_contain_text("Sue's inquiry")  # another team's: not hers to see

    show("My team")
    expect(count).to_have_text("2")
    expect(new).not_to_contain_text("Hank's inquiry")
    expect(total).to_contain_text(re.compile(r"6\s000\.00 RUB"))

    show("My team", "website")
    expect(new.locator(".board-card")).to_have_text([re.compile("Sam's website inquiry")])
    expect(count).to_have_text("1")
    expect(total).to_contain_text(re.compile(r"2\s000\.00 RUB"))
    expect(page).to_have_url(re.compile(r"scope=team.*channel=website"))

    show("Mine")
    expect(count).to_have_text("0")  # she owns none of them
    expect(new.locator(".board-card")).to_have_count(0)
