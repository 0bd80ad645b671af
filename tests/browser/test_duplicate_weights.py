"""In Chromium, in Russian: the head of sales (who reviews duplicates) opens a pair a probabilistic rule found and
reads why — the waterfall of each field's match weight from the prior to the total, and the level of each field;
then the tuning page's dry run of a stricter threshold."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from bench.dedup_en import insert_people, person_files
from bench.synthetic_en import person_base
from engine.bootstrap import UowFactory
from engine.processes.deployed import active_bundle
from engine.quality.scan import rebuild_keys, scan
from engine.services.deployments import deploy_bundle
from engine.services.users import create_user
from engine.services.views import Actor
from tests.browser.test_csp import sign_in
from tests.conftest import NOW, PASSWORD

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser


@pytest.fixture
def seed(browser_db: UowFactory) -> dict[str, int]:
    """The Person model deployed, 150 generated people scanned; hank (head of sales, Russian)."""
    deploy_bundle(browser_db(), Actor(None, "setup", "setup", frozenset({"designer"})), person_files(), NOW)
    insert_people(browser_db, person_base(150, seed=11))
    bundle, _ = active_bundle(browser_db())
    rebuild_keys(browser_db(), bundle, "Person")
    scan(browser_db(), bundle, "Person", NOW)
    create_user(browser_db(), "hank", PASSWORD, ["head_of_sales"], NOW, team="north", locale="ru")
    with browser_db() as uow:
        return {"pair": uow.quality.queue("Person", limit=1)[0].id}


def test_the_head_reads_the_match_weights_of_a_pair_and_tries_a_threshold(
    live_server: str, seed: dict[str, int], page: Page
) -> None:
    from playwright.sync_api import expect

    sign_in(page, live_server, "hank")
    page.goto(f"{live_server}/duplicates/{seed['pair']}")
    chart = page.get_by_role("img", name="Вклад полей в вес совпадения")
    expect(chart).to_be_visible()
    steps = chart.locator("g.step")
    expect(steps).to_have_count(7)  # prior, five fields, total
    expect(steps.first).to_contain_text("Априорный вес")
    expect(steps.nth(1)).to_contain_text("Имя + Фамилия")
    expect(steps.last).to_contain_text("Итоговый вес")
    weights = [float(steps.nth(n).get_attribute("data-weight") or "nan") for n in range(7)]
    assert sum(weights[:-1]) == pytest.approx(weights[-1], abs=0.05)
    assert weights[-1] > 0
    section = page.locator("#match-weights")
    expect(section).to_contain_text("Вероятность совпадения")
    expect(section.locator("table")).to_contain_text("Дата рождения")
    page.goto(f"{live_server}/duplicates/tuning?entity=Person")
    expect(page.locator("h1")).to_have_text("Настройка поиска дублей")
    page.get_by_label("same_person").fill("0,9999999")
    page.get_by_role("button", name="Пробный прогон").click()
    expect(page.locator("#dry-run h2")).to_contain_text(re.compile(r"Откроется пар: 0, закроется: [1-9]\d*"))
