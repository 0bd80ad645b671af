"""REST API of auditing: GET /audit and GET /records/{id}/as-of against the OpenAPI document; the auditor changes
nothing through any API route."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Flask

from engine.services.records import update_record
from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.conftest import NOW
from tests.web.api_client import ApiUser, app_uow, create_lead, snapshot
from tests.web.conformance import Conformance
from tests.web.conftest import new_lead
from web.apidoc.audit import PATHS

MakeUow = Callable[[], UnitOfWork]
WRITES = ("POST", "PUT", "PATCH", "DELETE")


class QueryConformance(Conformance):
    """Conformance checks of paths with a query string: the part before `?` names the documented path."""

    def check(self, user: ApiUser, method: str, path: str, status: int, body: Any = None,
              **values: Any) -> dict[str, Any]:
        """Send `path` (with its query) and validate the answer against the documented path's schema."""
        documented, _, query = path.partition("?")
        original = user.send

        def send(method_: str, url: str, body_: Any = None) -> Any:
            return original(method_, f"{url}?{query}" if query else url, body_)

        user.send = send  # type: ignore[method-assign]
        try:
            return super().check(user, method, documented, status, body, **values)
        finally:
            del user.send


def test_audit_routes_answer_as_documented(api_app: Flask, api: dict[str, ApiUser], deployed: MakeUow,
                                           actors: dict[str, Actor]) -> None:
    c = QueryConformance()
    created = {"id": new_lead(deployed, actors, "Audited", budget="10.00").id}
    update_record(deployed(), actors["head"], created["id"], {"budget": "20.00"}, NOW + timedelta(hours=1))

    first = c.check(api["auditor"], "get", "/audit?limit=2", 200)
    assert len(first["items"]) == 2
    assert first["next"]
    newest = first["items"][0]
    assert (newest["kind"], newest["subject"], newest["old_value"], newest["new_value"], newest["source"]) == \
        ("field", "budget", "10.00", "20.00", "edit")
    rest = c.check(api["auditor"], "get", f"/audit?limit=500&after={first['next']}", 200)
    assert rest["next"] is None
    assert {i["cursor"] for i in rest["items"]}.isdisjoint({i["cursor"] for i in first["items"]})

    mine = c.check(api["head"], "get", f"/audit?user=head&kind=field,step&record_id={created['id']}", 200)
    assert mine["items"] == []
    by_hank = c.check(api["head"], "get",
                      f"/audit?user=hank&kind=field&record_id={created['id']}&from=2026-03-02T09:30", 200)
    assert [i["subject"] for i in by_hank["items"]] == ["budget"]
    c.check(api["auditor"], "get", "/audit?kind=gossip", 400)
    c.check(api["auditor"], "get", "/audit?from=someday", 400)
    c.check(api["auditor"], "get", "/audit?after=xyz", 400)
    c.check(api["sales"], "get", "/audit", 403)

    then = c.check(api["auditor"], "get", "/records/{record_id}/as-of?at=2026-03-02T09:30:00Z", 200,
                   record_id=created["id"])
    budget = next(v for v in then["values"] if v["field"] == "budget")
    assert (budget["value"], budget["source"], budget["changed_since"], budget["current"]) == \
        ("10.00", "create", True, "20.00")
    assert then["changed_since"] == ["budget"]
    c.check(api["auditor"], "get", "/records/{record_id}/as-of?at=2020-01-01", 404, record_id=created["id"])
    c.check(api["auditor"], "get", "/records/{record_id}/as-of", 400, record_id=created["id"])
    c.check(api["auditor"], "get", "/records/{record_id}/as-of?at=tomorrow", 400, record_id=created["id"])
    c.check(api["designer"], "get", "/records/{record_id}/as-of?at=2026-03-02T09:30", 404, record_id=created["id"])
    c.check(api["auditor"], "get", "/records/{record_id}/as-of?at=2026-03-02T09:30", 404, record_id=999999)

    assert set(PATHS) <= {p for p, _, _ in c.checked}


def _fill(rule: str, values: dict[str, Any]) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values.get(m.group(1), 1)), rule)


def _bodies(lead_id: int, task_id: str) -> dict[str, Any]:
    """Well-formed bodies, so a route's role check (not its body check) is what answers."""
    return {
        "/api/v1/tasks/reassign": {"task_ids": [task_id], "to": "sam"},
        "/api/v1/records/reassign": {"record_ids": [lead_id], "to": "sam"},
        "/api/v1/records/<int:record_id>/links": {"to_record_id": lead_id, "kind": "related"},
        "/api/v1/instances": {"process_id": "lead_qualification", "record_id": lead_id},
        "/api/v1/deployments": {"files": {"crm_model/catalogs/extra.yaml": None}},
        "/api/v1/records/<int:record_id>": {"changes": {"title": "forged"}},
        "/api/v1/records/<entity>": {"title": "forged"},
    }


# the writes of the core areas: each refuses the auditor by role, whatever the body
CORE_WRITES = (
    "POST /api/v1/tasks/reassign", "POST /api/v1/records/reassign", "POST /api/v1/users/<username>/redistribute",
    "POST /api/v1/events/<name>", "POST /api/v1/records/<int:record_id>/links", "DELETE /api/v1/links/<int:link_id>",
    "POST /api/v1/instances", "POST /api/v1/deployments", "POST /api/v1/records/<entity>",
    "PATCH /api/v1/records/<int:record_id>", "POST /api/v1/tasks/<task_id>/claim",
    "POST /api/v1/tasks/<task_id>/unclaim", "POST /api/v1/tasks/<task_id>/complete",
    "POST /api/v1/records/<int:record_id>/reminders", "DELETE /api/v1/reminders/<int:reminder_id>",  # issue 10
)
# searches sent by POST (a filter body): reading, which auditors may do; the snapshot proves nothing changed
READ_POSTS = {"POST /api/v1/find", "POST /api/v1/find/count"}


def test_the_auditor_is_refused_every_api_write(api_app: Flask, api: dict[str, ApiUser], deployed: MakeUow) -> None:
    lead = create_lead(api["head"], "Untouchable")
    task = next(t for t in api["sales"].get("/tasks", scope="pool").get_json()["items"]
                if t["record_id"] == lead["id"])
    values = {"record_id": lead["id"], "entity": "Lead", "task_id": task["id"], "instance_id": task["instance_id"],
              "username": "sam", "name": "web_form_submitted"}
    bodies = _bodies(lead["id"], task["id"])
    before = snapshot(app_uow(api_app))
    answers = {}
    for rule in api_app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        for method in sorted(set(rule.methods or ()) & set(WRITES)):
            response = api["auditor"].send(method, _fill(rule.rule, values)[len("/api/v1"):],
                                           bodies.get(rule.rule, {}))
            answers[f"{method} {rule.rule}"] = response.status_code
    assert set(CORE_WRITES) <= set(answers)
    assert {route: answers[route] for route in CORE_WRITES if answers.get(route) != 403} == {}
    assert {route: status for route, status in answers.items() if status < 400 and route not in READ_POSTS} == {}
    after = snapshot(app_uow(api_app))
    refused_event = after.pop("inbound_event")  # a refused event is itself kept in the audit trail
    assert len(refused_event) == 1
    assert "'rejected'" in refused_event[0]
    assert after == {k: v for k, v in before.items() if k != "inbound_event"}
