"""In Chromium: a seller (English UI) converts a web inquiry into a deal and follows the flash's link, named by the
deal's title, to the new Deal; an auditor (Russian UI) reads a contact's card with no form that would change it
(no reminder, no call log, no edit, no link)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from engine.bootstrap import UowFactory
from engine.services.records import create_record
from engine.services.tasks import complete_task, list_tasks
from engine.services.users import create_user, get_actor
from tests.browser.test_csp import sign_in
from tests.conftest import NOW, PASSWORD

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser


@pytest.fixture
def seed(browser_db: UowFactory) -> dict[str, Any]:
    """sam (sales, English) with a web inquiry at its `advance_request` step; olga (auditor, Russian); a contact."""
    make_uow = browser_db
    sam = get_actor(make_uow(), create_user(make_uow(), "sam", PASSWORD, ["sales"], NOW, team="north").id)
    hank = get_actor(make_uow(), create_user(make_uow(), "hank", PASSWORD, ["head_of_sales"], NOW, team="north").id)
    create_user(make_uow(), "olga", PASSWORD, ["auditor"], NOW, locale="ru")
    lead = create_record(
        make_uow(), hank, "Lead", {"title": "20 laptops", "email": "b@example.com", "request_type": "web_inquiry"}, NOW
    )

    def task_of_sam(scope: str = "mine") -> str:
        (task,) = [t for t in list_tasks(make_uow(), sam, scope) if t.record_id == lead.id]
        return str(task.id)

    complete_task(make_uow(), sam, task_of_sam("pool"), {"outcome": "convert", "budget": "100"}, NOW)
    complete_task(make_uow(), sam, task_of_sam(), {"next_contact_on": "2026-03-05"}, NOW)
    contact = create_record(
        make_uow(), sam, "Contact", {"full_name": "Ольга Смирнова", "phone": "+7 916 000-11-22"}, NOW
    )
    return {"lead": lead.id, "contact": contact.id, "task": task_of_sam()}


def test_a_seller_converts_an_inquiry_and_the_flash_links_the_new_deal(
    live_server: str, seed: dict[str, Any], page: Page
) -> None:
    from playwright.sync_api import expect

    sign_in(page, live_server, "sam")
    page.goto(f"{live_server}/tasks/{seed['task']}")
    page.get_by_label("Convert to a deal").check()
    page.get_by_role("button", name="Complete").click()

    flash = page.locator(".flash-success", has_text="New Deal")
    expect(flash).to_have_text("New Deal: 20 laptops")
    flash.get_by_role("link", name="20 laptops").click()
    expect(page.locator("h1")).to_have_text("20 laptops")
    expect(page.locator(".crumbs")).to_contain_text("Deal")
    assert int(page.url.rsplit("/", 1)[1]) != seed["lead"]  # the new Deal's card, not the lead's


def test_an_auditor_reads_a_card_with_no_form_to_change_it(live_server: str, seed: dict[str, Any], page: Page) -> None:
    from playwright.sync_api import expect

    sign_in(page, live_server, "olga")
    page.goto(f"{live_server}/records/{seed['contact']}")
    expect(page.locator("h1")).to_have_text("Ольга Смирнова")
    expect(page.locator("#timeline")).to_contain_text("Ольга Смирнова")  # the card is readable, timeline and all
    main = page.locator("main")
    for action in ("Поставить напоминание", "Записать звонок", "Изменить", "Добавить связь"):
        expect(main.get_by_text(action, exact=True)).to_have_count(0)
    expect(main.locator("form[method=post]")).to_have_count(0)
