"""An admin working in Russian adds a field to Contact in the browser: sees the YAML diff and the check, deploys it,
sees the field on a contact's card, fills it in, then rolls the configuration back and the field is gone."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from engine.bootstrap import UowFactory
from engine.processes.deployed import active_bundle
from engine.services import records
from engine.services.users import create_user, get_actor
from tests.browser.test_csp import sign_in
from tests.conftest import NOW, PASSWORD

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser


@pytest.fixture
def seed(browser_db: UowFactory) -> int:
    """ada (admin, Russian) and a contact; the contact's id."""
    ada = get_actor(browser_db(), create_user(browser_db(), "ada", PASSWORD, ["admin"], NOW, locale="ru").id)
    return records.create_record(browser_db(), ada, "Contact", {"full_name": "Анна Петрова"}, NOW).id


def test_admin_adds_a_field_uses_it_on_a_card_and_rolls_back(live_server: str, seed: int, page: Page,
                                                            browser_db: UowFactory) -> None:
    from playwright.sync_api import expect

    sign_in(page, live_server, "ada")
    page.goto(f"{live_server}/admin/config")
    expect(page.locator("h1")).to_have_text("Версии конфигурации")
    first_version = page.locator("#versions tbody tr").first.locator("a").inner_text()
    page.locator("aside").get_by_role("link", name="Контакт", exact=True).click()

    page.fill("#name", "shoe_size")
    page.select_option("#type", "integer")
    page.fill("#label_en", "Shoe size")
    page.fill("#label_ru", "Размер обуви")
    page.get_by_role("button", name="Показать изменение").click()
    expect(page.locator("#preview")).to_contain_text("Проверка не нашла проблем")
    expect(page.locator("pre.diff .add").last).to_contain_text(
        "+  shoe_size:    {type: integer, label: {en: Shoe size, ru: Размер обуви}}")
    page.get_by_role("button", name="Развернуть это изменение").click()
    expect(page.locator("body")).to_contain_text("Развёрнуто как версия конфигурации")
    expect(page.locator("#versions tbody tr").first).to_contain_text("browser: field Contact.shoe_size added by ada")

    page.goto(f"{live_server}/records/{seed}")
    page.locator("details.edit summary", has_text="Изменить").click()
    page.get_by_label("Размер обуви").fill("38")
    page.get_by_role("button", name="Сохранить").click()
    expect(page.locator("dl")).to_contain_text("Размер обуви")
    expect(page.locator("dl")).to_contain_text("38")

    page.goto(f"{live_server}/admin/config")
    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    roll_back = page.get_by_role("button", name=f"Вернуть версию {first_version.removeprefix('#')}")
    roll_back.click()  # asked first (script under the Content-Security-Policy); a "no" sends nothing
    expect(page.locator("#versions tbody tr").first).to_contain_text("browser: field Contact.shoe_size added by ada")
    assert asked == [f"Развернуть файлы версии {first_version.removeprefix('#')} снова, новой версией?"]
    page.once("dialog", lambda dialog: dialog.accept())
    roll_back.click()
    expect(page.locator("body")).to_contain_text(f"Версия {first_version.removeprefix('#')} развёрнута снова")
    page.goto(f"{live_server}/records/{seed}")
    expect(page.locator("dl")).not_to_contain_text("Размер обуви")
    assert "shoe_size" not in active_bundle(browser_db())[0].entities["Contact"].fields
