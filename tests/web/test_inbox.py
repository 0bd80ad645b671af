"""The inbox: the lead path end to end through the HTML UI, bad input, claim races, overdue tasks."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from engine.services.records import create_record, get_record, record_history
from engine.services.tasks import claim_task, list_tasks
from tests.web.conftest import as_user, new_lead, pool_task, text


def test_lead_path_from_creation_to_first_meeting(app, deployed, actors):
    hank = as_user(app, "hank")
    created = hank.post("/records/Lead/new", data={"title": "20 laptops", "company": "OOO Romashka",
                                                    "channel": "website"})
    assert created.status_code == 302
    record_id = int(created.headers["Location"].rsplit("/", 1)[1])

    sam = as_user(app, "sam")
    pool = sam.get("/tasks?tab=pool")
    assert "Qualify lead" in text(pool)
    assert "20 laptops" in text(pool)
    task = pool_task(deployed, actors["sales"])

    claimed = sam.post(f"/tasks/{task.id}/claim", data={"tab": "pool"})
    assert claimed.status_code == 302
    mine = sam.get(claimed.headers["Location"])
    assert "Qualify lead" in text(mine)
    assert "is now in your tasks" in text(mine)

    page = sam.get(f"/tasks/{task.id}")
    assert page.status_code == 200
    assert "Lead qualification" in text(page)  # the process name
    assert "Convert to a deal" in text(page)  # enum labels from x-enum-labels
    done = sam.post(f"/tasks/{task.id}/complete", data={"outcome": "convert", "budget": "15 000,50",
                                                        "channel": "website"})
    assert done.status_code == 302
    inbox = text(sam.get(done.headers["Location"]))
    assert "Next step: Arrange first meeting" in inbox
    assert "Arrange first meeting" in inbox.split("Next step")[1]

    record = get_record(deployed(), actors["sales"], record_id)
    assert record.data["status"] == "qualified"
    assert record.data["budget"] == "15000.50"
    changes = {(c.field, c.new_value) for c in record_history(deployed(), actors["sales"], record_id)}
    assert {("status", "qualified"), ("budget", "15000.50")} <= changes
    card = text(sam.get(f"/records/{record_id}"))
    assert "Field history" in card
    assert "Qualified" in card  # the catalog label, not the code
    assert "Lead qualification" in card  # the process it is in
    assert "Arrange first meeting" in card  # its open task


def test_bad_input_comes_back_with_field_messages_and_changes_nothing(app, deployed, actors):
    lead = new_lead(deployed, actors)
    task = pool_task(deployed, actors["sales"])
    sam = as_user(app, "sam")
    response = sam.post(f"/tasks/{task.id}/complete", data={"outcome": "disqualify", "budget": "lots",
                                                            "comment": "keep me"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'class="field has-error kind-decimal"' in html
    assert "must be a number like 1200.50" in html
    assert "is required" in html  # the disqualification reason (if outcome == disqualify)
    assert 'value="lots"' in html  # what was typed is kept
    assert "keep me" in html
    assert 'value="disqualify" checked' in html
    assert get_record(deployed(), actors["sales"], lead.id).data == lead.data
    assert [t.id for t in list_tasks(deployed(), actors["sales"], "pool")] == [task.id]


def test_second_claim_of_a_task_gets_a_conflict_message(app, deployed, actors):
    new_lead(deployed, actors)
    task = pool_task(deployed, actors["sales"])
    sam, sue = as_user(app, "sam"), as_user(app, "sue")
    sue.get("/tasks?tab=pool")  # both saw the task in the pool
    assert sam.post(f"/tasks/{task.id}/claim").status_code == 302
    response = sue.post(f"/tasks/{task.id}/claim", data={"tab": "pool"})
    assert response.status_code == 409
    assert "already claimed by someone else" in text(response)
    assert "Pool" in text(response)  # the inbox is shown again, not an error page
    assert list_tasks(deployed(), actors["sales"], "mine")[0].id == task.id


def test_unclaim_gives_a_task_back_to_the_pool(app, deployed, actors):
    new_lead(deployed, actors)
    task = pool_task(deployed, actors["sales"])
    claim_task(deployed(), actors["sales"], task.id, datetime.now(UTC))
    sam = as_user(app, "sam")
    response = sam.post(f"/tasks/{task.id}/unclaim", data={"tab": "mine"})
    assert response.status_code == 302
    assert "is back in the pool" in text(sam.get(response.headers["Location"]))
    assert pool_task(deployed, actors["sales2"]).id == task.id


def test_overdue_tasks_are_highlighted(app, deployed, actors):
    create_record(deployed(), actors["head"], "Lead", {"title": "Old lead"}, datetime.now(UTC) - timedelta(days=1))
    page = as_user(app, "sam").get("/tasks?tab=pool").get_data(as_text=True)
    assert 'class="overdue"' in page
    assert "overdue" in page


def test_head_of_sales_sees_the_team_tab_and_sales_do_not(app, deployed, actors):
    new_lead(deployed, actors)
    task = pool_task(deployed, actors["sales"])
    claim_task(deployed(), actors["sales"], task.id, datetime.now(UTC))
    team = as_user(app, "hank").get("/tasks?tab=team")
    assert "Qualify lead" in text(team)
    assert "sam" in text(team)
    sam = as_user(app, "sam").get("/tasks?tab=team")
    assert sam.status_code == 200
    assert 'href="/tasks?tab=team"' not in sam.get_data(as_text=True)
    assert 'href="/tasks?tab=team"' in team.get_data(as_text=True)


def test_auditor_reads_a_task_but_gets_no_form(app, deployed, actors):
    new_lead(deployed, actors)
    task = pool_task(deployed, actors["sales"])
    page = as_user(app, "otto").get(f"/tasks/{task.id}")
    assert page.status_code == 200
    assert "You can read this task but not complete it" in text(page)
    assert "/complete" not in page.get_data(as_text=True)


def test_tabs_show_counts_and_the_overdue_tab_lists_late_tasks(app, deployed, actors):
    create_record(deployed(), actors["head"], "Lead", {"title": "Old lead"}, datetime.now(UTC) - timedelta(days=3))
    create_record(deployed(), actors["head"], "Lead", {"title": "Fresh lead"}, datetime.now(UTC))
    sam = as_user(app, "sam")
    page = sam.get("/tasks?tab=overdue").get_data(as_text=True)
    counts = dict(re.findall(r'data-tab="(\w+)"[^>]*>[^<]*<span class="count[^"]*" data-count="(\d+)"', page))
    assert counts == {"mine": "0", "pool": "2", "overdue": "1"}
    assert "Old lead" in page
    assert "Fresh lead" not in page
    assert 'class="overdue"' in page
    assert "Claim" in text(sam.get("/tasks?tab=overdue"))  # a claimable late task can be taken from here

