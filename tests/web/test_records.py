"""Records through the UI: list, create with per-field errors, the card, edits and stale edits."""

from __future__ import annotations

import re

from engine.services.records import get_record, list_records, update_record
from tests.conftest import NOW
from tests.web.conftest import as_user, new_lead, text


def test_list_shows_labels_and_catalog_values(app, deployed, actors):
    new_lead(deployed, actors, "Chairs", channel="phone_call", budget="4200.50")
    page = text(as_user(app, "hank").get("/records/Lead"))
    assert "Chairs" in page
    assert "New" in page  # status label
    assert "Status" in page  # field label from the entity YAML
    assert "New Lead" in page  # the create button


def test_list_pages_through_records(app, deployed, actors):
    for n in range(27):
        new_lead(deployed, actors, f"Lead {n:02d}")
    hank = as_user(app, "hank")
    first = hank.get("/records/Lead").get_data(as_text=True)
    assert "27 record(s) found" in first
    assert "Lead 26" in first  # newest first
    assert "Lead 00" not in first
    after = re.search(r'rel="next" href="[^"]*after=(\d+)', first)
    assert after is not None  # keyset paging: the next page continues after the last record shown
    second = hank.get(f"/records/Lead?after={after.group(1)}").get_data(as_text=True)
    assert "Lead 00" in second
    assert "Lead 02" not in second
    assert 'rel="next"' not in second
    assert "First page" in second


def test_create_form_shows_field_errors_keeps_values_and_stores_nothing(app, deployed, actors):
    hank = as_user(app, "hank")
    form = hank.get("/records/Lead/new").get_data(as_text=True)
    assert '<option value="new" selected>New</option>' in form  # the default status
    response = hank.post("/records/Lead/new", data={"title": "", "email": "not-an-email", "company": "Vega"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert html.count("has-error") == 2
    assert "is required" in html
    assert "must be an email address" in html
    assert 'value="Vega"' in html
    assert list_records(deployed(), actors["head"], "Lead") == []


def test_auditor_may_not_create_records(app):
    assert as_user(app, "otto").get("/records/Lead/new").status_code == 403
    assert as_user(app, "otto").post("/records/Lead/new", data={"title": "x"}).status_code == 403


def test_edit_writes_history_with_labels(app, deployed, actors):
    lead = new_lead(deployed, actors)
    hank = as_user(app, "hank")
    response = hank.post(f"/records/{lead.id}", data={"expected_revision": lead.revision, "title": lead.title,
                                                     "status": "new", "channel": "referral", "budget": "100"})
    assert response.status_code == 302
    assert get_record(deployed(), actors["head"], lead.id).data["channel"] == "referral"
    card = text(hank.get(response.headers["Location"]))
    assert "was saved" in card
    assert "Channel Referral" in card  # history row: field label, new value label
    assert "hank" in card


def test_stale_edit_gets_a_conflict_message(app, deployed, actors):
    lead = new_lead(deployed, actors)
    hank = as_user(app, "hank")
    form = hank.get(f"/records/{lead.id}").get_data(as_text=True)
    assert f'name="expected_revision" value="{lead.revision}"' in form
    update_record(deployed(), actors["head"], lead.id, {"company": "Someone else's change"}, NOW)
    response = hank.post(f"/records/{lead.id}", data={"expected_revision": lead.revision, "title": "Mine"})
    assert response.status_code == 409
    assert "Someone else changed this record" in text(response)
    assert "Someone else's change" in text(response)
    assert get_record(deployed(), actors["head"], lead.id).title == lead.title


def test_bad_edit_is_422_with_the_typed_values(app, deployed, actors):
    lead = new_lead(deployed, actors)
    response = as_user(app, "hank").post(f"/records/{lead.id}", data={
        "expected_revision": lead.revision, "title": lead.title, "budget": "-5"})
    assert response.status_code == 422
    assert "must be at least 0" in text(response)
    assert 'value="-5"' in response.get_data(as_text=True)


def test_record_of_someone_else_is_not_found_for_sales(app, deployed, actors):
    lead = new_lead(deployed, actors)
    update_record(deployed(), actors["head"], lead.id, {"company": "x"}, NOW)
    assert as_user(app, "dina").get(f"/records/{lead.id}").status_code == 404
    assert as_user(app, "sam").get("/records/999").status_code == 404
    assert as_user(app, "sam").get("/records/NoSuchEntity").status_code == 404


def test_instance_page_shows_steps_who_and_data(app, deployed, actors):
    lead = new_lead(deployed, actors)
    hank = as_user(app, "hank")
    card = hank.get(f"/records/{lead.id}").get_data(as_text=True)
    assert "/instances/1" in card
    page = text(hank.get("/instances/1"))
    assert "Lead qualification" in page
    assert "Started" in page
    assert "Lead received" in page
    assert "Qualify lead" in page


def test_unknown_page_and_forbidden_page_use_the_error_page(app):
    sam = as_user(app, "sam")
    missing = sam.get("/no/such/page")
    assert missing.status_code == 404
    assert "404 · Not found" in text(missing)
    forbidden = sam.get("/admin/users?lang=ru")
    assert forbidden.status_code == 403
    assert "Доступ запрещён" in text(forbidden)
    assert "Задачи" in text(forbidden)  # the navigation is still there


def test_contact_with_tags_and_a_reference_picked_by_search(app, deployed, actors):
    hank = as_user(app, "hank")
    org = hank.post("/records/Organization/new", data={"name": "Vega LLC", "website": "https://vega.example"})
    assert org.status_code == 302
    org_id = int(org.headers["Location"].rsplit("/", 1)[1])
    form = hank.get("/records/Contact/new").get_data(as_text=True)
    assert 'data-source="/records/Organization/choices"' in form  # a search-as-you-type picker
    assert 'role="combobox"' in form
    assert f'<option value="{org_id}"' not in form  # not a drop-down of every record
    assert hank.get("/records/Organization/choices?q=vEgA").get_json() == {"items": [{"id": org_id,
                                                                                     "title": "Vega LLC"}]}
    assert 'type="checkbox" name="tags" value="wholesale"' in form
    created = hank.post("/records/Contact/new", data={"full_name": "Maria Lebedeva", "organization": str(org_id),
                                                      "tags": ["vip", "wholesale"], "phone": "+7 903 111-22-33"})
    assert created.status_code == 302
    card = hank.get(created.headers["Location"])
    page = text(card)
    assert "VIP, Wholesale" in page
    assert f'<a href="/records/{org_id}">Vega LLC</a>' in card.get_data(as_text=True)  # by its title
    assert f">Organization #{org_id}</a>" not in card.get_data(as_text=True)
    edit_form = card.get_data(as_text=True).split('class="edit"', 1)[1]
    assert f'name="organization" value="{org_id}"' in edit_form
    assert 'value="Vega LLC"' in edit_form  # the picker shows the current reference by its title
    assert "Potential client" in page  # the relationship default
    russian = text(hank.get(created.headers["Location"] + "?lang=ru"))
    assert "VIP, Опт" in russian
    assert "Метки" in russian
