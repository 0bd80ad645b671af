"""The record card in the browser's HTML: log a call with its next task, the timeline and its filter, the reference
picker's JSON, and the flash that links a conversion's new Deal by its title."""

from __future__ import annotations

import re
from datetime import date, timedelta

from engine.services.records import create_record, update_record
from engine.services.tasks import list_tasks
from tests.conftest import NOW
from tests.web.conftest import as_user, text
from tests.web.test_pipeline_ui import advance_task

NEXT_DAY = (date.today() + timedelta(days=2)).isoformat()  # the web app runs on the real clock
CALL = {"result": "agreed", "agreed": "Отправить прайс-лист", "next_step": "Перезвонить по прайсу",
        "next_step_on": NEXT_DAY}


def contact_of(deployed, actor, name="Иван Петров"):
    return create_record(deployed(), actor, "Contact", {"full_name": name, "email": "ivan@example.com"}, NOW)


def test_a_seller_logs_a_call_in_one_step_and_sees_it_on_the_timeline_and_the_next_task(app, deployed, actors):
    contact = contact_of(deployed, actors["sales"])
    sam = as_user(app, "sam")
    card = sam.get(f"/records/{contact.id}?lang=ru").get_data(as_text=True)
    assert "Записать звонок" in card
    assert f'action="/records/{contact.id}/log/Activity"' in card

    done = sam.post(f"/records/{contact.id}/log/Activity", data=CALL)
    assert done.status_code == 302
    assert done.headers["Location"].endswith(f"/records/{contact.id}#timeline")
    page = sam.get(f"/records/{contact.id}")
    shown = text(page)
    assert "Сохранено: «Звонок: Иван Петров». Следующая задача: Перезвонить по прайсу" in shown  # ru stays
    timeline = page.get_data(as_text=True).split('id="timeline"', 1)[1].split("</section>", 1)[0]
    first = re.search(r'<li class="timeline-entry kind-(\w+)">(.*?)</li>', timeline, re.S)
    assert first is not None
    assert first.group(1) == "call"  # newest first
    assert "Звонок: Иван Петров" in first.group(2)
    assert "Отправить прайс-лист" in first.group(2)

    [task] = [t for t in list_tasks(deployed(), actors["sales"], "mine") if t.title == "Перезвонить по прайсу"]
    assert task.record_id == contact.id
    assert task.due_at is not None
    assert task.due_at.date().isoformat() == NEXT_DAY
    assert "Перезвонить по прайсу" in text(sam.get("/tasks?tab=mine"))

    calls = sam.get(f"/records/{contact.id}?kind=call").get_data(as_text=True)
    only = calls.split('id="timeline"', 1)[1].split("</section>", 1)[0]
    assert set(re.findall(r'timeline-entry kind-(\w+)', only)) == {"call"}
    assert sam.get(f"/records/{contact.id}?kind=gossip").status_code == 422


def test_a_call_without_its_next_step_comes_back_in_russian_and_stores_nothing(app, deployed, actors):
    contact = contact_of(deployed, actors["sales"])
    sam = as_user(app, "sam")
    refused = sam.post(f"/records/{contact.id}/log/Activity?lang=ru", data={**CALL, "next_step_on": ""})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    form = html.split('id="log-Activity" open', 1)[1].split("</details>", 1)[0]  # the form stays open
    assert 'id="f-next_step_on-err"' in form
    assert 'value="Перезвонить по прайсу"' in form  # what was typed is kept
    assert list_tasks(deployed(), actors["sales"], "mine") == []
    assert "Звонок: Иван Петров" not in text(sam.get(f"/records/{contact.id}"))


def test_an_auditor_gets_no_log_form(app, deployed, actors):
    contact = contact_of(deployed, actors["head"])
    otto = as_user(app, "otto")
    assert "Log a call" not in text(otto.get(f"/records/{contact.id}"))
    assert otto.post(f"/records/{contact.id}/log/Activity", data=CALL).status_code == 403


def test_the_picker_lists_only_records_the_user_may_see(app, deployed, actors):
    mine = contact_of(deployed, actors["sales"], "Анна Смирнова")
    contact_of(deployed, actors["sales2"], "Анна Кузнецова")
    items = as_user(app, "sam").get("/records/Contact/choices?q=анна").get_json()["items"]
    assert items == [{"id": mine.id, "title": "Анна Смирнова"}]
    assert as_user(app, "otto").get("/records/Contact/choices?q=анна").status_code == 200  # auditors read all
    assert as_user(app, "dina").get("/records/Contact/choices?q=a").status_code == 403


def test_after_a_conversion_the_flash_links_the_new_deal_by_its_title(app, deployed, actors):
    _, task = advance_task(deployed, actors, budget="100")
    sam = as_user(app, "sam")
    done = sam.post(f"/tasks/{task.id}/complete?lang=ru", data={"next_step": "convert_to_deal"})
    assert done.status_code == 302
    html = sam.get(done.headers["Location"]).get_data(as_text=True)
    found = re.search(r'Создана запись «Сделка»: <a href="/records/(\d+)">20 laptops</a>', html)
    assert found is not None, html
    assert sam.get(f"/records/{found.group(1)}").status_code == 200


def test_references_read_as_titles_on_the_timeline_linked_only_when_the_user_may_open_them(app, deployed, actors):
    sam, sue = actors["sales"], actors["sales2"]
    mine = create_record(deployed(), sam, "Organization", {"name": "ООО Ромашка"}, NOW)
    hers = create_record(deployed(), sue, "Organization", {"name": "АО Тайна"}, NOW)
    contact = create_record(deployed(), sam, "Contact", {"full_name": "Иван", "email": "i@example.com",
                                                         "organization": hers.id}, NOW)
    update_record(deployed(), sam, contact.id, {"organization": mine.id}, NOW + timedelta(minutes=1))
    html = as_user(app, "sam").get(f"/records/{contact.id}").get_data(as_text=True)
    timeline = html.split('id="timeline"', 1)[1].split("</section>", 1)[0]
    assert f'<a href="/records/{mine.id}">ООО Ромашка</a>' in timeline
    assert f'href="/records/{hers.id}"' not in timeline  # not sam's to open: named, not linked
    assert '<span class="ref-closed" title="you cannot open this record">АО Тайна' in timeline


def test_a_refused_create_form_keeps_the_picked_reference_by_its_title(app, deployed, actors):
    org = create_record(deployed(), actors["sales"], "Organization", {"name": "ООО Ромашка"}, NOW)
    refused = as_user(app, "sam").post("/records/Contact/new", data={"full_name": "", "organization": str(org.id)})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert f'name="organization" value="{org.id}"' in html
    assert 'value="ООО Ромашка"' in html


def test_a_task_form_picks_a_reference_by_search_and_names_it_by_title(app, deployed, actors):
    lead, task = advance_task(deployed, actors)
    html = as_user(app, "sam").get(f"/tasks/{task.id}?lang=ru").get_data(as_text=True)
    assert 'data-source="/records/Lead/choices"' in html  # duplicate_of: a picker, not a list of every lead
    assert 'name="duplicate_of"' in html
    assert f'<option value="{lead.id}"' not in html
