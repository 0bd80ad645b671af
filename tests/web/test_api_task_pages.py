"""The API's task replies and pages: every reply names the task's process; tasks and records page by cursor."""

from __future__ import annotations

from tests.web.api_client import ApiUser, create_lead, open_task


def test_claim_unclaim_and_complete_replies_name_the_process(api: dict[str, ApiUser]) -> None:
    sam = api["sales"]
    lead = create_lead(sam)
    task = open_task(sam, lead["id"])
    assert task["process"] == "Lead qualification"
    claimed = sam.post(f"/tasks/{task['id']}/claim").get_json()
    assert claimed["process"] == "Lead qualification"
    back = sam.post(f"/tasks/{task['id']}/unclaim").get_json()
    assert back["process"] == "Lead qualification"
    assert sam.post(f"/tasks/{task['id']}/claim").status_code == 200
    done = sam.post(f"/tasks/{task['id']}/complete", {"outcome": "convert", "relationship": "potential_client"})
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["process"] == "Lead qualification"
    assert sam.get(f"/tasks/{task['id']}").get_json()["task"]["process"] == "Lead qualification"


def test_tasks_page_by_cursor_forward_and_back_and_offset_still_works(api: dict[str, ApiUser]) -> None:
    sam = api["sales"]
    for n in range(5):
        create_lead(sam, f"Lead {n}")
    whole = [t["record_title"] for t in sam.get("/tasks", scope="pool", sort="record").get_json()["items"]]
    assert whole == [f"Lead {n}" for n in range(5)]
    first = sam.get("/tasks", scope="pool", sort="record", limit=2).get_json()
    assert first["prev_before"] is None
    second = sam.get("/tasks", scope="pool", sort="record", limit=2, after=first["next_after"]).get_json()
    third = sam.get("/tasks", scope="pool", sort="record", limit=2, after=second["next_after"]).get_json()
    assert [[t["record_title"] for t in p["items"]] for p in (first, second, third)] == [
        whole[:2],
        whole[2:4],
        whole[4:],
    ]
    assert third["next_after"] is None
    back = sam.get("/tasks", scope="pool", sort="record", limit=2, before=third["prev_before"]).get_json()
    assert [t["record_title"] for t in back["items"]] == whole[2:4]
    assert back["next_after"] == second["next_after"]
    by_offset = sam.get("/tasks", scope="pool", sort="record", limit=2, offset=2).get_json()
    assert [t["record_title"] for t in by_offset["items"]] == whole[2:4]
    refused = sam.get("/tasks", scope="pool", limit=2, offset=2, after=first["next_after"])
    assert refused.status_code == 422
    assert "offset" in refused.get_json()["fields"]


def test_records_page_by_cursor_and_a_record_added_meanwhile_does_not_repeat_one(api: dict[str, ApiUser]) -> None:
    sam, ada = api["sales"], api["admin"]
    for title in ("One", "Two", "Three", "Four"):
        create_lead(sam, title)
    first = ada.get("/records/Lead", limit=2).get_json()
    assert [r["title"] for r in first["items"]] == ["Four", "Three"]
    create_lead(sam, "Five")  # newest first: it goes ahead of the cursor
    rest = ada.get("/records/Lead", limit=2, after=first["next_after"]).get_json()
    assert [r["title"] for r in rest["items"]] == ["Two", "One"]
    assert rest["next_after"] is None
    assert ada.get("/records/Lead", limit=2, offset=2).get_json()["items"][0]["title"] == "Three"  # offset repeats it
    refused = ada.get("/records/Lead", limit=2, offset=2, after=first["next_after"])
    assert refused.status_code == 422
    assert "offset" in refused.get_json()["fields"]
