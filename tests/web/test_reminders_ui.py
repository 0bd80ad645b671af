"""Reminders on the record card: the user's own list, the form (read in the business calendar's zone), cancel."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from flask import Flask

from engine.services.reminders import list_reminders
from tests.conftest import NOW
from tests.web.conftest import as_user, new_lead, settings, text
from web import create_app


def section(browser, record_id: int) -> str:
    html = browser.get(f"/records/{record_id}").get_data(as_text=True)
    start = html.index('id="reminders"')
    part = html[start:html.index("</section>", start)]
    return text(type("Page", (), {"get_data": lambda self, as_text: part})())


def test_a_reminder_is_set_from_the_card_in_moscow_time_and_cancelled(app: Flask, deployed, actors) -> None:
    lead = new_lead(deployed, actors)
    hank = as_user(app, "hank")
    assert "My reminders none set Remind me at (Europe/Moscow)" in section(hank, lead.id)
    response = hank.post(f"/records/{lead.id}/reminders", data={"due_at": "2099-03-02T12:30", "note": "Call"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/records/{lead.id}#reminders")
    [reminder] = list_reminders(deployed(), actors["head"], lead.id)
    assert reminder.due_at == datetime(2099, 3, 2, 9, 30, tzinfo=UTC)  # 12:30 in Moscow
    assert "2099-03-02 12:30 MSK · Call" in section(hank, lead.id)  # shown in the zone it was entered in
    assert "Call" not in section(as_user(app, "ada"), lead.id)  # reminders are personal

    html = hank.get(f"/records/{lead.id}").get_data(as_text=True)
    assert re.search(rf'/records/{lead.id}/reminders/{reminder.id}/delete', html)
    assert hank.post(f"/records/{lead.id}/reminders/{reminder.id}/delete").status_code == 302
    assert list_reminders(deployed(), actors["head"], lead.id) == []


def test_a_bad_reminder_comes_back_on_the_card_with_a_message(app: Flask, deployed, actors) -> None:
    lead = new_lead(deployed, actors)
    hank = as_user(app, "hank")
    response = hank.post(f"/records/{lead.id}/reminders", data={"due_at": "", "note": ""})
    assert response.status_code == 422
    assert "Choose the date and time to be reminded at." in text(response)
    response = hank.post(f"/records/{lead.id}/reminders", data={"due_at": NOW.strftime("%Y-%m-%dT%H:%M")})
    assert response.status_code == 422
    assert "must be in the future" in text(response)


def test_the_reminder_form_needs_the_csrf_token(db_url: str, deployed, actors) -> None:
    lead = new_lead(deployed, actors)
    app = create_app(settings(db_url, UOW_FACTORY=deployed, WTF_CSRF_ENABLED=True))
    hank = app.test_client()
    page = hank.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    hank.post("/login", data={"username": "hank", "password": "correct-horse-1", "csrf_token": token})
    data = {"due_at": "2099-03-02T12:30", "note": "x"}
    assert hank.post(f"/records/{lead.id}/reminders", data=data).status_code == 400
    card = hank.get(f"/records/{lead.id}").get_data(as_text=True)
    token = re.search(r'id="reminders".*?name="csrf_token" value="([^"]+)"', card, re.S).group(1)
    assert hank.post(f"/records/{lead.id}/reminders", data={**data, "csrf_token": token}).status_code == 302


def test_an_auditor_sees_no_reminder_form_and_is_refused_a_reminder(app: Flask, deployed, actors) -> None:
    lead = new_lead(deployed, actors)
    otto = as_user(app, "otto")
    card = otto.get(f"/records/{lead.id}")
    assert card.status_code == 200
    assert f'action="/records/{lead.id}/reminders"' not in card.get_data(as_text=True)
    refused = otto.post(f"/records/{lead.id}/reminders", data={"due_at": "2099-03-02T12:30", "note": "x"})
    assert refused.status_code == 403
    assert "otto is an auditor and changes nothing" in text(refused)
    assert list_reminders(deployed(), actors["auditor"], lead.id) == []
    assert f'action="/records/{lead.id}/reminders"' in as_user(app, "hank").get(f"/records/{lead.id}").get_data(
        as_text=True)
