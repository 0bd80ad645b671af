"""Incidents in the UI and the API: on the instance page with Retry, the admin list with filters, the REST API
(documented in the OpenAPI document), CSRF and roles as elsewhere."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select

from engine.services.jobs import RetryPolicy, run_due
from engine.services.timers import TimerJob
from engine.services.views import Actor
from engine.store.models import InstanceEventRow, TimerRow
from engine.store.uow import UnitOfWork
from tests.web.api_client import ApiUser
from tests.web.conformance import Conformance
from tests.web.conftest import as_user, new_lead, settings, text
from web import create_app

MakeUow = Callable[[], UnitOfWork]
ERROR = "TypeError: Object of type ValueError is not JSON serializable"


class BrokenTimers(TimerJob):
    """Timers whose every firing fails, with no retries: each due one is parked at once."""

    policy = RetryPolicy(retries=0)

    def run(self, uow: UnitOfWork, row: TimerRow, now: datetime) -> bool:
        raise TypeError("Object of type ValueError is not JSON serializable")


def parked_lead(deployed: MakeUow, actors: dict[str, Actor]) -> tuple[int, int]:
    """A lead whose escalation timer failed and was parked as an incident: (instance id, incident id)."""
    lead = new_lead(deployed, actors)
    outcome = run_due(BrokenTimers(), deployed(), datetime.now(UTC) + timedelta(days=30))  # timers read the clock
    assert (outcome.failed, outcome.parked) == (1, 1)
    with deployed() as uow:
        page, _ = uow.incidents.search(None, "open", None, 10, 0)
        (incident,) = page
        assert incident.record_id is None
        assert incident.instance_id is not None
        assert uow.instances.get(incident.instance_id).record_id == lead.id  # type: ignore[union-attr]
        return incident.instance_id, incident.id


def timer_state(deployed: MakeUow, instance_id: int) -> tuple[int, bool]:
    with deployed() as uow:
        row = uow.session.scalar(select(TimerRow).where(TimerRow.instance_id == instance_id))
        assert row is not None
        return row.attempts, row.parked_at is not None


def test_the_instance_page_shows_the_incident_and_retry_makes_the_timer_due_again(
    app: Flask, deployed: MakeUow, actors: dict
) -> None:
    instance_id, incident_id = parked_lead(deployed, actors)
    assert timer_state(deployed, instance_id) == (1, True)
    admin = as_user(app, "ada")  # admin: a designer sees no instance of a record it cannot read
    page = admin.get(f"/instances/{instance_id}")
    assert f"Incidents # Kind Concerns Error Attempts Parked at State {incident_id} Timer" in text(page)
    assert ERROR in text(page)
    assert f'action="/admin/incidents/{incident_id}/retry"' in page.get_data(as_text=True)

    response = admin.post(f"/admin/incidents/{incident_id}/retry", data={"next": f"/instances/{instance_id}"})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/instances/{instance_id}"
    assert timer_state(deployed, instance_id) == (0, False)
    after = text(admin.get(f"/instances/{instance_id}"))
    assert "Retried by ada" in after
    assert "Incident retried" in after
    with deployed() as uow:
        [event] = uow.session.scalars(select(InstanceEventRow).where(InstanceEventRow.kind == "incident_retried"))
        assert (event.actor, event.instance_id, event.data["incident"]) == ("ada", instance_id, incident_id)
    assert "Incident retried" in text(as_user(app, "ada").get("/audit"))  # who and when, in the audit log
    again = admin.post(f"/admin/incidents/{incident_id}/retry", data={"next": "//evil.example/"})
    assert again.headers["Location"] == "/admin/incidents"  # only same-site paths
    assert "already resolved by ada" in text(admin.get("/admin/incidents"))


def test_the_admin_list_filters_by_kind_and_state_and_only_resolvers_see_retry(
    app: Flask, deployed: MakeUow, actors: dict
) -> None:
    _, incident_id = parked_lead(deployed, actors)
    otto = as_user(app, "otto")  # auditor: reads, changes nothing
    listing = otto.get("/admin/incidents")
    assert listing.status_code == 200
    assert ERROR in text(listing)
    assert "/retry" not in listing.get_data(as_text=True)
    assert otto.post(f"/admin/incidents/{incident_id}/retry").status_code == 403
    assert ERROR not in text(otto.get("/admin/incidents?kind=outbox"))
    assert ERROR not in text(otto.get("/admin/incidents?state=resolved"))
    assert ERROR in text(otto.get("/admin/incidents?kind=timer&state="))
    assert otto.get("/admin/incidents?kind=nope").status_code == 422
    assert otto.get("/admin/incidents?page=0").status_code == 400
    assert as_user(app, "sam").get("/admin/incidents").status_code == 403
    assert "Инциденты" in text(as_user(app, "ada").get("/admin/incidents?lang=ru"))


def test_retry_needs_the_csrf_token(db_url: str, deployed: MakeUow, actors: dict) -> None:
    _, incident_id = parked_lead(deployed, actors)
    app = create_app(settings(db_url, UOW_FACTORY=deployed, WTF_CSRF_ENABLED=True))
    browser = app.test_client()
    page = browser.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    assert (
        browser.post("/login", data={"username": "ada", "password": "correct-horse-1", "csrf_token": token}).status_code
        == 302
    )
    assert browser.post(f"/admin/incidents/{incident_id}/retry").status_code == 400
    listing = browser.get("/admin/incidents").get_data(as_text=True)
    token = listing.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    assert browser.post(f"/admin/incidents/{incident_id}/retry", data={"csrf_token": token}).status_code == 302


def test_the_api_lists_and_retries_incidents_as_documented(
    api_app: Flask, api: dict[str, ApiUser], deployed: MakeUow, actors: dict
) -> None:
    instance_id, incident_id = parked_lead(deployed, actors)
    c = Conformance()
    sam, otto, designer = api["sales"], api["auditor"], api["designer"]
    c.check(sam, "get", "/incidents", 403)
    listed: dict[str, Any] = c.check(otto, "get", "/incidents", 200)
    assert [(i["id"], i["kind"], i["instance_id"], i["error"]) for i in listed["items"]] == [
        (incident_id, "timer", instance_id, ERROR)
    ]
    assert otto.get("/incidents", kind="reminder").get_json()["items"] == []
    assert otto.get("/incidents", instance_id=instance_id, state="open").get_json()["total"] == 1
    assert otto.get("/incidents", kind="nope").status_code == 422
    assert otto.get("/incidents", instance_id="x").status_code == 400
    c.check(otto, "post", "/incidents/{incident_id}/retry", 403, incident_id=incident_id)
    c.check(designer, "post", "/incidents/{incident_id}/retry", 404, incident_id=999999)
    retried = c.check(designer, "post", "/incidents/{incident_id}/retry", 200, incident_id=incident_id)
    assert (retried["resolved_by"], retried["attempts"]) == ("dina", 1)
    c.check(designer, "post", "/incidents/{incident_id}/retry", 409, incident_id=incident_id)
    assert timer_state(deployed, instance_id) == (0, False)
