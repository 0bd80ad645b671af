"""In Chromium at 1280 px: the header keeps its menus, search box and session on one row for every role in Russian
(the longest labels), so a head of sales does not get her Admin menu pushed onto a second row."""

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

PEOPLE = {  # username: roles; all Russian-speaking, in the demo's Moscow team (its label is the longest)
    "helen": ["head_of_sales"],
    "anna": ["sales"],
    "adam": ["admin"],
    "olga": ["auditor"],
}


@pytest.fixture
def seed(browser_db: UowFactory) -> None:
    for username, roles in PEOPLE.items():
        create_user(
            browser_db(), username, PASSWORD, roles, NOW, team="moscow", locale="ru", display_name="Helen Smirnova"
        )


def test_the_header_is_one_row_at_1280_px_for_every_role_in_russian(live_server: str, seed: None, page: Page) -> None:
    page.set_viewport_size({"width": 1280, "height": 800})
    for username in PEOPLE:
        page.context.clear_cookies()
        sign_in(page, live_server, username)
        page.goto(f"{live_server}/boards")
        tops = page.evaluate(
            "() => [...document.querySelectorAll('.mainnav > a, .mainnav summary, .header-search, .session')]"
            ".map(e => Math.round(e.getBoundingClientRect().top))"
        )
        height = page.evaluate("() => document.querySelector('.topbar').getBoundingClientRect().height")
        assert len(tops) >= 4, (username, tops)
        assert max(tops) - min(tops) < 20, (username, tops)  # one row: nothing starts a line below the others
        assert height <= 64, (username, height)
