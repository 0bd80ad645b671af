"""A salesperson working in Russian imports a file whose row is, by a fuzzy duplicate rule, a contact they already
have: the import report says a pair was queued by the duplicate rules and leads to the review queue, where it is."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from engine.bootstrap import UowFactory
from engine.services.records import create_record
from engine.services.users import create_user, get_actor
from engine.store.models import RecordRow
from tests.browser.test_csp import sign_in
from tests.conftest import NOW, PASSWORD

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser


@pytest.fixture
def seed(browser_db: UowFactory) -> int:
    """sam (sales, Russian) owning the contact Ivan Ivanov; its id."""
    sam = get_actor(browser_db(), create_user(browser_db(), "sam", PASSWORD, ["sales"], NOW, locale="ru").id)
    return create_record(
        browser_db(), sam, "Contact", {"full_name": "Ivan Ivanov", "email": "ivan@example.com"}, NOW, owner_id=sam.id
    ).id


def test_salesperson_sees_the_fuzzy_pairs_an_import_queued(
    live_server: str, seed: int, page: Page, browser_db: UowFactory, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    upload = tmp_path / "contacts.csv"
    upload.write_text("ФИО,Должность\nIwan Iwanow,CEO\n", encoding="utf-8")  # the same name the Latin way
    sign_in(page, live_server, "sam")
    page.goto(f"{live_server}/imports/new")
    page.set_input_files("#f-file", str(upload))
    page.select_option("#f-entity", "Contact")
    page.get_by_role("button", name="Загрузить и сопоставить столбцы").click()
    page.get_by_role("button", name="Запустить импорт").click()

    expect(page.locator("#import-counts")).to_contain_text("создано 1", timeout=30_000)
    expect(page.locator("#import-counts")).to_contain_text("пар по правилам дублей 1")
    expect(page.locator("#import-rule-pairs")).to_contain_text("Они ждут в очереди проверки, ничего не объединено")
    with browser_db() as uow:
        new = uow.session.query(RecordRow).filter(RecordRow.entity == "Contact", RecordRow.id != seed).one().id
        kept = uow.session.get(RecordRow, seed).data
    assert (kept["full_name"], kept.get("position")) == ("Ivan Ivanov", None)  # nothing was folded into it
    page.locator("#import-rule-pairs").get_by_role("link", name="Проверить").click()
    row = page.locator("tr", has_text=f"Iwan Iwanow #{new}")
    expect(row).to_contain_text(f"Ivan Ivanov #{seed}")
