"""A salesperson builds a two-condition filter in the builder, sees what it finds, and saves it as a segment."""

from __future__ import annotations

import json

import pytest

from engine.bootstrap import UowFactory
from engine.services.records import create_record
from engine.services.segments import list_segments
from engine.services.users import create_user, get_actor
from engine.services.views import Actor
from tests.conftest import NOW, PASSWORD

pytestmark = pytest.mark.browser
AUDITOR = Actor(None, "check", "check", frozenset({"auditor"}))


@pytest.fixture
def seed(browser_db: UowFactory) -> None:
    """sam (sales) with three contacts, two of them VIP."""
    make_uow = browser_db
    sam = create_user(make_uow(), "sam", PASSWORD, ["sales"], NOW, team="north", display_name="Sam Sales")
    admin = Actor(None, "setup", "setup", frozenset({"admin"}))
    for name, tags in (("Vera Vip", ["vip"]), ("Victor Vip", ["vip"]), ("Vera Plain", [])):
        data = {"full_name": name, "email": f"{name.replace(' ', '.').lower()}@example.com"}
        create_record(make_uow(), admin, "Contact", {**data, **({"tags": tags} if tags else {})}, NOW,
                      owner_id=sam.id)
    get_actor(make_uow(), sam.id)


def test_build_a_two_condition_filter_see_results_and_save_it(live_server, browser_db, page, tmp_path):
    from playwright.sync_api import expect

    base, make_uow = live_server, browser_db
    page.goto(f"{base}/find/Contact")
    page.fill("#username", "sam")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]:has-text('Sign in')")
    expect(page.locator("h1")).to_have_text("Find: Contact")
    expect(page.locator("#builder")).to_be_visible()
    expect(page.locator("#results")).to_contain_text("3 record(s) found")

    page.click("#add-condition")
    first = page.locator("#builder .cond").nth(0)
    first.locator("select.cond-field").select_option("full_name")
    first.locator("select.cond-op").select_option("contains")
    first.locator("input.cond-value").fill("Ver")

    page.click("#add-condition")
    second = page.get_by_role("group", name="Condition 2")  # the controls have accessible names, as a reader hears
    second.get_by_role("combobox", name="Field").select_option("tags")
    second.get_by_role("combobox", name="Operator").select_option("has_any")
    second.get_by_role("listbox", name="Value").select_option(["vip"])
    expect(second.get_by_role("button", name="Remove: Condition 2")).to_be_visible()
    expect(page.get_by_role("combobox", name="All or any of the conditions")).to_have_value("all")
    built = json.loads(page.locator("#filter-json").input_value())
    assert built == {"entity": "Contact", "where": {"all": [
        {"field": "full_name", "op": "contains", "value": "Ver"},
        {"field": "tags", "op": "has_any", "value": ["vip"]}]}}
    page.screenshot(path=str(tmp_path / "builder.png"), full_page=True)

    page.click("#search")
    expect(page.locator("#results")).to_contain_text("1 record(s) found")
    expect(page.locator("#results table")).to_contain_text("Vera Vip")
    expect(page.locator("#results table")).not_to_contain_text("Victor Vip")
    expect(page.locator("#builder .cond")).to_have_count(2)  # the builder is rebuilt from the submitted JSON

    page.click("#save > summary")
    page.fill("#segment-name", "Veras with VIP")
    page.click("#save-segment")
    expect(page.locator(".flash-success")).to_contain_text("Veras with VIP")
    expect(page.locator("h1")).to_have_text("Veras with VIP")
    expect(page.locator("#results")).to_contain_text("1 record(s) found")
    page.screenshot(path=str(tmp_path / "segment.png"), full_page=True)

    (saved,) = list_segments(make_uow(), AUDITOR)
    assert (saved.entity, saved.created_by, saved.filter) == ("Contact", "sam", built)
