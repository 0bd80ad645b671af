"""REST API of segments: CRUD, paged records, mass actions and exports, each checked against the OpenAPI part."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from openpyxl import load_workbook

from engine.services.records import create_record
from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.conftest import NOW
from tests.web.api_client import snapshot
from tests.web.conformance import Conformance
from web.apidoc.segments import PATHS

VIP = {"entity": "Contact", "where": {"all": [{"field": "tags", "op": "has_any", "value": ["vip"]}]}}


def test_segment_routes_answer_as_documented(api: dict[str, Any], deployed: Callable[[], UnitOfWork],
                                             actors: dict[str, Actor]) -> None:
    for i in range(3):
        create_record(deployed(), actors["admin"], "Contact", {"full_name": f"VIP {i}", "email": f"v{i}@example.com",
                                                               "tags": ["vip"]}, NOW, owner_id=actors["sales"].id)
    c = Conformance()
    sam, sue, hank, otto, dina = api["sales"], api["sales2"], api["head"], api["auditor"], api["designer"]
    saved = c.check(sam, "post", "/segments", 201, {"entity": "Contact", "name": "VIP", "filter": VIP})
    assert (saved["name"], saved["filter"], saved["created_by"]) == ("VIP", VIP, "sam")
    sid = saved["id"]
    bad = c.check(sam, "post", "/segments", 422, {"entity": "Contact", "name": "VIP", "filter": {
        "where": {"field": "tags", "op": "gt", "value": 1}}})
    assert set(bad["fields"]) == {"name", "filter.where.op"}
    c.check(sam, "post", "/segments", 400, {"entity": "Contact", "name": "x", "filter": "tags=vip"})
    c.check(sam, "post", "/segments", 404, {"entity": "Nothing", "name": "x", "filter": {}})
    c.check(otto, "post", "/segments", 403, {"entity": "Contact", "name": "x", "filter": VIP})
    assert [s["id"] for s in c.check(otto, "get", "/segments", 200)["items"]] == [sid]
    c.check(dina, "get", "/segments", 403)
    assert c.check(hank, "get", "/segments/{segment_id}", 200, segment_id=sid)["name"] == "VIP"
    c.check(hank, "get", "/segments/{segment_id}", 404, segment_id=999999)
    c.check(sue, "put", "/segments/{segment_id}", 403, {"name": "Mine", "filter": VIP}, segment_id=sid)
    c.check(sam, "put", "/segments/{segment_id}", 422, {"name": "", "filter": VIP}, segment_id=sid)
    c.check(sam, "put", "/segments/{segment_id}", 400, {"name": "VIP", "filter": VIP, "colour": 1}, segment_id=sid)
    changed = c.check(sam, "put", "/segments/{segment_id}", 200, {"name": "VIP clients", "filter": VIP,
                                                                   "description": "top"}, segment_id=sid)
    assert (changed["name"], changed["description"]) == ("VIP clients", "top")

    page = c.check(sam, "get", "/segments/{segment_id}/records", 200, segment_id=sid)
    assert (len(page["items"]), page["total"]) == (3, 3)
    assert c.check(sue, "get", "/segments/{segment_id}/records", 200, segment_id=sid)["total"] == 0
    c.check(dina, "get", "/segments/{segment_id}/records", 403, segment_id=sid)
    paged = sam.get(f"/segments/{sid}/records", limit=2, offset=2).get_json()  # Conformance sends no query
    assert (len(paged["items"]), paged["total"], paged["limit"], paged["offset"]) == (1, 3, 2, 2)
    assert sam.get(f"/segments/{sid}/records", limit=0).status_code == 400

    before = snapshot(deployed)
    preview = c.check(sam, "post", "/segments/{segment_id}/actions", 200,
                      {"action": "tag", "code": "partner", "dry_run": True}, segment_id=sid)
    assert (preview["records"], preview["changed"], preview["dry_run"]) == (3, 3, True)
    c.check(sam, "post", "/segments/{segment_id}/actions", 422, {"action": "tag", "code": "nosuch"}, segment_id=sid)
    c.check(sam, "post", "/segments/{segment_id}/actions", 403, {"action": "assign", "to": "sue"}, segment_id=sid)
    c.check(otto, "post", "/segments/{segment_id}/actions", 403, {"action": "tag", "code": "vip"}, segment_id=sid)
    c.check(sam, "post", "/segments/{segment_id}/actions", 400, {"action": "tag", "code": "vip", "dry_run": "yes"},
            segment_id=sid)
    assert snapshot(deployed) == before
    done = c.check(sam, "post", "/segments/{segment_id}/actions", 200, {"action": "tag", "code": "partner"},
                   segment_id=sid)
    assert (done["records"], done["changed"], done["skipped"], done["errors"]) == (3, 3, 0, [])

    response = sam.get(f"/segments/{sid}/export", format="csv", columns="full_name,tags")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.get_data().decode("utf-8").splitlines() == [
        "\ufeffFull name,Tags", "VIP 0,\"VIP, Partner\"", "VIP 1,\"VIP, Partner\"", "VIP 2,\"VIP, Partner\""]
    xlsx = otto.get(f"/segments/{sid}/export", format="xlsx", columns="id,full_name")
    assert xlsx.status_code == 200
    book = load_workbook(io.BytesIO(xlsx.get_data()), read_only=True)
    try:
        assert len(list(book.active.iter_rows(values_only=True))) == 4
    finally:
        book.close()
    assert sam.get(f"/segments/{sid}/export", format="pdf").status_code == 400
    refused = sam.get(f"/segments/{sid}/export", columns="nosuch")
    assert refused.status_code == 422
    assert "nosuch" in refused.get_json()["fields"]["columns"][0]
    c.check(dina, "get", "/segments/{segment_id}/export", 403, segment_id=sid)
    c.check(sam, "get", "/segments/{segment_id}/export", 404, segment_id=999999)

    c.check(sue, "delete", "/segments/{segment_id}", 403, segment_id=sid)
    c.check(sam, "delete", "/segments/{segment_id}", 204, segment_id=sid)
    c.check(sam, "delete", "/segments/{segment_id}", 404, segment_id=sid)
    assert set(PATHS) <= {p for p, _, _ in c.checked}
