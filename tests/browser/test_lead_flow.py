"""A salesperson qualifies a lead in a real browser: pool → claim → form → the next task in My tasks."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.bootstrap import UowFactory, uow_factory
from engine.config.loader import read_bundle_dir
from engine.services.deployments import deploy_bundle
from engine.services.records import create_record, get_record
from engine.services.users import create_user, get_actor
from engine.services.views import Actor
from tests.conftest import NOW, PASSWORD, ROOT
from web import create_app

pytestmark = pytest.mark.browser
CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture
def live_server(tmp_path: Path, sqlite_template: Path) -> Iterator[tuple[str, int, UowFactory]]:
    """The app on a free port over a SQLite file with the shipped bundle, sam, hank and one lead."""
    from werkzeug.serving import make_server

    path = tmp_path / "browser.sqlite"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    make_uow = uow_factory(url)
    deploy_bundle(make_uow(), Actor(None, "setup", "setup", frozenset({"designer"})), read_bundle_dir(ROOT), NOW)
    create_user(make_uow(), "sam", PASSWORD, ["sales"], NOW, team="north", display_name="Sam Sales")
    hank = create_user(make_uow(), "hank", PASSWORD, ["head_of_sales"], NOW, team="north")
    lead = create_record(make_uow(), get_actor(make_uow(), hank.id), "Lead",
                         {"title": "Website inquiry: 20 laptops", "company": "OOO Romashka"}, NOW)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "browser-test", "UOW_FACTORY": make_uow})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", lead.id, make_uow
    finally:
        server.shutdown()
        thread.join(timeout=10)
        make_uow.dispose()


@pytest.fixture
def page(tmp_path: Path) -> Iterator[object]:
    """A Chromium page (Debian's Chromium; Playwright cannot download its own here)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="en-US")
            yield context.new_page()
        finally:
            browser.close()


def test_salesperson_qualifies_a_lead_and_gets_the_meeting_task(live_server, page, tmp_path):
    from playwright.sync_api import expect

    base, lead_id, make_uow = live_server
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
    expect(page.locator("nav.tabs a.active")).to_have_text("My tasks")
    expect(page.locator("table")).to_contain_text("Arrange first meeting")
    page.screenshot(path=str(tmp_path / "inbox.png"), full_page=True)
    assert (tmp_path / "inbox.png").stat().st_size > 0

    auditor = Actor(None, "check", "check", frozenset({"auditor"}))
    record = get_record(make_uow(), auditor, lead_id)
    assert record.data["status"] == "qualified"
    assert record.data["budget"] == "15000"
