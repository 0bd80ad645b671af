"""In Chromium, in Russian: a seller sorts their tasks by the task's name in Russian order (not the BPMN names'
English order) and pages forward and back through them by keyset links."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from engine.bootstrap import UowFactory
from engine.services import records, tasks
from engine.services.users import create_user, get_actor
from tests.browser.test_csp import sign_in
from tests.conftest import NOW, PASSWORD
from web.blueprints import inbox

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser
ARRANGE, QUALIFY = "Назначить первую встречу", "Квалифицировать лид"  # "Arrange first meeting", "Qualify lead"


@pytest.fixture
def seed(browser_db: UowFactory) -> None:
    """sam, a seller reading Russian, has five tasks: three leads converted (each now "Arrange first meeting"),
    due sooner than two leads claimed (still "Qualify lead")."""
    make_uow = browser_db
    sam = get_actor(make_uow(), create_user(make_uow(), "sam", PASSWORD, ["sales"], NOW, team="north", locale="ru").id)
    now = NOW.now(NOW.tzinfo)
    for n in range(5):
        lead = records.create_record(make_uow(), sam, "Lead", {"title": f"Лид {n}"}, now - timedelta(days=5 - n))
        (task,) = [t for t in tasks.list_tasks(make_uow(), sam, "pool", limit=500) if t.record_id == lead.id]
        tasks.claim_task(make_uow(), sam, task.id, now)
        if n < 3:
            tasks.complete_task(
                make_uow(), sam, task.id, {"outcome": "convert", "relationship": "potential_client"}, now
            )


def _rows(page: Page) -> list[tuple[str, str]]:
    page.wait_for_load_state("load")  # a click returns once the next page starts loading, maybe unparsed
    names = page.locator("table.inbox-table tbody td:nth-child(1) a").all_inner_texts()
    leads = page.locator("table.inbox-table tbody td:nth-child(2) a").all_inner_texts()
    return list(zip(names, leads, strict=True))


def test_a_seller_sorts_by_task_name_in_russian_and_pages_forward_and_back(
    live_server: str, seed: None, page: Page, monkeypatch: pytest.MonkeyPatch
) -> None:
    from playwright.sync_api import expect

    monkeypatch.setattr(inbox, "PAGE", 2)  # five tasks, three pages
    sign_in(page, live_server, "sam")
    page.goto(f"{live_server}/tasks?tab=mine")
    page.locator('th[data-column="task"] a').click()
    expect(page.locator('th[data-column="task"]')).to_have_attribute("aria-sort", "ascending")
    first = _rows(page)
    assert [name for name, _ in first] == [QUALIFY, QUALIFY]  # К… before Н… (in English "Arrange" came first)
    expect(page.get_by_role("link", name="← Назад")).to_have_count(0)

    page.get_by_role("link", name="Далее →").click()
    assert "after=" in page.url
    assert "sort=task" in page.url
    second = _rows(page)
    assert [name for name, _ in second] == [ARRANGE, ARRANGE]
    page.get_by_role("link", name="Далее →").click()
    third = _rows(page)
    assert [name for name, _ in third] == [ARRANGE]
    expect(page.get_by_role("link", name="Далее →")).to_have_count(0)
    assert sorted(lead for _, lead in first + second + third) == [f"Лид {n}" for n in range(5)]

    page.get_by_role("link", name="← Назад").click()
    assert "before=" in page.url
    assert _rows(page) == second
    page.get_by_role("link", name="← Назад").click()
    assert _rows(page) == first
    expect(page.get_by_role("link", name="← Назад")).to_have_count(0)
    page.get_by_role("link", name="Далее →").click()
    page.get_by_role("link", name="« Первая страница").click()
    assert _rows(page) == first
