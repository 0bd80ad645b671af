"""POST /api/v1/events/<name>: status codes with reasons, and every request kept in inbound_event."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from engine.services.deployments import deploy_bundle
from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.conftest import NOW
from tests.integration.test_events import EVENTS_YAML, FOLLOWUP_BPMN, FORM, SETUP
from tests.web.api_client import ApiUser, api_users, app_uow, create_lead


@pytest.fixture
def api(
    api_app: Flask, deployed: Callable[[], UnitOfWork], actors: dict[str, Actor], bundle_files: dict[str, str]
) -> dict[str, ApiUser]:
    files = {**bundle_files, "processes/events_followup.bpmn": FOLLOWUP_BPMN, "crm_model/events.yaml": EVENTS_YAML}
    deploy_bundle(deployed(), SETUP, files, NOW)
    return api_users(api_app, deployed, actors)


def outcomes(app: Flask) -> list[tuple[str, str, str | None]]:
    uow = app_uow(app)()
    with uow:
        return [(r.name, r.outcome, r.detail) for r in reversed(uow.events.recent())]


def post(user: ApiUser, name: str, body: Any) -> tuple[int, dict[str, Any]]:
    response = user.post(f"/events/{name}", body)
    return response.status_code, response.get_json()


def test_web_form_creates_a_lead_in_qualification(api_app: Flask, api: dict[str, ApiUser]) -> None:
    status, body = post(api["designer"], "web_form_submitted", {"data": FORM})

    assert status == 201, body
    assert body["outcome"] == "started"
    record = api["admin"].get(f"/records/{body['record_id']}").get_json()
    assert record["title"] == FORM["subject"]
    started = api["admin"].get(f"/records/{body['record_id']}/instances").get_json()["items"]
    assert [i["process_id"] for i in started] == ["lead_qualification"]


def test_reply_reaches_the_waiting_instance(api_app: Flask, api: dict[str, ApiUser]) -> None:
    sam = api["sales"]
    lead = create_lead(sam)
    instance = sam.post("/instances", {"process_id": "client_followup", "record_id": lead["id"]}).get_json()

    status, body = post(sam, "client_replied", {"business_key": lead["id"], "data": {"reply": "yes"}})

    assert (status, body["instance_ids"], body["record_id"]) == (201, [instance["id"]], lead["id"])
    tasks = sam.get(f"/instances/{instance['id']}").get_json()["tasks"]
    assert [t["title"] for t in tasks] == ["Answer the client"]
    status, body = post(sam, "client_replied", {"business_key": str(lead["id"]), "data": {}})
    assert status == 409
    assert "nothing waits for message 'client_reply'" in body["message"]


def test_refusals_answer_4xx_with_a_reason_and_are_logged(api_app: Flask, api: dict[str, ApiUser]) -> None:
    admin = api["admin"]
    status, body = post(admin, "invoice_paid", {"data": {}})
    assert status == 404
    assert "unknown event 'invoice_paid'" in body["message"]
    status, body = post(admin, "web_form_submitted", {"data": {"email": "nope"}})
    assert status == 422
    assert set(body["fields"]) == {"data.subject", "data.email"}
    assert post(admin, "web_form_submitted", {"data": [1]})[0] == 400
    assert post(admin, "web_form_submitted", {"payload": {}})[0] == 400
    assert post(admin, "client_replied", {"business_key": True})[0] == 400
    malformed = admin.raw("POST", "/events/web_form_submitted", "{not json", "application/json")
    assert malformed.status_code == 400
    assert post(api["auditor"], "web_form_submitted", {"data": FORM})[0] == 403
    anonymous = ApiUser(admin.app, "fcrm_unknown", "nobody")
    assert post(anonymous, "web_form_submitted", {"data": FORM})[0] == 401  # not ours to log: no known sender

    logged = outcomes(api_app)
    assert [(name, outcome) for name, outcome, _ in logged] == [
        ("invoice_paid", "rejected"),
        ("web_form_submitted", "rejected"),
        ("web_form_submitted", "rejected"),
        ("web_form_submitted", "rejected"),
        ("client_replied", "rejected"),
        ("web_form_submitted", "rejected"),
        ("web_form_submitted", "rejected"),
    ]
    assert [detail.split(":")[0] for _, _, detail in logged if detail] == [
        "NotFound",
        "ValidationError",
        "BadRequest",
        "BadRequest",
        "BadRequest",
        "BadRequest",
        "Forbidden",
    ]
