"""Diagram pages: a deployed version's BPMN XML and its bpmn-js page, and an instance page carrying the passed and
current elements to mark (the drawing itself is checked in tests/browser/test_diagram.py)."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable

from flask import Flask

from engine.services import instances, records, tasks
from engine.services.deployments import list_process_versions
from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.conftest import NOW
from tests.web.conftest import as_user

MakeUow = Callable[[], UnitOfWork]
Actors = dict[str, Actor]


def version_id(deployed: MakeUow, actors: dict[str, Actor], process_id: str) -> int:
    return next(v.id for v in list_process_versions(deployed(), actors["admin"]) if v.process_id == process_id)


def deal_at_negotiation(deployed: MakeUow, actors: dict[str, Actor]) -> int:
    """A deal whose offer was prepared and approved: it waits at `negotiate`. Returns its instance id."""
    sam, head = actors["sales"], actors["head"]
    deal = records.create_record(deployed(), sam, "Deal", {"title": "Deal"}, NOW, owner_id=sam.id).id
    [offer] = [t for t in tasks.list_tasks(deployed(), sam, "mine") if t.record_id == deal]
    tasks.complete_task(deployed(), sam, offer.id, {"amount": "1000"}, NOW)
    [review] = [t for t in tasks.list_tasks(deployed(), head, "pool") if t.record_id == deal]
    tasks.complete_task(deployed(), head, review.id, {"approval_decision": "approve"}, NOW)
    [instance] = instances.instances_for_record(deployed(), actors["admin"], deal)
    return instance.id


def attribute(page: str, name: str) -> list[str]:
    found = re.search(rf'{name}="([^"]*)"', page)
    assert found, name
    return list(json.loads(html.unescape(found.group(1))))


def test_version_xml_route_serves_the_deployed_bpmn(app: Flask, deployed: MakeUow, actors: Actors) -> None:
    vid = version_id(deployed, actors, "deal")
    response = as_user(app, "otto").get(f"/designer/versions/{vid}.bpmn")  # the auditor
    assert response.status_code == 200
    assert response.mimetype == "application/xml"
    body = response.get_data(as_text=True)
    assert '<bpmn:process id="deal"' in body
    assert "<bpmndi:BPMNDiagram" in body
    assert 'calledElement="document_approval"' in body
    assert as_user(app, "sam").get(f"/designer/versions/{vid}.bpmn").status_code == 403
    assert as_user(app, "otto").get("/designer/versions/999999.bpmn").status_code == 404


def test_designer_links_each_version_to_its_diagram_page(app: Flask, deployed: MakeUow, actors: Actors) -> None:
    vid = version_id(deployed, actors, "document_approval")
    browser = as_user(app, "dina")
    index = browser.get("/designer").get_data(as_text=True)
    assert f'href="/designer/versions/{vid}"' in index
    page = browser.get(f"/designer/versions/{vid}").get_data(as_text=True)
    assert f'data-bpmn-url="/designer/versions/{vid}/diagram.json"' in page  # drawn with labels; .bpmn downloads
    assert f'href="/designer/versions/{vid}.bpmn"' in page
    drawn = browser.get(f"/designer/versions/{vid}/diagram.json?lang=ru").get_json()
    assert 'name="Рассмотреть документ"' in drawn["xml"]
    assert 'name="Review the document"' in browser.get(f"/designer/versions/{vid}.bpmn").get_data(as_text=True)
    assert "/static/vendor/bpmn-js/bpmn-navigated-viewer.production.min.js" in page
    assert "<script>" not in page  # no inline script: the data rides on attributes
    for asset in ("vendor/bpmn-js/bpmn-navigated-viewer.production.min.js", "vendor/bpmn-js/bpmn-js.css",
                  "diagram.js", "diagram.css"):
        response = browser.get(f"/static/{asset}")
        assert response.status_code == 200, asset
        response.close()


def test_instance_page_carries_passed_and_current_elements(app: Flask, deployed: MakeUow, actors: Actors) -> None:
    instance_id = deal_at_negotiation(deployed, actors)
    page = as_user(app, "sam").get(f"/instances/{instance_id}").get_data(as_text=True)
    assert f'data-bpmn-url="/instances/{instance_id}/diagram.json"' in page
    completed, current = attribute(page, "data-completed"), attribute(page, "data-current")
    assert {"deal_created", "prepare_offer", "approve_offer"} <= set(completed)
    assert "review_document" in completed  # the called process's step, in history order
    assert current == ["negotiate"]
    assert "<script>" not in page

    data = as_user(app, "otto").get(f"/instances/{instance_id}/diagram.json").get_json()
    assert (data["process_id"], data["current"], data["completed"]) == ("deal", current, completed)
    assert data["xml"].startswith("<?xml")
    assert 'id="negotiate"' in data["xml"]


def test_running_call_activity_is_the_current_step(app: Flask, deployed: MakeUow, actors: Actors) -> None:
    sam = actors["sales"]
    deal = records.create_record(deployed(), sam, "Deal", {"title": "Deal"}, NOW, owner_id=sam.id).id
    [offer] = [t for t in tasks.list_tasks(deployed(), sam, "mine") if t.record_id == deal]
    tasks.complete_task(deployed(), sam, offer.id, {"amount": "1000"}, NOW)
    [instance] = instances.instances_for_record(deployed(), actors["admin"], deal)
    data = as_user(app, "sam").get(f"/instances/{instance.id}/diagram.json").get_json()
    assert data["current"] == ["approve_offer"]  # the head reviews inside document_approval


def test_instance_diagram_follows_instance_visibility(app: Flask, deployed: MakeUow, actors: Actors) -> None:
    instance_id = deal_at_negotiation(deployed, actors)
    assert as_user(app, "sue").get(f"/instances/{instance_id}/diagram.json").status_code == 404  # not her deal
    assert app.test_client().get(f"/instances/{instance_id}/diagram.json").status_code == 302  # to the login
