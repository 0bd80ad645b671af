"""The API's task replies and pages: every reply names the task's process; keyset pages by cursor."""

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
