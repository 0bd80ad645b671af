"""An admin working in Russian finds a parked timer on the incident list, retries it with one click, and sees it
resolved by them; the timer is due again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from engine.bootstrap import UowFactory
from engine.services import records
from engine.services.jobs import run_due
from engine.services.users import create_user, get_actor
from engine.store.models import TimerRow
from tests.browser.test_csp import sign_in
from tests.conftest import NOW, PASSWORD
from tests.web.test_incidents import BrokenTimers

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser


@pytest.fixture
def seed(browser_db: UowFactory) -> int:
    """ada (admin, Russian) and a lead whose escalation timer failed and is parked as an incident; its instance."""
    make_uow = browser_db
    create_user(make_uow(), "ada", PASSWORD, ["admin"], NOW, locale="ru")
    hank = get_actor(make_uow(), create_user(make_uow(), "hank", PASSWORD, ["head_of_sales"], NOW, team="north").id)
    records.create_record(make_uow(), hank, "Lead", {"title": "Parked lead"}, NOW)
    outcome = run_due(BrokenTimers(), make_uow(), datetime.now(UTC) + timedelta(days=30))
    assert outcome.parked == 1
    with make_uow() as uow:
        row = uow.session.scalars(select(TimerRow).where(TimerRow.parked_at.is_not(None))).one()
        return row.instance_id


def test_admin_retries_a_parked_timer_from_the_incident_list(live_server: str, seed: int, page: Page,
                                                             browser_db: UowFactory) -> None:
    from playwright.sync_api import expect

    sign_in(page, live_server, "ada")
    page.goto(f"{live_server}/admin/incidents")
    expect(page.locator("h1")).to_contain_text("Инциденты")
    row = page.locator("tr", has_text="Таймер")
    expect(row).to_contain_text("Object of type ValueError is not JSON serializable")
    row.get_by_role("button", name="Повторить").click()

    expect(page.locator("body")).to_contain_text("задание снова в очереди")
    expect(page.locator("tr", has_text="Таймер")).to_have_count(0)  # the list shows open incidents first
    page.select_option("select[name=state]", "resolved")
    page.get_by_role("button", name="Показать").click()
    expect(page.locator("tr", has_text="Таймер")).to_contain_text("Перезапустил ada")
    with browser_db() as uow:
        timer = uow.session.scalars(select(TimerRow).where(TimerRow.instance_id == seed)).one()
        assert (timer.attempts, timer.parked_at) == (0, None)
