"""The JSON API: token auth, the lead path, validation, errors and the role policy over HTTP."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask

from engine.store.uow import UnitOfWork
from tests.web.api_client import (
    API,
    ApiUser,
    create_lead,
    open_task,
    snapshot,
)


@pytest.mark.parametrize(("method", "path"), [("get", "/me"), ("get", "/tasks"), ("post", "/records/Lead"),
                                              ("post", "/tasks/x/complete"), ("get", "/process-versions")])
def test_request_without_token_is_401_with_bearer_challenge(api_app: Flask, method: str, path: str) -> None:
    response = getattr(api_app.test_client(), method)(API + path, json={})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.get_json()["error"] == "Unauthorized"


@pytest.mark.parametrize("header", ["Bearer fcrm_not-a-token", "Basic c2FtOnB3", "Bearer", "fcrm_x"])
def test_unknown_or_malformed_token_is_401(api_app: Flask, api: dict[str, ApiUser], header: str) -> None:
    response = api_app.test_client().get(API + "/me", headers={"Authorization": header})
    assert response.status_code == 401
    assert "Bearer" in response.headers["WWW-Authenticate"]


def test_session_cookie_does_not_authenticate_the_api(api_app: Flask, api: dict[str, ApiUser]) -> None:
    client = api_app.test_client()
    with client.session_transaction() as session:
        session["user_id"] = 1
    assert client.get(API + "/me").status_code == 401


def test_me_is_the_token_holder(api: dict[str, ApiUser]) -> None:
    body = api["head"].get("/me").get_json()
    assert body["username"] == "hank"
    assert body["roles"] == ["head_of_sales"]
    assert body["team"] == "north"


def test_lead_goes_from_pool_to_first_meeting_through_the_api(api: dict[str, ApiUser]) -> None:
    sam, sue = api["sales"], api["sales2"]
    created = sam.post("/records/Lead", {"title": "Acme order", "budget": "1200.50", "channel": "website"})
    assert created.status_code == 201
    lead = created.get_json()
    assert created.headers["Location"].endswith(f"/api/v1/records/{lead['id']}")
    assert lead["data"]["status"] == "new"

    task = open_task(sue, lead["id"])  # the whole sales pool sees it
    assert task["title"] == "Qualify lead"
    assert task["assignee"] is None
    detail = sam.get(f"/tasks/{task['id']}").get_json()
    assert detail["form_schema"]["properties"]["outcome"]["enum"] == ["convert", "nurture", "disqualify"]
    assert detail["can_claim"] is True

    claimed = sam.post(f"/tasks/{task['id']}/claim")
    assert claimed.status_code == 200
    assert claimed.get_json()["assignee"] == "sam"
    completed = sam.post(f"/tasks/{task['id']}/complete", {"outcome": "convert", "relationship": "potential_client"})
    assert completed.status_code == 200, completed.get_json()
    assert completed.get_json()["state"] == "completed"

    nxt = open_task(sam, lead["id"], scope="mine")
    assert nxt["title"] == "Arrange first meeting"
    assert nxt["assignee"] == "sam"
    record = sam.get(f"/records/{lead['id']}").get_json()
    assert record["data"]["status"] == "qualified"
    assert record["data"]["relationship"] == "potential_client"
    assert record["owner"] == "sam"
    history = sam.get(f"/records/{lead['id']}/history").get_json()["items"]
    changes = {(h["field"], h["old_value"], h["new_value"], h["actor"]) for h in history}
    assert ("status", "new", "qualified", "process") in changes
    assert ("relationship", None, "potential_client", "sam") in changes
    assert ("owner", None, "sam", "sam") in changes
    instances = sam.get(f"/records/{lead['id']}/instances").get_json()["items"]
    assert [(i["process_id"], i["status"]) for i in instances] == [("lead_qualification", "running")]
    steps = sam.get(f"/instances/{instances[0]['id']}").get_json()["steps"]
    done = [s for s in steps if s["kind"] == "task_completed"]
    assert [(s["element_id"], s["actor"], s["data"]["outcome"]) for s in done] == [("qualify_lead", "sam", "convert")]


def test_invalid_record_gets_422_per_field_and_stores_nothing(api: dict[str, ApiUser],
                                                              deployed: Callable[[], UnitOfWork]) -> None:
    before = snapshot(deployed)
    response = api["sales"].post("/records/Lead", {"budget": "lots", "email": "not-an-email", "status": "bogus"})
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == "ValidationError"
    assert {"title", "budget", "email", "status"} <= set(body["fields"])
    assert all(isinstance(m, str) and m for msgs in body["fields"].values() for m in msgs)
    assert snapshot(deployed) == before


def test_invalid_form_submission_gets_422_and_changes_nothing(api: dict[str, ApiUser],
                                                              deployed: Callable[[], UnitOfWork]) -> None:
    sam = api["sales"]
    lead = create_lead(sam)
    task = open_task(sam, lead["id"])
    assert sam.post(f"/tasks/{task['id']}/claim").status_code == 200
    before = snapshot(deployed)
    bad = sam.post(f"/tasks/{task['id']}/complete", {"outcome": "maybe", "budget": "-5x"})
    assert bad.status_code == 422
    assert {"outcome", "budget"} <= set(bad.get_json()["fields"])
    no_reason = sam.post(f"/tasks/{task['id']}/complete", {"outcome": "disqualify"})
    assert no_reason.status_code == 422
    assert "disqualify_reason" in no_reason.get_json()["fields"]
    assert snapshot(deployed) == before
    assert sam.get(f"/tasks/{task['id']}").get_json()["task"]["state"] == "open"


@pytest.mark.parametrize("path", ["/tasks/no-such-task", "/records/999999", "/records/999999/history",
                                  "/records/999999/instances", "/instances/999999", "/records/NoSuchEntity",
                                  "/no-such-route"])
def test_unknown_ids_are_404(api: dict[str, ApiUser], path: str) -> None:
    response = api["admin"].get(path)
    assert response.status_code == 404
    assert response.get_json()["message"]


def test_unknown_task_cannot_be_claimed_or_completed(api: dict[str, ApiUser]) -> None:
    assert api["sales"].post("/tasks/no-such-task/claim").status_code == 404
    assert api["sales"].post("/tasks/no-such-task/complete", {"outcome": "convert"}).status_code == 404


def test_second_completion_of_same_task_gets_conflict(api: dict[str, ApiUser]) -> None:
    sam = api["sales"]
    lead = create_lead(sam)
    task = open_task(sam, lead["id"])
    assert sam.post(f"/tasks/{task['id']}/complete", {"outcome": "convert"}).status_code == 200
    again = sam.post(f"/tasks/{task['id']}/complete", {"outcome": "nurture"})
    assert again.status_code == 409
    assert again.get_json()["error"] == "ConflictError"
    assert sam.post(f"/tasks/{task['id']}/claim").status_code == 409


def test_claimed_task_cannot_be_claimed_by_another_and_unclaim_returns_it(api: dict[str, ApiUser]) -> None:
    sam, sue = api["sales"], api["sales2"]
    lead = create_lead(sam)
    task = open_task(sam, lead["id"])
    assert sam.post(f"/tasks/{task['id']}/claim").status_code == 200
    assert sue.post(f"/tasks/{task['id']}/claim").status_code == 409
    assert sue.post(f"/tasks/{task['id']}/unclaim").status_code in (403, 404)  # refused; visibility is policy
    back = sam.post(f"/tasks/{task['id']}/unclaim")
    assert back.status_code == 200
    assert back.get_json()["assignee"] is None
    assert open_task(sue, lead["id"])["id"] == task["id"]


def test_auditor_gets_403_on_every_write_route(api: dict[str, ApiUser], deployed: Callable[[], UnitOfWork],
                                               bundle_files: dict[str, str]) -> None:
    sam, otto = api["sales"], api["auditor"]
    pooled = open_task(sam, create_lead(sam, "Pooled")["id"])
    claimed_lead = create_lead(sam, "Claimed")
    claimed = open_task(sam, claimed_lead["id"])
    assert sam.post(f"/tasks/{claimed['id']}/claim").status_code == 200
    before = snapshot(deployed)
    writes = [
        ("post", "/records/Lead", {"title": "Audit"}),
        ("patch", f"/records/{claimed_lead['id']}", {"changes": {"title": "Audited"}}),
        ("post", f"/tasks/{pooled['id']}/claim", None),
        ("post", f"/tasks/{claimed['id']}/unclaim", None),
        ("post", f"/tasks/{pooled['id']}/complete", {"outcome": "convert"}),
        ("post", f"/tasks/{claimed['id']}/complete", {"outcome": "convert"}),
        ("post", "/instances", {"process_id": "lead_qualification", "record_id": claimed_lead["id"]}),
        ("post", "/deployments", {"files": {"processes/lead_qualification.bpmn":
                                            bundle_files["processes/lead_qualification.bpmn"]}}),
    ]
    for method, path, body in writes:
        response = getattr(otto, method)(path, body) if method == "patch" else otto.post(path, body)
        assert response.status_code == 403, (method, path, response.get_json())
        assert response.get_json()["error"] == "Forbidden"
    assert snapshot(deployed) == before
    assert otto.get("/tasks", scope="all").status_code == 200  # and reads everything
    assert otto.get(f"/records/{claimed_lead['id']}").status_code == 200


@pytest.mark.parametrize(("data", "content_type", "reason"), [
    ("{not json", "application/json", "not valid JSON"),
    ("[1, 2]", "application/json", "must be a JSON object"),
    ("title=x", "application/x-www-form-urlencoded", "Content-Type"),
    ("", "application/json", "not valid JSON"),
])
def test_malformed_body_is_400_with_a_reason(api: dict[str, ApiUser], data: str, content_type: str,
                                             reason: str) -> None:
    response = api["sales"].raw("POST", "/records/Lead", data, content_type)
    assert response.status_code == 400
    assert reason in response.get_json()["message"]


@pytest.mark.parametrize(("path", "params"), [("/tasks", {"limit": "many"}), ("/tasks", {"limit": 0}),
                                              ("/records/Lead", {"offset": -1}), ("/records/Lead", {"limit": 501})])
def test_bad_paging_is_400(api: dict[str, ApiUser], path: str, params: dict[str, object]) -> None:
    assert api["admin"].get(path, **params).status_code == 400


def test_unknown_scope_is_422(api: dict[str, ApiUser]) -> None:
    response = api["sales"].get("/tasks", scope="everything")
    assert response.status_code == 422
    assert "scope" in response.get_json()["fields"]


def test_records_are_paged_newest_first(api: dict[str, ApiUser]) -> None:
    for title in ("One", "Two", "Three"):
        create_lead(api["sales"], title)
    first = api["admin"].get("/records/Lead", limit=2).get_json()
    rest = api["admin"].get("/records/Lead", limit=2, offset=2).get_json()
    assert [r["title"] for r in first["items"]] == ["Three", "Two"]
    assert [r["title"] for r in rest["items"]] == ["One"]
    assert (first["limit"], rest["offset"]) == (2, 2)


def test_patch_with_revision_changes_fields_and_a_stale_revision_is_409(api: dict[str, ApiUser],
                                                                        deployed: Callable[[], UnitOfWork]) -> None:
    sam = api["sales"]
    lead = create_lead(sam)
    assert sam.post(f"/tasks/{open_task(sam, lead['id'])['id']}/claim").status_code == 200  # sam owns it now
    current = sam.get(f"/records/{lead['id']}").get_json()
    changed = sam.patch(f"/records/{lead['id']}", {"changes": {"company": "Acme Ltd"},
                                                   "expected_revision": current["revision"]})
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["data"]["company"] == "Acme Ltd"
    assert changed.get_json()["revision"] > current["revision"]
    before = snapshot(deployed)
    stale = sam.patch(f"/records/{lead['id']}", {"changes": {"company": "Other"},
                                                 "expected_revision": current["revision"]})
    assert stale.status_code == 409
    invalid = sam.patch(f"/records/{lead['id']}", {"changes": {"title": None, "budget": "x"}})
    assert invalid.status_code == 422
    assert {"title", "budget"} <= set(invalid.get_json()["fields"])
    assert sam.patch(f"/records/{lead['id']}", {"company": "Plain fields"}).status_code == 400
    assert sam.patch(f"/records/{lead['id']}", {"changes": {}, "expected_revision": "3"}).status_code == 400
    assert snapshot(deployed) == before
    history = sam.get(f"/records/{lead['id']}/history").get_json()["items"]
    assert ("company", None, "Acme Ltd", "edit") in {(h["field"], h["old_value"], h["new_value"], h["source"])
                                                     for h in history}


def test_start_instance_by_api(api: dict[str, ApiUser]) -> None:
    sam = api["sales"]
    lead = create_lead(sam)
    started = sam.post("/instances", {"process_id": "lead_qualification", "record_id": lead["id"]})
    assert started.status_code == 201, started.get_json()
    instance = started.get_json()
    assert started.headers["Location"].endswith(f"/api/v1/instances/{instance['id']}")
    detail = sam.get(f"/instances/{instance['id']}").get_json()
    assert detail["instance"]["record_id"] == lead["id"]
    assert [t["title"] for t in detail["tasks"]] == ["Qualify lead"]
    assert sam.post("/instances", {"process_id": "no_such_process", "record_id": lead["id"]}).status_code == 404
    missing = sam.post("/instances", {"process_id": "lead_qualification"})
    assert missing.status_code == 422
    assert "record_id" in missing.get_json()["fields"]
    assert sam.post("/instances", {"process_id": 7}).status_code == 400


def test_process_versions_are_for_definition_readers(api: dict[str, ApiUser]) -> None:
    versions = api["designer"].get("/process-versions").get_json()["items"]
    assert ("lead_qualification", 1) in [(v["process_id"], v["version"]) for v in versions]
    assert {v["version"] for v in versions} == {1}  # one version of each shipped process
    assert api["sales"].get("/process-versions").status_code == 403
