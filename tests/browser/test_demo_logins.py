"""Served with the real estate example in demo mode, the login page offers that example's demo users, in Russian,
and one click signs in as one of them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from engine.bootstrap import UowFactory
from engine.services.users import create_user
from tests.browser.conftest import served
from tests.conftest import NOW
from tests.web.test_demo_logins import REAL_ESTATE

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser


@pytest.fixture
def live_server(browser_db: UowFactory) -> Iterator[str]:
    """The app in demo mode serving the real estate example's demo logins; maxim (its agent) exists."""
    create_user(browser_db(), "maxim", "demo-agent-1", ["sales"], NOW, team="agents", locale="ru")
    with served(browser_db, DEMO=True, DEMO_SEED=REAL_ESTATE / "demo" / "seed.yaml") as base:
        yield base


def test_the_login_page_offers_the_served_examples_demo_users(live_server: str, page: Page) -> None:
    from playwright.sync_api import expect

    page.goto(f"{live_server}/login?lang=ru")
    demo = page.locator("section.demo")
    expect(demo).to_contain_text("Демо-пользователи")
    expect(demo).to_contain_text("maxim")
    expect(demo).to_contain_text("demo-agent-1")
    expect(demo).not_to_contain_text("demo-sales-1")
    demo.locator("tr", has_text="maxim").get_by_role("button").click()
    page.wait_for_url(f"{live_server}/tasks")
