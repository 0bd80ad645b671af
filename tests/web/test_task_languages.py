"""Tasks a rule or a reminder makes keep their title in every language their maker gives, so each reader sees it
in theirs: in the inbox, on the card's timeline and in the API (Accept-Language) — even after the rule changes."""

from __future__ import annotations

from datetime import timedelta

from engine.services import tasks
from engine.services.records import create_record
from engine.services.reminders import fire_due_reminders, set_reminder
from tests.conftest import NOW
from tests.web.conftest import as_user, text

RULE = "crm_model/rules/contact_without_phone_or_email.yaml"
RU, EN = "Добавить телефон или e-mail", "Add a phone or e-mail"


def unreachable_contact(deployed, actors) -> int:
    """A contact with neither phone nor e-mail: the rule gives its sales pool a task."""
    return create_record(deployed(), actors["head"], "Contact", {"full_name": "Светлана Кузьмина"}, NOW).id


def pool_titles(user, language: str) -> list[str]:
    response = user.client.get(
        "/api/v1/tasks", headers={**user.headers, "Accept-Language": language}, query_string={"scope": "pool"}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return [t["title"] for t in response.get_json()["items"]]


def test_the_api_gives_a_rule_task_in_the_readers_language(api, deployed, actors):
    unreachable_contact(deployed, actors)
    assert pool_titles(api["sales"], "en") == [EN]
    assert pool_titles(api["sales"], "ru") == [RU]


def test_a_rule_task_keeps_its_languages_after_the_rule_changes(app, api, deployed, actors, bundle_files):
    contact = unreachable_contact(deployed, actors)
    changed = bundle_files[RULE].replace(f'en: "{EN}", ru: "{RU}"', 'en: "Find a phone", ru: "Найти телефон"')
    assert changed != bundle_files[RULE]
    assert api["designer"].post("/deployments", {"files": {RULE: changed}}).status_code in (200, 201)
    assert pool_titles(api["sales"], "en") == [EN]  # the task was made with the old title
    html = text(as_user(app, "sam").get("/tasks?tab=pool&lang=en"))
    assert EN in html
    assert RU not in html
    [task] = [t for t in tasks.list_tasks(deployed(), actors["sales"], "pool") if t.record_id == contact]
    tasks.claim_task(deployed(), actors["sales"], task.id, NOW)
    tasks.complete_task(deployed(), actors["sales"], task.id, {}, NOW + timedelta(minutes=1))
    card = as_user(app, "sam").get(f"/records/{contact}?lang=en").get_data(as_text=True)
    timeline = card.split('id="timeline"', 1)[1].split("</section>", 1)[0]
    assert EN in timeline
    assert RU not in timeline


def test_a_reminder_task_reads_in_the_users_language(app, deployed, actors):
    sam = actors["sales"]
    contact = create_record(deployed(), sam, "Contact", {"full_name": "Иван", "email": "i@example.com"}, NOW).id
    set_reminder(deployed(), sam, contact, NOW + timedelta(days=1), "Спросить про второй офис", NOW)
    assert fire_due_reminders(deployed, NOW + timedelta(days=1)) == 1
    inbox = text(as_user(app, "sam").get("/tasks?lang=ru"))
    assert "Напоминание: Спросить про второй офис" in inbox
    assert "Reminder" not in inbox
    assert "Reminder: Спросить про второй офис" in text(as_user(app, "sam").get("/tasks?lang=en"))
