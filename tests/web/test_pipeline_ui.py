"""The task page for pipeline choices and for standalone tasks (made by rules, outside any process)."""

from __future__ import annotations

from engine.config.automation import Action
from engine.rules.actions import run_actions
from engine.services.records import create_record, get_record
from engine.services.tasks import complete_task, list_tasks
from tests.conftest import NOW
from tests.web.conftest import as_user, text


def advance_task(deployed, actors, **data):
    """A web inquiry waiting in sam's `advance_request` task."""
    sam = actors["sales"]
    fields = {"title": "20 laptops", "email": "b@example.com", "request_type": "web_inquiry", **data}
    lead = create_record(deployed(), actors["head"], "Lead", {k: v for k, v in fields.items() if v is not None}, NOW)

    def mine(scope="mine"):
        (task,) = [t for t in list_tasks(deployed(), sam, scope) if t.record_id == lead.id]
        return task

    complete_task(deployed(), sam, mine("pool").id, {"outcome": "convert", "budget": "100"}, NOW)
    complete_task(deployed(), sam, mine().id, {"next_contact_on": "2026-03-05"}, NOW)
    task = mine()
    assert task.element_id == "advance_request"
    return lead, task


def test_the_task_page_offers_the_pipeline_choices_in_the_users_language(app, deployed, actors):
    _, task = advance_task(deployed, actors)
    sam = as_user(app, "sam")
    html = sam.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert 'type="radio" name="next_step" value="qualified"' in html
    page = text(sam.get(f"/tasks/{task.id}?lang=ru"))
    for label in ("Квалифицировано", "Перевести в сделку", "Дисквалифицировать"):
        assert label in page


def test_choosing_in_the_browser_moves_the_record_or_explains_what_is_missing(app, deployed, actors):
    lead, task = advance_task(deployed, actors)
    sam = as_user(app, "sam")
    refused = sam.post(f"/tasks/{task.id}/complete?lang=ru", data={"next_step": "disqualify"})
    assert refused.status_code == 422
    assert "нужно заполнить перед действием «Disqualify»" in text(refused)
    done = sam.post(f"/tasks/{task.id}/complete", data={"next_step": "qualified"})
    assert done.status_code == 302
    assert get_record(deployed(), actors["sales"], lead.id).data["request_stage"] == "qualified"


def test_without_a_pipeline_the_form_says_why(app, deployed, actors):
    lead, task = advance_task(deployed, actors)
    uow = deployed()
    with uow:
        row = uow.records.get(lead.id)
        row.data = {**row.data, "request_type": "gone"}
        uow.commit()
    page = text(as_user(app, "sam").get(f"/tasks/{task.id}?lang=ru"))
    assert "тип записи не соответствует ни одной воронке (request_type = gone)" in page


def standalone_task(deployed, actors):
    sam = actors["sales"]
    contact = create_record(deployed(), sam, "Contact", {"full_name": "Ivan", "email": "i@example.com"}, NOW,
                            owner_id=sam.id)
    uow = deployed()
    with uow:
        record = uow.records.get(contact.id)
        run_actions(uow, record, [Action("create_task", {"title": "Call Ivan back", "assignee": "owner"})],
                    names=None, source="rule call_back", actor=sam, now=NOW, depth=0)
        uow.commit()
    (task,) = list_tasks(deployed(), sam, "mine")
    return contact, task


def test_a_standalone_task_shows_no_process_and_is_done_with_one_button(app, deployed, actors):
    contact, task = standalone_task(deployed, actors)
    sam = as_user(app, "sam")
    assert "Call Ivan back" in text(sam.get("/tasks"))
    page = sam.get(f"/tasks/{task.id}")
    assert page.status_code == 200
    assert "Process — (made by a rule)" in text(page)
    assert "/instances/" not in page.get_data(as_text=True)
    assert "Done" in text(page)
    assert "Call Ivan back" in text(sam.get(f"/records/{contact.id}"))
    done = sam.post(f"/tasks/{task.id}/complete", data={})
    assert done.status_code == 302
    assert "“Call Ivan back” is done." in text(sam.get("/tasks"))
    assert list_tasks(deployed(), actors["sales"], "mine") == []


def test_a_stage_action_that_fails_comes_back_in_the_form(app, deployed, actors):
    lead, task = advance_task(deployed, actors, email=None)  # offer_sent e-mails the lead: it has no address
    response = as_user(app, "sam").post(f"/tasks/{task.id}/complete", data={"next_step": "offer_sent",
                                                                           "note": "typed text"})
    assert response.status_code == 422
    assert "send_email" in text(response)
    assert "typed text" in response.get_data(as_text=True)
    assert get_record(deployed(), actors["sales"], lead.id).data.get("request_stage") == "new"
