"""In Chromium, in Russian, as a seller: log a call on a contact's card with its next task (the call shows on the
timeline, the task in the inbox); pick a contact's organization by typing part of its name; link the contact to
a record of any entity picked by name in the card's link form (it used to ask for a record number)."""

from __future__ import annotations

import re
from datetime import date, timedelta
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


@pytest.fixture
def seed(browser_db: UowFactory) -> dict[str, int]:
    """sam, a Russian-speaking seller, with his contact and two organizations (one his); sue's organization."""
    make_uow = browser_db
    sam = get_actor(make_uow(), create_user(make_uow(), "sam", PASSWORD, ["sales"], NOW, team="north",
                                            locale="ru").id)
    sue = get_actor(make_uow(), create_user(make_uow(), "sue", PASSWORD, ["sales"], NOW, team="north").id)
    contact = records.create_record(make_uow(), sam, "Contact", {"full_name": "Ольга Смирнова",
                                                                 "phone": "+7 916 000-11-22"}, NOW)
    company = records.create_record(make_uow(), sam, "Organization", {"name": "ООО Ромашка"}, NOW)
    records.create_record(make_uow(), sam, "Organization", {"name": "АО Василёк"}, NOW)
    records.create_record(make_uow(), sue, "Organization", {"name": "ООО Ромашка-Юг"}, NOW)  # not sam's
    return {"contact": contact.id, "sam": sam.id or 0, "company": company.id}


def test_a_seller_logs_a_call_with_the_next_task(live_server: str, seed: dict[str, int], page: Page,
                                                 browser_db: UowFactory) -> None:
    from playwright.sync_api import expect

    due = (date.today() + timedelta(days=2)).isoformat()
    sign_in(page, live_server, "sam")
    page.goto(f"{live_server}/records/{seed['contact']}")
    page.get_by_text("Записать звонок", exact=True).click()
    form = page.locator("#log-Activity form")
    form.get_by_label("Результат").select_option("agreed")
    form.get_by_label("О чём договорились").fill("Пришлём КП до пятницы")
    form.get_by_label("Следующий шаг").fill("Позвонить после КП")
    form.get_by_label("Дата следующего шага").fill(due)
    form.get_by_role("button", name="Сохранить").click()

    page.wait_for_url(re.compile(rf".*/records/{seed['contact']}#timeline$"))
    expect(page.locator(".flash-success")).to_contain_text("Следующая задача: Позвонить после КП")
    newest = page.locator("#timeline li.timeline-entry").first
    expect(newest).to_contain_text("Звонок")
    expect(newest).to_contain_text("Звонок: Ольга Смирнова")
    expect(newest).to_contain_text("Пришлём КП до пятницы")
    page.get_by_role("navigation", name="Что показать в ленте").get_by_role("link", name="Звонок").click()
    expect(page.locator("#timeline li.timeline-entry")).to_have_count(1)

    page.goto(f"{live_server}/tasks?tab=mine")
    row = page.locator("tr", has_text="Позвонить после КП")
    expect(row).to_contain_text("Ольга Смирнова")


def test_a_seller_picks_an_organization_by_typing(live_server: str, seed: dict[str, int], page: Page,
                                                  browser_db: UowFactory) -> None:
    from playwright.sync_api import expect

    sign_in(page, live_server, "sam")
    page.goto(f"{live_server}/records/Contact/new")
    page.get_by_label("ФИО").fill("Пётр Иванов")
    picker = page.get_by_role("combobox", name="Организация")
    picker.fill("рома")
    options = page.get_by_role("listbox", name="Организация").get_by_role("option")
    expect(options).to_have_count(1)  # sue's "ООО Ромашка-Юг" is not sam's to see
    expect(options.first).to_contain_text("ООО Ромашка")
    picker.press("ArrowDown")
    expect(options.first).to_have_attribute("aria-selected", "true")
    picker.press("Enter")
    expect(picker).to_have_value("ООО Ромашка")
    page.get_by_role("button", name="Создать", exact=True).click()
    page.wait_for_url(re.compile(r".*/records/\d+$"))
    expect(page.locator("dl.facts")).to_contain_text("ООО Ромашка")
    expect(page.locator("dl.facts a", has_text="ООО Ромашка")).to_have_count(1)


def test_a_seller_links_a_contact_to_a_record_picked_by_name(live_server: str, seed: dict[str, int],
                                                             page: Page) -> None:
    from playwright.sync_api import expect

    sign_in(page, live_server, "sam")
    page.goto(f"{live_server}/records/{seed['contact']}")
    page.wait_for_load_state("load")  # the picker is a deferred script
    links = page.locator("#links")
    picker = links.get_by_role("combobox", name="Запись")
    picker.fill("ромашка")
    expect(links.get_by_role("listbox").get_by_role("option")).to_have_text(
        [f"ООО Ромашка Организация #{seed['company']}"])  # sue's ООО Ромашка-Юг is not his to see
    picker.press("ArrowDown")
    picker.press("Enter")
    expect(picker).to_have_value("ООО Ромашка")
    links.get_by_label("Тип связи").select_option(label="Коллега")
    links.get_by_role("button", name="Добавить связь").click()
    expect(page.locator(".flash-success")).to_have_text("Связь добавлена.")
    expect(page.locator("#links")).to_contain_text("ООО Ромашка")
