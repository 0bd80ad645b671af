"""A head of sales (Russian UI) reads her Team tab and the deals board in Chromium: her sellers appear by their
names, their logins only in the tooltip (issue 13)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from engine.bootstrap import UowFactory
from engine.services.records import create_record
from engine.services.tasks import claim_task, list_tasks
from engine.services.users import create_user, get_actor
from tests.browser.test_csp import sign_in
from tests.conftest import NOW, PASSWORD

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser


@pytest.fixture
def seed(browser_db: UowFactory) -> None:
    """helen heads team north; her seller semyon claimed the lead's first task and owns a deal."""
    make_uow = browser_db
    people = {
        login: get_actor(
            make_uow(),
            create_user(make_uow(), login, PASSWORD, roles, NOW, team="north", display_name=name, locale="ru").id,
        )
        for login, name, roles in (
            ("helen", "Елена Смирнова", ["head_of_sales"]),
            ("semyon", "Семён Маркин", ["sales"]),
        )
    }
    lead = create_record(make_uow(), people["helen"], "Lead", {"title": "Стулья для филиала"}, NOW)
    (task,) = [t for t in list_tasks(make_uow(), people["semyon"], "pool") if t.record_id == lead.id]
    claim_task(make_uow(), people["semyon"], task.id, NOW)
    create_record(make_uow(), people["semyon"], "Deal", {"title": "Кресла Ergo", "amount": "12500"}, NOW)


def test_a_head_of_sales_reads_her_team_tab_and_board_by_names(live_server: str, seed: None, page: Page) -> None:
    from playwright.sync_api import expect

    sign_in(page, live_server, "helen")
    page.goto(f"{live_server}/tasks?tab=team")
    row = page.locator("tr", has_text="Стулья для филиала")
    who = row.locator("span.person")
    expect(who).to_have_text("Семён Маркин")
    expect(who).to_have_attribute("title", "semyon")
    expect(row).not_to_contain_text("semyon")
    expect(page.locator("#reassign-to option", has_text="Семён Маркин")).to_have_text("Семён Маркин (semyon)")

    page.goto(f"{live_server}/boards/deals?scope=team")
    card = page.locator(".board-card", has_text="Кресла Ergo")
    expect(card.locator("span.person")).to_have_text("Семён Маркин")
    expect(card).not_to_contain_text("semyon")
