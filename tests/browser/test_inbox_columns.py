"""In Chromium, in Russian: a seller sorts the inbox pool by a column header and filters it by a column box (the
filter stays in the URL and on the other tabs, the tab count follows it); a head of sales reads a report whose
period is in their time zone (a lead in at 22:30 UTC on 30 April is a May lead in Moscow)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
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
LEADS = ("Борис Орлов", "Анна Белова", "Вера Белкина")
LATE_APRIL = datetime(2026, 4, 30, 22, 30, tzinfo=UTC)


@pytest.fixture
def seed(browser_db: UowFactory) -> None:
    """sam (sales) and hank (head of sales), both in Russian in the bundle's zone (Europe/Moscow); three leads
    wait in the sales pool; one more came in at 22:30 UTC on 30 April 2026."""
    make_uow = browser_db
    create_user(make_uow(), "sam", PASSWORD, ["sales"], NOW, team="north", locale="ru")
    hank = get_actor(
        make_uow(), create_user(make_uow(), "hank", PASSWORD, ["head_of_sales"], NOW, team="north", locale="ru").id
    )
    now = NOW.now(NOW.tzinfo)
    for age, title in enumerate(LEADS):
        records.create_record(make_uow(), hank, "Lead", {"title": title}, now - timedelta(hours=age))
    records.create_record(make_uow(), hank, "Lead", {"title": "Ночной лид"}, LATE_APRIL)


def _records(page: Page) -> list[str]:
    page.wait_for_load_state("load")  # a click returns once the next page starts loading, maybe unparsed
    return page.locator("table.inbox-table tbody td:nth-child(2) a").all_inner_texts()


def test_a_seller_sorts_and_filters_the_inbox_by_its_columns(live_server: str, seed: None, page: Page) -> None:
    from playwright.sync_api import expect

    sign_in(page, live_server, "sam")
    page.goto(f"{live_server}/tasks?tab=pool")
    expect(page.locator('.tabs a[data-tab="pool"] .count')).to_have_text("4")
    page.locator('th[data-column="record"] a').click()
    expect(page.locator('th[data-column="record"]')).to_have_attribute("aria-sort", "ascending")
    assert _records(page) == ["Анна Белова", "Борис Орлов", "Вера Белкина", "Ночной лид"]
    page.locator('th[data-column="record"] a').click()
    expect(page.locator('th[data-column="record"]')).to_have_attribute("aria-sort", "descending")
    assert _records(page) == ["Ночной лид", "Вера Белкина", "Борис Орлов", "Анна Белова"]

    box = page.get_by_label("Фильтр по полю «Запись»")
    box.fill("бел")
    box.press("Enter")
    expect(page.locator('.tabs a[data-tab="pool"] .count')).to_have_text("2")
    assert _records(page) == ["Вера Белкина", "Анна Белова"]  # still sorted descending
    assert re.search(r"f\.record=%D0%B1%D0%B5%D0%BB", page.url)
    assert "sort=record" in page.url
    expect(page.get_by_label("Фильтр по полю «Запись»")).to_have_value("бел")

    page.get_by_label("Фильтр по полю «Задача»").fill("квалиф")  # the task's name as the seller reads it
    page.get_by_label("Фильтр по полю «Задача»").press("Enter")
    assert _records(page) == ["Вера Белкина", "Анна Белова"]
    expect(page.locator("table.inbox-table tbody")).to_contain_text("Квалифицировать лид")

    page.locator('.tabs a[data-tab="mine"]').click()
    assert "f.record=" in page.url  # the tab keeps the filter
    expect(page.locator("table.inbox-table tbody")).to_contain_text("Под эти фильтры задач нет.")
    page.goto(f"{live_server}/tasks?tab=pool&f.due.from=30.04.2026")
    expect(page.locator("table.inbox-table")).to_contain_text("должно быть датой ГГГГ-ММ-ДД")


def test_a_head_of_sales_reads_a_report_period_in_moscow_time(live_server: str, seed: None, page: Page) -> None:
    from playwright.sync_api import expect

    sign_in(page, live_server, "hank")
    page.goto(f"{live_server}/reports/lead_conversion_by_period")
    page.fill("#report-from", "2026-05-01")
    page.fill("#report-to", "2026-05-31")
    page.get_by_role("button", name="Показать").click()
    expect(page.locator(".report-zone")).to_have_text("Дни и месяцы — по часовому поясу Europe/Moscow.")
    table = page.locator("table.report-table")
    expect(table.locator("thead th").first).to_contain_text("(Europe/Moscow)")
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table.locator("tbody tr td").first).to_have_text("2026-05")  # 22:30 UTC on 30 April is May in Moscow
    expect(table.locator("tbody tr td").nth(1)).to_have_text("1")
