"""The deal's instance page in a real browser: bpmn-js (vendored, no CDN) draws the diagram, the passed task and
the current one carry their markers."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from engine.bootstrap import UowFactory
from engine.services import instances, records, tasks
from engine.services.users import create_user, get_actor
from tests.conftest import NOW, PASSWORD

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser
SCREENSHOTS = Path("/tmp/flowcrm-diagram")  # kept after the run, to look at


@pytest.fixture
def seed(browser_db: UowFactory) -> str:
    """sam, dina (designer) and a deal whose offer sam prepared (approval running); the instance id."""
    make_uow = browser_db
    sam = get_actor(make_uow(), create_user(make_uow(), "sam", PASSWORD, ["sales"], NOW, team="north").id)
    create_user(make_uow(), "dina", PASSWORD, ["designer"], NOW)
    deal = records.create_record(make_uow(), sam, "Deal", {"title": "CRM licences"}, NOW, owner_id=sam.id)
    [offer] = tasks.list_tasks(make_uow(), sam, "mine")
    tasks.complete_task(make_uow(), sam, offer.id, {"amount": "1000"}, NOW)
    [instance] = instances.instances_for_record(make_uow(), sam, deal.id)
    return instance.id


def test_instance_diagram_marks_the_passed_and_the_current_steps(live_server: str, seed: str, page: Page) -> None:
    from playwright.sync_api import expect

    base, instance_id = live_server, seed
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(base) else None)
    page.goto(f"{base}/login")
    page.fill("#username", "sam")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{base}/instances/{instance_id}")

    diagram = page.locator("#bpmn-diagram")
    expect(diagram).to_have_attribute("data-rendered", "true", timeout=15000)
    expect(diagram.locator("svg g.djs-element[data-element-id=negotiate]")).to_have_count(1)
    expect(diagram.locator("svg g[data-element-id=confirm_payment] text")).to_contain_text("Confirm the payment")
    expect(diagram.locator("[data-element-id=prepare_offer]")).to_have_class("djs-element djs-shape flow-completed")
    expect(diagram.locator("[data-element-id=approve_offer]")).to_have_class("djs-element djs-shape flow-current")
    expect(diagram.locator("[data-element-id=negotiate]")).to_have_class("djs-element djs-shape")
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "instance.png"), full_page=True)
    assert outside == []  # the viewer is served by the app: no CDN


def test_designer_opens_a_version_as_a_diagram(live_server: str, page: Page) -> None:
    from playwright.sync_api import expect

    base = live_server
    page.goto(f"{base}/login")
    page.fill("#username", "dina")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{base}/designer")
    page.locator("a", has_text="Document approval").click()
    expect(page.locator("h1")).to_contain_text("Document approval")
    diagram = page.locator("#bpmn-diagram")
    expect(diagram).to_have_attribute("data-rendered", "true", timeout=15000)
    expect(diagram.locator("g.djs-shape:not([data-element-id$=_label])")).to_have_count(5)
    expect(diagram.locator(".flow-completed, .flow-current")).to_have_count(0)
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "version.png"), full_page=True)
    # bpmn:documentation: the process's text under the diagram, each documented step as a tooltip and a list entry
    docs = page.locator(".bpmn-docs")
    expect(docs.locator("p")).to_contain_text("Approval of a document (an offer, a contract)")
    expect(docs.locator("dt[data-element=review_document]")).to_have_text("Review the document")
    expect(docs.locator("dd").first).to_contain_text("approves the document or sends it back")
    expect(diagram.locator("g[data-element-id=review_document] > title")).to_have_text(
        "A head of sales approves the document or sends it back with comments.")
