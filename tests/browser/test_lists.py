"""In Chromium, in Russian: a seller picks the columns of the contact list (kept after a reload), sorts it by a
column header, filters it by a column box; the inbox tabs show how many tasks are mine, in the pool and overdue."""

from __future__ import annotations

import re
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
NAMES = ("Борис Орлов", "Анна Белова", "Вера Котова", "Глеб Беляев")


@pytest.fixture
def seed(browser_db: UowFactory) -> None:
    """sam (sales, Russian) owns four contacts; three leads wait in the sales pool, two of them past due."""
    make_uow = browser_db
    sam = get_actor(make_uow(), create_user(make_uow(), "sam", PASSWORD, ["sales"], NOW, team="north",
                                            locale="ru").id)
    hank = get_actor(make_uow(), create_user(make_uow(), "hank", PASSWORD, ["head_of_sales"], NOW, team="north",
                                             locale="ru").id)
    now = NOW.now(NOW.tzinfo)  # the server reads the real clock; qualify_lead is due a day after the lead
    for n, name in enumerate(NAMES):
        records.create_record(make_uow(), sam, "Contact", {"full_name": name, "position": f"Должность {n}",
                                                             "phone": f"+7 916 000-00-0{n}"}, now)
    for title, age in (("Старый лид", 3), ("Давний лид", 2), ("Новый лид", 0)):
        records.create_record(make_uow(), hank, "Lead", {"title": title}, now - timedelta(days=age))


def _names(page: Page) -> list[str]:
    page.wait_for_load_state("load")  # a click returns once the next page starts loading, maybe unparsed
    return page.locator("table.list-table tbody td:first-child a").all_inner_texts()


def test_a_seller_chooses_columns_sorts_and_filters_contacts_and_sees_tab_counts(
    live_server: str, seed: None, page: Page
) -> None:
    from playwright.sync_api import expect

    sign_in(page, live_server, "sam")
    page.goto(f"{live_server}/records/Contact")
    expect(page.locator("h1")).to_have_text("Контакт")
    expect(page.locator(".total")).to_contain_text("Найдено записей: 4")
    page.get_by_text("Колонки", exact=True).click()
    page.get_by_label("Должность").check()
    page.get_by_role("button", name="Сохранить колонки").click()
    expect(page.locator("body")).to_contain_text("Колонки сохранены.")
    page.reload()
    expect(page.locator('th[data-column="position"]')).to_have_text("Должность")

    page.locator('th[data-column="title"] a').click()
    expect(page.locator('th[data-column="title"]')).to_have_attribute("aria-sort", "ascending")
    assert _names(page) == sorted(NAMES)
    page.locator('th[data-column="title"] a').click()
    expect(page.locator('th[data-column="title"]')).to_have_attribute("aria-sort", "descending")
    assert _names(page) == sorted(NAMES, reverse=True)

    page.get_by_label("Фильтр по полю «ФИО»").fill("бел")
    page.get_by_label("Фильтр по полю «ФИО»").press("Enter")
    expect(page.locator(".total")).to_contain_text("Найдено записей: 2")
    assert _names(page) == ["Глеб Беляев", "Анна Белова"]  # still sorted descending
    assert re.search(r"sort=title", page.url)

    page.goto(f"{live_server}/tasks?tab=pool")
    counts = {tab: page.locator(f'.tabs a[data-tab="{tab}"] .count').inner_text()
              for tab in ("mine", "pool", "overdue")}
    assert counts == {"mine": "0", "pool": "3", "overdue": "2"}
    page.locator('.tabs a[data-tab="overdue"]').click()
    expect(page.locator("tbody tr.overdue")).to_have_count(2)
    expect(page.locator("tbody")).not_to_contain_text("Новый лид")
