"""A designer working in Russian opens the incident list after a script task failed at run time: the sentence is
Russian, the technical detail (exception, line) as the engine wrote it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from engine.bootstrap import UowFactory
from engine.services import records
from engine.services.jobs import run_due
from engine.services.users import create_user, get_actor
from tests.browser.test_csp import sign_in
from tests.conftest import NOW, PASSWORD
from tests.web.test_runtime_messages import RUSSIAN, FailingScriptTimers

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser


@pytest.fixture
def seed(browser_db: UowFactory) -> int:
    """dina (designer, Russian) and a lead whose process failed in a script task after its timer: the instance."""
    make_uow = browser_db
    create_user(make_uow(), "dina", PASSWORD, ["designer"], NOW, locale="ru")
    hank = get_actor(make_uow(), create_user(make_uow(), "hank", PASSWORD, ["head_of_sales"], NOW, team="north").id)
    records.create_record(make_uow(), hank, "Lead", {"title": "Failing lead"}, NOW)
    assert run_due(FailingScriptTimers(), make_uow(), datetime.now(UTC) + timedelta(days=30)).parked == 1
    with make_uow() as uow:
        (incident,), _ = uow.incidents.search(None, "open", None, 10, 0)
        assert incident.instance_id is not None
        return incident.instance_id


def test_designer_reads_a_failing_script_in_russian_on_the_incident_list(
    live_server: str, seed: int, page: Page
) -> None:
    from playwright.sync_api import expect

    sign_in(page, live_server, "dina")
    page.goto(f"{live_server}/admin/incidents")
    expect(page.locator("h1")).to_contain_text("Инциденты")
    expect(page.locator("tr", has_text="Таймер").locator(".incident-error")).to_have_text(RUSSIAN)
    expect(page.locator("tr", has_text="Таймер")).to_contain_text(f"#{seed}")  # the instance it concerns
