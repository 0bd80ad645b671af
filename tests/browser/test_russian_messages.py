"""In Chromium, a seller working in Russian meets the engine's messages in Russian: an import's rejected row on
the job page (with its row and column), a validation error on the new-contact form, and a task form labelled
from its x-label."""

from __future__ import annotations

from pathlib import Path
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
def seed(browser_db: UowFactory) -> int:
    """sam, a seller whose language is Russian."""
    return create_user(browser_db(), "sam", PASSWORD, ["sales"], NOW, team="north", locale="ru").id


def test_a_russian_seller_reads_an_import_rejection_in_russian(
    live_server: str, seed: int, page: Page, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    upload = tmp_path / "contacts.csv"
    upload.write_bytes("ФИО;Метки\nАнна Петрова;VIP\nБорис Орлов;чай\n".encode("cp1251"))
    sign_in(page, live_server, "sam")
    page.goto(f"{live_server}/imports/new")
    page.set_input_files("#f-file", str(upload))
    page.select_option("#f-entity", "Contact")
    page.get_by_role("button", name="Загрузить и сопоставить столбцы").click()
    expect(page.locator("body")).to_contain_text("Метки: «чай» нет в справочнике tag")  # the preview
    page.get_by_label("импортировать верные строки, отклонённые скачать").check()
    page.get_by_role("button", name="Запустить импорт").click()

    expect(page.locator("#import-counts")).to_contain_text("отклонено 1", timeout=30_000)
    row = page.locator("tr", has_text="«чай» нет в справочнике tag")
    expect(row).to_contain_text("3")  # the file's row
    expect(row).to_contain_text("Метки")  # the file's column
    expect(page.locator("body")).not_to_contain_text("is not a value of")


def test_a_russian_seller_reads_a_form_validation_error_in_russian(live_server: str, seed: int, page: Page) -> None:
    from playwright.sync_api import expect

    sign_in(page, live_server, "sam")
    page.goto(f"{live_server}/records/Contact/new")
    page.get_by_label("ФИО").fill("Борис Орлов")
    page.get_by_label("Телефон", exact=True).fill("12")
    page.get_by_role("button", name="Создать", exact=True).click()
    expect(page.locator("body")).to_contain_text("неверный номер телефона")
    expect(page.get_by_label("ФИО")).to_have_value("Борис Орлов")  # the form comes back with what was typed
    expect(page.locator("body")).not_to_contain_text("is not a valid phone number")


def test_a_russian_seller_sees_the_task_form_labelled_from_its_x_label(
    live_server: str, seed: int, browser_db: UowFactory, page: Page
) -> None:
    from playwright.sync_api import expect

    sam = get_actor(browser_db(), seed)
    create_record(browser_db(), sam, "Lead", {"title": "Заявка с сайта", "company": "ООО Ромашка"}, NOW)
    (task,) = list_tasks(browser_db(), sam, "pool")
    claim_task(browser_db(), sam, task.id, NOW)
    sign_in(page, live_server, "sam")
    page.goto(f"{live_server}/tasks/{task.id}")
    form = page.locator("form", has=page.locator("input[name=outcome]"))
    expect(page.locator("h2", has_text="Квалификация лида")).to_be_visible()  # the form's x-label.ru
    expect(form).to_contain_text("Решение")  # a property's x-label.ru
    expect(page.get_by_label("Комментарий")).to_be_visible()
    expect(form).not_to_contain_text("Outcome")
