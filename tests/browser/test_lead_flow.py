"""A salesperson qualifies a lead in a real browser: pool → claim → form → the next task in My tasks."""

from __future__ import annotations

import pytest

from engine.bootstrap import UowFactory
from engine.services.records import create_record, get_record
from engine.services.users import create_user, get_actor
from engine.services.views import Actor
from tests.conftest import NOW, PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def seed(browser_db: UowFactory) -> str:
    """sam and hank in team north and one lead hank created; the lead's id."""
    make_uow = browser_db
    create_user(make_uow(), "sam", PASSWORD, ["sales"], NOW, team="north", display_name="Sam Sales")
    hank = create_user(make_uow(), "hank", PASSWORD, ["head_of_sales"], NOW, team="north")
    lead = create_record(make_uow(), get_actor(make_uow(), hank.id), "Lead",
                         {"title": "Website inquiry: 20 laptops", "company": "OOO Romashka"}, NOW)
    return lead.id


def test_salesperson_qualifies_a_lead_and_gets_the_meeting_task(live_server, seed, browser_db, page, tmp_path):
    from playwright.sync_api import expect

    base, lead_id, make_uow = live_server, seed, browser_db
    page.goto(f"{base}/tasks")
    expect(page).to_have_url(f"{base}/login?next=/tasks")
    page.fill("#username", "sam")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]:has-text('Sign in')")
    expect(page.locator("h1")).to_have_text("Tasks")

    page.click("nav.tabs >> text=Pool")
    row = page.locator("tr", has_text="Qualify lead")
    expect(row).to_contain_text("Website inquiry: 20 laptops")
    row.locator("button", has_text="Claim").click()
    expect(page.locator(".flash-success")).to_contain_text("is now in your tasks")

    page.locator("tr", has_text="Qualify lead").locator("a", has_text="Qualify lead").click()
    expect(page.locator("h1")).to_have_text("Qualify lead")
    expect(page.locator(".crumbs")).to_contain_text("Lead qualification")
    page.screenshot(path=str(tmp_path / "task.png"), full_page=True)
    page.check("input[name=outcome][value=convert]")
    page.fill("#f-budget", "15000")
    page.select_option("#f-channel", "website")
    page.click("button:has-text('Complete')")

    expect(page.locator(".flash-success")).to_contain_text("Next step: Arrange first meeting")
    expect(page.locator("nav.tabs a.active")).to_have_text("My tasks 1")  # the tab counts the meeting task
    expect(page.locator("table")).to_contain_text("Arrange first meeting")
    page.screenshot(path=str(tmp_path / "inbox.png"), full_page=True)
    assert (tmp_path / "inbox.png").stat().st_size > 0

    auditor = Actor(None, "check", "check", frozenset({"auditor"}))
    record = get_record(make_uow(), auditor, lead_id)
    assert record.data["status"] == "qualified"
    assert record.data["budget"] == "15000"
