"""In Chromium, an admin working in Russian adds a field to Contact in the configuration editor whose name a rule
already uses for its own `let` value: the preview shows the broken rule's problem in Russian, at its file, line and
element, and offers no deploy."""

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
def seed(browser_db: UowFactory) -> int:
    """ada, an admin whose language is Russian."""
    return create_user(browser_db(), "ada", PASSWORD, ["admin"], NOW, locale="ru").id


def test_a_russian_admin_reads_a_broken_rules_problem_in_russian_in_the_config_editor(
    live_server: str, seed: int, page: Page
) -> None:
    from playwright.sync_api import expect

    sign_in(page, live_server, "ada")
    page.goto(f"{live_server}/admin/config/entities/Contact")
    page.fill("#name", "won_deals")  # crm_model/rules/contact_status_by_deals.yaml counts its won deals by that name
    page.select_option("#type", "integer")
    page.fill("#label_en", "Won deals")
    page.fill("#label_ru", "Выиграно сделок")
    page.get_by_role("button", name="Показать изменение").click()

    problem = page.locator("#preview li", has_text="contact_status_by_deals.yaml")
    expect(problem).to_have_count(1)
    expect(problem.locator("code")).to_have_text("crm_model/rules/contact_status_by_deals.yaml:10")
    expect(problem).to_contain_text("[contact_status_by_deals.won_deals]")
    expect(problem).to_contain_text(
        "имя let 'won_deals' должно быть в snake_case и не совпадать с полем Contact или встроенным именем")
    expect(page.locator("#preview")).not_to_contain_text("must be snake_case")
    expect(page.get_by_role("button", name="Развернуть это изменение")).to_have_count(0)
