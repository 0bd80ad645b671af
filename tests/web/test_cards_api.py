"""The card's JSON API: log a call with its next task, read the timeline by kind and cursor, pick references."""

from __future__ import annotations

from datetime import date, timedelta

from tests.web.api_client import open_task

NEXT_DAY = (date.today() + timedelta(days=3)).isoformat()  # the app runs on the real clock
CALL = {"result": "callback", "agreed": "Call on Friday", "next_step": "Call on Friday", "next_step_on": NEXT_DAY}


def test_log_a_call_then_read_it_on_the_timeline(api):
    sam = api["sales"]
    contact = sam.post("/records/Contact", {"full_name": "Олег Быстров", "phone": "+7 903 000-11-22"}).get_json()
    logged = sam.post(f"/records/{contact['id']}/log/Activity", CALL)
    assert logged.status_code == 201, logged.get_json()
    body = logged.get_json()
    assert (body["record"]["data"]["kind"], body["record"]["data"]["contact"]) == ("call", contact["id"])
    assert body["task_title"] == "Call on Friday"
    assert body["task_due_at"].startswith(NEXT_DAY)
    assert logged.headers["Location"].endswith(f"/records/{body['record']['id']}")
    task = open_task(sam, contact["id"], "mine")
    assert task["id"] == body["task_id"]

    page = sam.get(f"/records/{contact['id']}/timeline", kind="call,task", limit=1).get_json()
    assert [e["kind"] for e in page["items"]] == ["call"]
    assert page["items"][0]["record_id"] == body["record"]["id"]
    assert page["next"] is None  # the task is still open: nothing done yet
    everything = sam.get(f"/records/{contact['id']}/timeline", limit=2).get_json()
    assert everything["next"] == everything["items"][-1]["cursor"]
    older = sam.get(f"/records/{contact['id']}/timeline", after=everything["next"]).get_json()
    assert {e["cursor"] for e in older["items"]}.isdisjoint({e["cursor"] for e in everything["items"]})

    bad = sam.get(f"/records/{contact['id']}/timeline", kind="gossip")
    assert bad.status_code == 400
    assert "gossip" in bad.get_json()["message"]
    missing = sam.post(f"/records/{contact['id']}/log/Activity", {**CALL, "next_step": ""})
    assert missing.status_code == 422
    assert missing.get_json()["fields"] == {"next_step": ["is required"]}
    assert api["auditor"].post(f"/records/{contact['id']}/log/Activity", CALL).status_code == 403
    assert sam.get("/records/Contact/choices", q="быстр").get_json() == {
        "items": [{"id": contact["id"], "title": "Олег Быстров"}]}
    assert api["sales2"].get("/records/Contact/choices", q="быстр").get_json() == {"items": []}
