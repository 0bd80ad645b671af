"""A salesperson working in Russian imports a file whose row is a contact they already have, chooses in the wizard
that a matching row goes to duplicate review, and finds the row kept as a record of its own with the pair queued."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from engine.bootstrap import UowFactory
from engine.services.records import create_record
from engine.services.users import create_user, get_actor
from engine.store.models import RecordRow
from engine.store.quality_models import DuplicatePairRow
from tests.browser.test_csp import sign_in
from tests.conftest import NOW, PASSWORD

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser


@pytest.fixture
def seed(browser_db: UowFactory) -> int:
    """sam (sales, Russian) owning the contact Ivan Ivanov; its id."""
    sam = get_actor(browser_db(), create_user(browser_db(), "sam", PASSWORD, ["sales"], NOW, locale="ru").id)
    return create_record(browser_db(), sam, "Contact", {"full_name": "Ivan Ivanov", "email": "ivan@example.com",
                                                        "position": "CTO"}, NOW, owner_id=sam.id).id


def test_salesperson_sends_a_matching_row_to_duplicate_review(live_server: str, seed: int, page: Page,
                                                              browser_db: UowFactory, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    upload = tmp_path / "contacts.csv"
    upload.write_text("ФИО,Email,Должность\nIvan Ivanov,ivan@example.com,CEO\n", encoding="utf-8")
    sign_in(page, live_server, "sam")
    page.goto(f"{live_server}/imports/new")
    page.set_input_files("#f-file", str(upload))
    page.select_option("#f-entity", "Contact")
    page.get_by_role("button", name="Загрузить и сопоставить столбцы").click()
    expect(page.locator("#on-match")).to_contain_text("как настроено: заполнить пустые поля")
    page.get_by_label("сохранить строку отдельной записью и поставить пару в очередь проверки дублей").check()
    page.get_by_role("button", name="Запустить импорт").click()

    expect(page.locator("#import-counts")).to_contain_text("на проверку 1", timeout=30_000)
    with browser_db() as uow:
        ids = [r.id for r in uow.session.query(RecordRow).filter(RecordRow.entity == "Contact").order_by(RecordRow.id)]
        pairs = [(p.record_a_id, p.record_b_id, p.status) for p in uow.session.query(DuplicatePairRow)]
    assert len(ids) == 2
    assert pairs == [(seed, ids[1], "open")]
    page.goto(f"{live_server}/duplicates")
    expect(page.locator("h1")).to_contain_text("Проверка дублей")
    row = page.locator("tr", has_text=f"Ivan Ivanov #{ids[1]}")
    expect(row).to_contain_text(f"Ivan Ivanov #{seed}")
    expect(row).to_contain_text("Должность отличается")  # the value the file disagreed on is named
