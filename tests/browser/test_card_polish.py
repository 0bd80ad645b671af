"""In Chromium, what a seller and a head of sales still saw wrong (issue 13): a reference to a record the seller may
not open reads as its title (not "Organization #12") with a hint that it cannot be opened; a rule's task reads in
each user's language (and their time zone); the head of sales' Team tab and the deal board keep their actions in
reach at 1280 and 375 px with 60-character Cyrillic names and long task names (screenshots in Russian)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from engine.bootstrap import UowFactory
from engine.services import records
from engine.services.card_log import log_on_record
from engine.services.users import create_user, get_actor, set_preferences
from tests.browser.test_csp import sign_in
from tests.conftest import NOW, PASSWORD

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser

LONG_NAME = "Константин Константинович Константинопольский-Преображенский"  # 60 characters
LONG_ORG = "ООО «Северо-Западная торгово-промышленная компания Ромашка»"
LONG_TASK = (
    "Перезвонить главному бухгалтеру и согласовать график поставки ноутбуков по филиалам "
    "в Санкт-Петербурге и Великом Новгороде"
)
WIDTHS = (1280, 375)


@pytest.fixture
def seed(browser_db: UowFactory) -> dict[str, int]:
    """sam (ru, Moscow) and ed (en, New York) sell in team north, hank heads it; sam's contact references sue's
    organization; a contact nobody can reach puts the rule's task in the pool; sam's long-named leads, deals and
    follow-up tasks fill the Team tab and the deal board."""
    make_uow = browser_db
    assert len(LONG_NAME) == 60
    sam = get_actor(
        make_uow(),
        create_user(make_uow(), "sam", PASSWORD, ["sales"], NOW, team="north", display_name=LONG_NAME, locale="ru").id,
    )
    sue = get_actor(make_uow(), create_user(make_uow(), "sue", PASSWORD, ["sales"], NOW, team="north").id)
    hank = get_actor(
        make_uow(), create_user(make_uow(), "hank", PASSWORD, ["head_of_sales"], NOW, team="north", locale="ru").id
    )
    ed = get_actor(make_uow(), create_user(make_uow(), "ed", PASSWORD, ["sales"], NOW, team="north").id)
    set_preferences(make_uow(), ed, locale="en", timezone="America/New_York")
    hers = records.create_record(make_uow(), sue, "Organization", {"name": "ООО Ромашка-Юг"}, NOW)
    contact = records.create_record(
        make_uow(), sam, "Contact", {"full_name": LONG_NAME, "phone": "+7 916 000-11-22", "organization": hers.id}, NOW
    )
    records.create_record(make_uow(), hank, "Contact", {"full_name": "Светлана Кузьмина"}, NOW)  # no phone, no mail
    now = NOW.now(NOW.tzinfo)
    due = (date.today() + timedelta(days=3)).isoformat()
    for n in range(3):
        lead = records.create_record(make_uow(), sam, "Lead", {"title": f"{LONG_ORG} {n}"}, now)
        log_on_record(
            make_uow(),
            sam,
            lead.id,
            "Activity",
            {
                "result": "agreed",
                "agreed": "Договорились о поставке",
                "next_step": f"{LONG_TASK} {n}",
                "next_step_on": due,
            },
            now,
            "ru",
        )
        records.create_record(
            make_uow(),
            sam,
            "Deal",
            {"title": f"{LONG_ORG}: поставка {n}", "client": contact.id, "amount": "1250000", "stage": "offer"},
            now,
        )
    return {"contact": contact.id, "hers": hers.id}


def test_a_seller_sees_a_reference_he_may_not_open_by_its_title_without_a_link(
    live_server: str, seed: dict, page: Page
) -> None:
    from playwright.sync_api import expect

    sign_in(page, live_server, "sam")
    page.goto(f"{live_server}/records/{seed['contact']}")
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text("ООО Ромашка-Юг")
    expect(facts).not_to_contain_text(f"#{seed['hers']}")
    expect(facts.get_by_role("link", name=re.compile("Ромашка-Юг"))).to_have_count(0)
    closed = facts.locator(".ref-closed")
    expect(closed).to_have_attribute("title", "у вас нет доступа к этой записи")
    expect(closed).to_have_text("ООО Ромашка-Юг (у вас нет доступа к этой записи)")  # what a screen reader reads
    expect(closed.locator(".visually-hidden")).not_to_be_in_viewport()
    expect(page.locator("#links")).to_contain_text("ООО Ромашка-Юг")


def test_a_rules_task_reads_in_each_sellers_language_and_time_zone(live_server: str, seed: dict, page: Page) -> None:
    from playwright.sync_api import expect

    sign_in(page, live_server, "ed")
    page.goto(f"{live_server}/tasks?tab=pool")
    row = page.locator("table.inbox-table tbody tr", has_text="Светлана Кузьмина")
    expect(row).to_contain_text("Add a phone or e-mail")
    expect(row).not_to_contain_text("Добавить")
    expect(row).to_contain_text(re.compile(r"\bE[SD]T\b"))  # his zone, not Moscow's or UTC

    page.context.clear_cookies()
    sign_in(page, live_server, "sam")
    page.goto(f"{live_server}/tasks?tab=pool")
    row = page.locator("table.inbox-table tbody tr", has_text="Светлана Кузьмина")
    expect(row).to_contain_text("Добавить телефон или e-mail")
    expect(row).to_contain_text("MSK")


def _fits(page: Page) -> dict[str, float]:
    """The page's and the main area's widths against the window's (nothing may scroll sideways but a board)."""
    return page.evaluate("""() => ({page: document.scrollingElement.scrollWidth,
                                    view: document.scrollingElement.clientWidth})""")


@pytest.mark.parametrize("width", WIDTHS)
def test_the_head_of_sales_team_tab_and_deal_board_keep_long_names_in_reach(
    live_server: str, seed: dict, page: Page, width: int, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, live_server, "hank")
    page.goto(f"{live_server}/tasks?tab=team")
    expect(page.locator("table.inbox-table")).to_contain_text(f"{LONG_TASK} 0")
    sizes = _fits(page)
    assert sizes["page"] <= sizes["view"], sizes
    sizes = page.locator("section.card:has(table.inbox-table)").evaluate(
        "c => ({scroll: c.scrollWidth, width: c.clientWidth})"
    )
    assert sizes["scroll"] <= sizes["width"], sizes  # no column (the row's buttons) is cut off at the card's edge
    for action in page.locator("table.inbox-table tbody td.actions :is(a, button)").all():  # Open, Give back
        action.scroll_into_view_if_needed()
        expect(action).to_be_in_viewport()
    for link in page.locator("table.inbox-table tbody td a.strong").all():  # every task opens from its row
        link.scroll_into_view_if_needed()
        box = link.bounding_box()
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + min(box["width"], 40) <= width, box
    for box in page.locator("table.inbox-table tbody td.select input").all():  # choosing tasks to reassign
        box.scroll_into_view_if_needed()
        expect(box).to_be_in_viewport()
    reassign = page.get_by_role("button", name="Переназначить выбранные")
    reassign.scroll_into_view_if_needed()
    expect(reassign).to_be_in_viewport()
    page.screenshot(path=str(tmp_path / f"team-{width}.png"), full_page=True)

    page.goto(f"{live_server}/boards/deals")
    card = page.locator(".board-card", has_text=f"{LONG_ORG}: поставка 0")
    expect(card).to_be_visible()
    sizes = _fits(page)
    assert sizes["page"] <= sizes["view"], sizes  # the board scrolls inside itself, the page does not
    sizes = card.evaluate("c => ({scroll: c.scrollWidth, width: c.clientWidth})")
    assert sizes["scroll"] <= sizes["width"], sizes  # a long title wraps inside its card
    inner = card.evaluate("c => c.clientWidth")
    for value in card.locator("dd").all():  # a value gets the card's width, not a sliver beside its label
        assert value.evaluate("d => d.clientWidth") >= inner * 0.6, value.inner_text()
    card.scroll_into_view_if_needed()
    board = page.locator(".board").bounding_box()
    assert board is not None
    page.mouse.move(board["x"] + 40, board["y"] + 40)
    page.mouse.wheel(120, 0)  # a swipe a little past the first column
    page.wait_for_timeout(600)  # the scroll (and its snap) settles
    box = card.bounding_box()
    assert box is not None
    assert box["x"] >= 0, box  # the whole card, not a slice of it
    assert box["x"] + box["width"] <= width, box
    move = card.get_by_role("button").first  # the card's move menu: its keyboard way to another column
    expect(move).to_be_in_viewport()
    page.screenshot(path=str(tmp_path / f"board-{width}.png"), full_page=True)
    assert (tmp_path / f"team-{width}.png").stat().st_size > 0
