"""The duplicate review queue over the REST API: every documented path checked against the OpenAPI document."""

from __future__ import annotations

from engine.services.records import get_record
from tests.web.conformance import Conformance
from tests.web.test_duplicates_ui import lead, pair_of
from web.apidoc.duplicates import PATHS


def test_every_documented_duplicates_path_answers_as_documented(api, deployed, actors):
    c = Conformance()
    hank, sam, otto, dina = api["head"], api["sales"], api["auditor"], api["designer"]
    old = lead(deployed, actors, "Ivan, 20 laptops", phone="+7 916 000-00-01", budget="100000")
    new = lead(deployed, actors, "Ivan Petrov", phone="89160000001", email="ivan@example.com")
    other = lead(deployed, actors, "Maria", phone="+7 916 000-00-09")
    pair, second = pair_of(deployed, old, new), pair_of(deployed, old, other, score=60.0)

    queue = c.check(hank, "get", "/duplicates", 200)
    assert [p["id"] for p in queue["items"]][:2] == [pair, second]
    assert queue["limit"] == 50
    assert queue["items"][0]["reasons"][0]["field"] == "phone"
    c.check(dina, "get", "/duplicates", 403)
    assert hank.get("/duplicates", status="nope").status_code == 422
    assert hank.get("/duplicates", entity="Nope").status_code == 404
    assert hank.get("/duplicates", entity="Contact").get_json()["items"] == []

    detail = c.check(hank, "get", "/duplicates/{pair_id}", 200, pair_id=pair)
    assert (detail["a"]["id"], detail["b"]["id"], detail["defaults"]["email"]) == (old, new, "b")
    assert detail["attached_b"]["process_instance"] == 1
    assert detail["can_merge"]
    c.check(hank, "get", "/duplicates/{pair_id}", 404, pair_id=999999)
    c.check(dina, "get", "/duplicates/{pair_id}", 403, pair_id=pair)

    c.check(otto, "post", "/duplicates/{pair_id}/merge", 403, {"survivor_id": old}, pair_id=pair)
    c.check(hank, "post", "/duplicates/{pair_id}/merge", 400, {"survivor_id": other}, pair_id=pair)
    c.check(hank, "post", "/duplicates/{pair_id}/merge", 400, {"survivor_id": old, "extra": 1}, pair_id=pair)
    c.check(hank, "post", "/duplicates/{pair_id}/merge", 422, {"survivor_id": old, "choices": {"email": "both"}},
            pair_id=pair)
    c.check(hank, "post", "/duplicates/{pair_id}/merge", 409,
            {"survivor_id": old, "expected_revisions": {str(old): 0}}, pair_id=pair)
    revision = get_record(deployed(), actors["head"], old).revision
    merge = c.check(hank, "post", "/duplicates/{pair_id}/merge", 201,
                    {"survivor_id": old, "choices": {"email": "merged", "title": "merged"},
                     "expected_revisions": {str(old): revision}}, pair_id=pair)
    assert (merge["survivor_id"], merge["merged_id"], merge["pair_id"], merge["undone_at"]) == (old, new, pair, None)
    assert merge["choices"]["email"] == "merged"
    assert merge["choices"]["budget"] == "survivor"
    survivor = get_record(deployed(), actors["head"], old)
    assert (survivor.title, survivor.data["email"]) == ("Ivan Petrov", "ivan@example.com")
    history = hank.get(f"/records/{old}/history").get_json()["items"]
    assert {h["origin_id"] for h in history} == {None, new}
    assert c.check(hank, "get", "/duplicates/{pair_id}", 200, pair_id=pair)["pair"]["status"] == "merged"
    c.check(hank, "post", "/duplicates/{pair_id}/merge", 409, {"survivor_id": old}, pair_id=pair)
    decided = hank.get("/duplicates", status="merged").get_json()["items"]
    assert [p["id"] for p in decided] == [pair]

    c.check(otto, "post", "/merges/{merge_id}/undo", 403, merge_id=merge["id"])
    c.check(hank, "post", "/merges/{merge_id}/undo", 404, merge_id=999999)
    undone = c.check(hank, "post", "/merges/{merge_id}/undo", 200, merge_id=merge["id"])
    assert undone["undone_by"] == "hank"
    assert get_record(deployed(), actors["head"], old).title == "Ivan, 20 laptops"
    c.check(hank, "post", "/merges/{merge_id}/undo", 409, merge_id=merge["id"])

    c.check(hank, "post", "/duplicates/{pair_id}/related", 422, {"relationship": "enemy"}, pair_id=pair)
    c.check(hank, "post", "/duplicates/{pair_id}/related", 400, {"relationship": 5}, pair_id=pair)
    related = c.check(sam, "post", "/duplicates/{pair_id}/related", 200, {"relationship": "colleague"},
                      pair_id=pair)  # sam owns both leads
    assert (related["status"], related["decided_by"]) == ("related", "sam")
    c.check(hank, "post", "/duplicates/{pair_id}/related", 409, pair_id=pair)
    links = hank.get(f"/records/{old}/links").get_json()
    assert [(link["record_id"], link["kind"]) for link in links["outgoing"] if link["kind"] == "colleague"] == [
        (new, "colleague")]

    c.check(otto, "post", "/duplicates/{pair_id}/dismiss", 403, pair_id=second)
    c.check(hank, "post", "/duplicates/{pair_id}/dismiss", 404, pair_id=999999)
    dismissed = c.check(hank, "post", "/duplicates/{pair_id}/dismiss", 200, pair_id=second)
    assert dismissed["status"] == "dismissed"
    c.check(hank, "post", "/duplicates/{pair_id}/dismiss", 409, pair_id=second)
    assert [p["id"] for p in hank.get("/duplicates", status="decided").get_json()["items"]] == [second, pair]

    assert set(PATHS) <= {p for p, _, _ in c.checked}
