"""A Russian-speaking sales team's day in Chromium (Europe/Moscow, the bundle's zone), as issue 13's new user looked
at it: a seller reads a card's timeline and the tasks robots gave her in her language, the head of sales reads the
next tasks on the deal board, the duplicates queue and a segment's processes in Russian, and the auditor reads
where each process step came from and how its task was routed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from engine.bootstrap import UowFactory
from engine.services.records import create_record
from engine.services.segments import create_segment
from engine.services.users import create_user, get_actor
from tests.browser.test_csp import sign_in
from tests.conftest import NOW, PASSWORD

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser


@pytest.fixture
def seed(browser_db: UowFactory) -> dict[str, int]:
    """anna (sales, Russian) manages the territory MSK; hugo (head of sales, English); hank (head of sales) and
    olga (auditor), Russian. hank enters a Moscow contact with no phone or e-mail (the robots give it to anna with a
    task), a lead (its qualification process starts) and a deal of anna's (its process gives her a task)."""
    make_uow = browser_db
    anna = create_user(make_uow(), "anna", PASSWORD, ["sales"], NOW, team="north", locale="ru")
    create_user(make_uow(), "hugo", PASSWORD, ["head_of_sales"], NOW, team="north", locale="en")
    create_user(make_uow(), "olga", PASSWORD, ["auditor"], NOW, locale="ru")
    hank = get_actor(make_uow(), create_user(make_uow(), "hank", PASSWORD, ["head_of_sales"], NOW, team="north",
                                             locale="ru").id)
    create_record(make_uow(), hank, "Territory", {"code": "MSK", "name": "Москва", "region": "moscow",
                                                  "manager": "anna"}, NOW)
    contact = create_record(make_uow(), hank, "Contact", {"full_name": "Ольга Морозова", "region": "moscow"}, NOW)
    lead = create_record(make_uow(), hank, "Lead", {"title": "Заявка: 20 ноутбуков", "company": "ООО Ромашка"}, NOW)
    deal = create_record(make_uow(), hank, "Deal", {"title": "Ноутбуки для «Ромашки»", "amount": "1560000"}, NOW,
                         owner_id=anna.id)
    for name in ("Пётр Петров", "Петров Пётр"):  # the same e-mail twice: a pair found on create
        create_record(make_uow(), hank, "Contact", {"full_name": name, "email": "petrov@example.ru"}, NOW)
    clients = create_segment(make_uow(), hank, "Contact", "Клиенты", {"where": {"field": "status", "op": "eq",
                                                                                  "value": "periodic"}}, NOW)
    return {"contact": contact.id, "lead": lead.id, "deal": deal.id, "segment": clients.id}


def test_a_seller_reads_the_timeline_and_a_robots_task_in_her_language(
    live_server: str, seed: dict[str, int], page: Page
) -> None:
    from playwright.sync_api import expect

    sign_in(page, live_server, "anna")
    page.goto(f"{live_server}/records/{seed['lead']}")
    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text("Лид получен")  # the step's name from processes/labels.yaml
    started = timeline.locator(".timeline-entry", has_text="Запуск")
    expect(started.locator("strong")).to_have_text("Квалификация лида")  # the process, not "instance_started"
    expect(started).to_contain_text("Квалификация лида v1 · Запуск")  # not "lead_qualification v1"
    expect(timeline.locator(".timeline-entry", has_text="Название")).to_contain_text("hank · создание")  # not "create"

    page.goto(f"{live_server}/records/{seed['contact']}")
    owner = timeline.locator(".timeline-entry", has_text="Ответственный")
    expect(owner).to_contain_text("автоматически · правило Территория «Москва» (контакты)")  # not "rule · rule …"
    expect(page.locator("#timeline")).not_to_contain_text("rule")
    expect(page.locator("main")).to_contain_text("Добавить телефон или e-mail")

    page.context.clear_cookies()
    sign_in(page, live_server, "hugo")  # an English reader sees the same robot's task in English
    page.goto(f"{live_server}/records/{seed['contact']}")
    expect(page.locator("main")).to_contain_text("Add a phone or e-mail")


def test_the_head_of_sales_reads_the_board_the_duplicates_and_a_segment_in_russian(
    live_server: str, seed: dict[str, int], page: Page
) -> None:
    from playwright.sync_api import expect

    sign_in(page, live_server, "hank")
    page.goto(f"{live_server}/boards/deals")
    card = page.locator(f".board-card[data-record-id='{seed['deal']}']")
    expect(card).to_contain_text("Подготовить коммерческое предложение")  # not "Prepare the offer"

    page.goto(f"{live_server}/duplicates")
    expect(page.locator("tr", has_text="Пётр Петров").first).to_contain_text("создание")  # found on create
    page.goto(f"{live_server}/segments/{seed['segment']}")
    expect(page.locator("#start-process option")).to_contain_text(["Работа с клиентом: повторная продажа"])


def test_the_auditor_reads_which_process_started_and_how_its_task_was_routed_in_russian(
    live_server: str, seed: dict[str, int], page: Page
) -> None:
    from playwright.sync_api import expect

    sign_in(page, live_server, "olga")
    page.goto(f"{live_server}/audit")
    started = page.locator("tr", has_text="Заявка: 20 ноутбуков").filter(has_text="Запуск")
    expect(started.locator("td").last).to_have_text("Квалификация лида v1")  # not "lead_qualification v1"
    expect(started.locator("dd").first).to_have_text("Квалификация лида")  # the step's data: not "lead_qualification"
    routed = page.locator("tr", has_text="Заявка: 20 ноутбуков").filter(has_text="Назначено маршрутизацией")
    expect(routed.locator("dt", has_text="Способ назначения").locator("+ dd")).to_have_text("в общий пул команды")
    expect(routed.locator("dt", has_text="Команда").locator("+ dd")).to_have_text("Продажи")  # not "sales"
