"""In Chromium, in Russian: a salesperson creates a Contact and lands on its card (they own it); the head of sales
merges a raw duplicate into a curated contact with the page's defaults and the curated values stay."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from engine.bootstrap import UowFactory
from engine.services import records
from engine.services.users import create_user, get_actor
from tests.browser.test_csp import sign_in
from tests.conftest import NOW, PASSWORD
from tests.web.test_duplicates_ui import pair_of
from tests.web.test_merge_defaults import CURATED, RAW

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser


@pytest.fixture
def seed(browser_db: UowFactory) -> dict[str, int]:
    """sam (sales) and hank (head of sales), both Russian; a curated contact, a later raw duplicate, their pair."""
    make_uow = browser_db
    sam = create_user(make_uow(), "sam", PASSWORD, ["sales"], NOW, team="north", locale="ru")
    hank = get_actor(
        make_uow(), create_user(make_uow(), "hank", PASSWORD, ["head_of_sales"], NOW, team="north", locale="ru").id
    )
    old = records.create_record(make_uow(), hank, "Contact", CURATED, NOW).id
    new = records.create_record(make_uow(), hank, "Contact", RAW, NOW).id
    return {
        "old": old,
        "new": new,
        "pair": pair_of(make_uow, old, new, entity="Contact"),
        "sam": sam.id,
        "hank": hank.id or 0,
    }


def test_a_seller_creates_a_contact_and_lands_on_its_card(
    live_server: str, seed: dict[str, int], page: Page, browser_db: UowFactory
) -> None:
    from playwright.sync_api import expect

    sign_in(page, live_server, "sam")
    page.goto(f"{live_server}/records/Contact/new")
    page.get_by_label("ФИО").fill("Петров Пётр")
    page.get_by_label("Телефон", exact=True).fill("+7 916 123-45-67")
    page.get_by_role("button", name="Создать", exact=True).click()
    page.wait_for_url(re.compile(r".*/records/\d+$"))
    expect(page.locator("body")).to_contain_text("«Петров Пётр» создана.")
    expect(page.locator("h1")).to_contain_text("Петров Пётр")
    record_id = int(page.url.rsplit("/", 1)[1])
    sam = get_actor(browser_db(), seed["sam"])
    assert records.get_record(browser_db(), sam, record_id).owner == "sam"


def test_the_head_merges_with_the_defaults_and_the_curated_values_stay(
    live_server: str, seed: dict[str, int], page: Page, browser_db: UowFactory
) -> None:
    from playwright.sync_api import expect

    sign_in(page, live_server, "hank")
    page.goto(f"{live_server}/duplicates/{seed['pair']}")
    expect(page.locator("body")).to_contain_text(f"№{seed['old']}: остаётся")
    expect(page.locator("body")).to_contain_text(f"№{seed['new']}: заполняет пустое поле")
    page.get_by_role("button", name="Объединить").click()
    page.wait_for_url(f"{live_server}/records/{seed['old']}")
    expect(page.locator("body")).to_contain_text(f"Запись №{seed['new']} объединена с №{seed['old']}")
    hank = get_actor(browser_db(), seed["hank"])
    survivor = records.get_record(browser_db(), hank, seed["old"])
    assert {k: survivor.data.get(k) for k in (*CURATED, "email")} == {**CURATED, "email": RAW["email"]}
