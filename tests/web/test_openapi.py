"""The OpenAPI document: valid 3.1, one entry per API route, and the responses the API really sends."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from openapi_spec_validator import validate

from engine.config.automation import Action
from engine.rules.actions import run_actions
from engine.services.views import SYSTEM
from tests.conftest import NOW
from tests.web.api_client import (
    API,
    ApiUser,
    app_uow,
    make_app,
    open_task,
)
from tests.web.conformance import Conformance
from web.openapi import PATHS, openapi_document

IGNORED_METHODS = {"HEAD", "OPTIONS"}


BASES = {"api.": API, "engine_rest.": "/engine-rest"}  # blueprint -> its server URL in the document


def app_routes(app: Flask) -> set[tuple[str, str]]:
    """(OpenAPI path template, method) of every route of the api and engine_rest blueprints."""
    routes = set()
    for rule in app.url_map.iter_rules():
        base = next((b for prefix, b in BASES.items() if rule.endpoint.startswith(prefix)), None)
        if base is None:
            continue
        assert rule.rule.startswith(base), rule.rule
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule.removeprefix(base))
        routes |= {(path, m.lower()) for m in rule.methods or () if m not in IGNORED_METHODS}
    return routes


def operations(item: dict[str, Any]) -> dict[str, Any]:
    """The operations of a path item (not its `servers`)."""
    return {method: operation for method, operation in item.items() if method != "servers"}


def test_document_is_valid_openapi_3_1() -> None:
    document = openapi_document()
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_every_api_route_is_documented_and_every_documented_route_exists(tmp_path: Any) -> None:
    app = make_app(f"sqlite:///{tmp_path}/routes.sqlite")
    documented = {(path, method) for path, item in openapi_document()["paths"].items() for method in operations(item)}
    assert app_routes(app) == documented


def test_every_documented_operation_names_its_path_parameters() -> None:
    document = openapi_document()
    for path, item in document["paths"].items():
        for method, operation in operations(item).items():
            names = {p["$ref"].rsplit("/", 1)[1] if "$ref" in p else p["name"] for p in operation.get("parameters", [])}
            assert set(re.findall(r"{(\w+)}", path)) <= names, (method, path)
            assert operation.get("security") == [] or "401" in operation["responses"], (method, path)


def test_served_document_needs_no_token(api_app: Flask) -> None:
    response = api_app.test_client().get(API + "/openapi.json")
    assert response.status_code == 200
    assert response.get_json() == openapi_document()


def rule_made_task(app: Flask, record_id: int) -> str:
    """A standalone task in the sales pool, made as a rule's create_task action makes one."""
    uow = app_uow(app)()
    with uow:
        record = uow.records.get(record_id)
        assert record is not None
        action = Action("create_task", {"title": "Call back", "candidate_groups": ["sales"]})
        run_actions(uow, record, [action], names=None, source="rule test", actor=SYSTEM, now=NOW, depth=0)
        uow.commit()
        (task,) = [t for t in uow.tasks.for_record(record_id) if t.instance_id is None]
        return task.id


def test_responses_match_the_documented_schemas(api_app: Flask, api: dict[str, ApiUser],
                                                bundle_files: dict[str, str]) -> None:
    c = Conformance()
    sam, admin, otto = api["sales"], api["admin"], api["auditor"]
    c.check(sam, "get", "/me", 200)
    c.check(sam, "get", "/process-versions", 403)
    c.check(admin, "get", "/process-versions", 200)
    lead = c.check(sam, "post", "/records/{entity}", 201, {"title": "Acme", "budget": "10"}, entity="Lead")
    c.check(sam, "post", "/records/{entity}", 422, {"budget": "x"}, entity="Lead")
    c.check(otto, "post", "/records/{entity}", 403, {"title": "x"}, entity="Lead")
    c.check(sam, "get", "/records/{entity}", 200, entity="Lead")
    c.check(sam, "get", "/records/{record_id}", 200, record_id=lead["id"])
    c.check(sam, "get", "/records/{record_id}", 404, record_id=999999)
    c.check(sam, "get", "/tasks", 200)
    task = open_task(sam, lead["id"])
    c.check(sam, "get", "/tasks/{task_id}", 200, task_id=task["id"])
    c.check(sam, "post", "/tasks/{task_id}/claim", 200, task_id=task["id"])
    c.check(sam, "post", "/tasks/{task_id}/unclaim", 200, task_id=task["id"])
    c.check(sam, "post", "/tasks/{task_id}/complete", 422, {"outcome": "x"}, task_id=task["id"])
    c.check(sam, "post", "/tasks/{task_id}/complete", 200, {"outcome": "convert"}, task_id=task["id"])
    c.check(sam, "post", "/tasks/{task_id}/complete", 409, {"outcome": "convert"}, task_id=task["id"])
    c.check(sam, "patch", "/records/{record_id}", 200, {"changes": {"company": "Acme Ltd"}}, record_id=lead["id"])
    c.check(sam, "patch", "/records/{record_id}", 400, {"company": "x"}, record_id=lead["id"])
    c.check(sam, "get", "/records/{record_id}/history", 200, record_id=lead["id"])
    instances = c.check(sam, "get", "/records/{record_id}/instances", 200, record_id=lead["id"])["items"]
    c.check(sam, "get", "/instances/{instance_id}", 200, instance_id=instances[0]["id"])
    c.check(sam, "post", "/instances", 201, {"process_id": "lead_qualification", "record_id": lead["id"]})
    other = c.check(sam, "post", "/records/{entity}", 201, {"title": "Acme, second request"}, entity="Lead")
    new_link = {"to_record_id": other["id"], "kind": "related"}
    link = c.check(sam, "post", "/records/{record_id}/links", 201, new_link, record_id=lead["id"])
    c.check(sam, "post", "/records/{record_id}/links", 409, new_link, record_id=lead["id"])
    c.check(sam, "post", "/records/{record_id}/links", 422, {**new_link, "kind": "nope"}, record_id=lead["id"])
    c.check(sam, "post", "/records/{record_id}/links", 400, {"to_record_id": "x", "kind": "related"},
            record_id=lead["id"])
    c.check(otto, "post", "/records/{record_id}/links", 403, new_link, record_id=lead["id"])
    links = c.check(sam, "get", "/records/{record_id}/links", 200, record_id=other["id"])
    assert [x["record_id"] for x in links["incoming"]] == [lead["id"]]
    c.check(sam, "get", "/records/{record_id}/links", 404, record_id=999999)
    c.check(otto, "delete", "/links/{link_id}", 403, link_id=link["id"])
    c.check(sam, "delete", "/links/{link_id}", 204, link_id=link["id"])
    c.check(sam, "delete", "/links/{link_id}", 404, link_id=link["id"])
    due = {"due_at": "2099-03-02T09:00:00+03:00", "note": "call back"}
    reminder = c.check(sam, "post", "/records/{record_id}/reminders", 201, due, record_id=lead["id"])
    c.check(sam, "post", "/records/{record_id}/reminders", 400, {"due_at": "tomorrow"}, record_id=lead["id"])
    c.check(sam, "post", "/records/{record_id}/reminders", 422, {"due_at": "2000-01-01T00:00:00+00:00"},
            record_id=lead["id"])
    c.check(sam, "post", "/records/{record_id}/reminders", 404, due, record_id=999999)
    assert c.check(sam, "get", "/records/{record_id}/reminders", 200, record_id=lead["id"])["items"] == [reminder]
    c.check(sam, "get", "/records/{record_id}/reminders", 404, record_id=999999)
    c.check(otto, "delete", "/reminders/{reminder_id}", 403, reminder_id=reminder["id"])  # auditors change nothing
    c.check(otto, "post", "/records/{record_id}/reminders", 403, due, record_id=lead["id"])
    c.check(sam, "delete", "/reminders/{reminder_id}", 204, reminder_id=reminder["id"])
    standalone = rule_made_task(api_app, other["id"])
    assert c.check(sam, "get", "/tasks/{task_id}", 200, task_id=standalone)["task"]["instance_id"] is None
    c.check(sam, "post", "/tasks/{task_id}/complete", 200, {}, task_id=standalone)
    bpmn = "processes/lead_qualification.bpmn"
    broken = bundle_files[bpmn].replace('formKey="qualify_lead"', 'formKey="nope"')
    c.check(api["designer"], "post", "/deployments", 422, {"files": {bpmn: broken}})
    c.check(api["designer"], "post", "/deployments", 200, {"files": {bpmn: bundle_files[bpmn]}})
    c.check(api["admin"], "post", "/events/{name}", 201, {"data": {"subject": "From the site"}},
            name="web_form_submitted")
    c.check(api["admin"], "post", "/events/{name}", 404, {"data": {}}, name="no_such_event")
    c.check(api["head"], "post", "/tasks/reassign", 422, {"task_ids": ["nope"], "to": "sue"})
    c.check(api["head"], "post", "/records/reassign", 422, {"record_ids": [999999], "to": "sue"})
    c.check(api["admin"], "post", "/users/{username}/redistribute", 404, username="nobody")
    anonymous = ApiUser(sam.app, "fcrm_unknown", "nobody")
    c.check(anonymous, "get", "/me", 401)
    documented = set(PATHS) - {"/openapi.json"}  # feature parts (web/apidoc) are exercised by their own tests
    assert documented <= {p for p, _, _ in c.checked}

