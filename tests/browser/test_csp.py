"""Under the Content-Security-Policy (no inline script or style), the pages a salesperson and a designer use load
without a single CSP violation, and bpmn-js still draws the diagrams."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from engine.bootstrap import UowFactory
from engine.services import instances, records
from engine.services.users import create_user, get_actor
from tests.conftest import NOW, PASSWORD

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser
# Collects every CSP violation the page reports (injected by the browser driver, so the CSP does not apply to it).
WATCH = """window.__violations = [];
document.addEventListener('securitypolicyviolation',
  e => window.__violations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' ' + e.sourceFile));"""


@pytest.fixture
def seed(browser_db: UowFactory) -> dict[str, int]:
    """sam (sales) with a lead he owns, in qualification; dina (designer)."""
    make_uow = browser_db
    sam = get_actor(make_uow(), create_user(make_uow(), "sam", PASSWORD, ["sales"], NOW, team="north").id)
    create_user(make_uow(), "dina", PASSWORD, ["designer"], NOW)
    lead = records.create_record(make_uow(), sam, "Lead", {"title": "CSP lead"}, NOW, owner_id=sam.id)
    [instance] = instances.instances_for_record(make_uow(), sam, lead.id)
    return {"lead": lead.id, "instance": instance.id}


def watched(page: Page) -> list[str]:
    """Console errors and script errors, filled as the page runs (the browser's own favicon request is no error)."""
    problems: list[str] = []
    page.add_init_script(WATCH)
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" and "404" not in m.text else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    return problems


def sign_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/**")


def visit(page: Page, url: str) -> list[Any]:
    response = page.goto(url)
    assert response is not None
    assert response.status == 200, url
    assert "script-src 'self'" in (response.headers.get("content-security-policy") or "")
    page.wait_for_load_state("networkidle")
    violations: list[Any] = page.evaluate("window.__violations")
    return violations


def test_sales_pages_load_without_csp_violations(live_server: str, seed: dict[str, int], page: Page) -> None:
    from playwright.sync_api import expect

    base = live_server
    problems = watched(page)
    sign_in(page, base, "sam")
    for path in ("/tasks", f"/records/{seed['lead']}", "/reports/lead_conversion_by_channel", "/find/Lead"):
        assert visit(page, base + path) == [], path
    assert visit(page, f"{base}/instances/{seed['instance']}") == []
    expect(page.locator("#bpmn-diagram")).to_have_attribute("data-rendered", "true", timeout=15000)
    assert [p for p in problems if "Content Security Policy" in p] == []
    assert problems == []


def test_designer_diagram_renders_under_the_csp(live_server: str, seed: dict[str, int], page: Page) -> None:
    from playwright.sync_api import expect

    base = live_server
    problems = watched(page)
    sign_in(page, base, "dina")
    assert visit(page, f"{base}/designer") == []
    page.locator("a", has_text="Document approval").click()
    diagram = page.locator("#bpmn-diagram")
    expect(diagram).to_have_attribute("data-rendered", "true", timeout=15000)
    expect(diagram.locator("g.djs-shape:not([data-element-id$=_label])")).to_have_count(5)
    assert page.evaluate("window.__violations") == []
    assert problems == []
