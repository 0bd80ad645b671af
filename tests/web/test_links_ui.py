"""Links on the record card (both directions, add and remove by hand) and catalog trees shown as paths."""

from __future__ import annotations

import re

import pytest
from flask import Flask

from engine.services.links import link_records
from engine.services.records import create_record, record_history
from tests.conftest import NOW
from tests.web.conftest import as_user, settings, text
from web import create_app


def contact(deployed, actor, name="Ivan Petrov", **data):
    return create_record(deployed(), actor, "Contact", {"full_name": name, "email": "ivan@example.com", **data},
                         NOW, owner_id=actor.id)


def links_section(response) -> str:
    html = response.get_data(as_text=True)
    start = html.index('id="links"')
    return text(type("Page", (), {"get_data": lambda self, as_text: html[start:html.index("</section>", start)]})())


def test_reference_fields_show_as_links_on_both_cards(app, deployed, actors):
    head = actors["head"]
    ivan = contact(deployed, head)
    lead = create_record(deployed(), head, "Lead", {"title": "20 laptops", "contact": ivan.id}, NOW)
    hank = as_user(app, "hank")
    outgoing = links_section(hank.get(f"/records/{lead.id}"))
    assert re.search(rf"Links to Ivan Petrov Contact #{ivan.id} · Contact Linked from none", outgoing)
    incoming = links_section(hank.get(f"/records/{ivan.id}"))
    assert re.search(rf"Linked from 20 laptops Lead #{lead.id} · Contact", incoming)
    html = hank.get(f"/records/{ivan.id}").get_data(as_text=True)
    assert f'href="/records/{lead.id}"' in html
    assert "/links/" not in html.split('id="links"')[1].split("</section>")[0].split("<form")[0]  # no × for it


def test_a_link_is_added_by_number_and_kind_and_removed_again(app, deployed, actors):
    head = actors["head"]
    ivan, maria = contact(deployed, head), contact(deployed, head, "Maria Petrova")
    hank = as_user(app, "hank")
    card = hank.get(f"/records/{ivan.id}").get_data(as_text=True)
    assert '<option value="spouse">Spouse</option>' in card
    response = hank.post(f"/records/{ivan.id}/links", data={"to_record_id": f"#{maria.id}", "kind": "spouse"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/records/{ivan.id}#links")
    assert re.search(rf"Links to Maria Petrova Contact #{maria.id} · Spouse", links_section(hank.get(
        f"/records/{ivan.id}")))
    assert re.search(rf"Linked from Ivan Petrov Contact #{ivan.id} · Spouse", links_section(hank.get(
        f"/records/{maria.id}")))
    history = text(hank.get(f"/records/{maria.id}"))
    assert "hank Link: Spouse — Ivan Petrov link" in history  # by title, not "#12"

    link_id = re.search(rf'/records/{ivan.id}/links/(\d+)/delete', hank.get(f"/records/{ivan.id}").get_data(
        as_text=True)).group(1)
    assert hank.post(f"/records/{ivan.id}/links/{link_id}/delete").status_code == 302
    assert "Maria Petrova" not in links_section(hank.get(f"/records/{ivan.id}"))
    assert [c.new_value for c in record_history(deployed(), head, maria.id) if c.field == "link:spouse"] == \
        [ivan.id, None]


@pytest.mark.parametrize(("form", "status", "message"), [
    ({"to_record_id": "", "kind": "spouse"}, 422, "Choose the record to link"),
    ({"to_record_id": "999999", "kind": "spouse"}, 422, "There is no record #999999 that you can see."),
    ({"to_record_id": "SELF", "kind": "spouse"}, 422, "a record cannot be linked to itself"),
    ({"to_record_id": "OTHER", "kind": "enemy"}, 422, "must be one of: related"),
])
def test_a_bad_link_comes_back_with_a_message_next_to_the_form(app, deployed, actors, form, status, message):
    ivan, maria = contact(deployed, actors["head"]), contact(deployed, actors["head"], "Maria Petrova")
    form = {**form, "to_record_id": form["to_record_id"].replace("SELF", str(ivan.id)).replace("OTHER",
                                                                                                 str(maria.id))}
    response = as_user(app, "hank").post(f"/records/{ivan.id}/links", data=form)
    assert response.status_code == status
    assert message in links_section(response)
    assert f'value="{form["to_record_id"]}"' in response.get_data(as_text=True)  # what was typed stays


def test_the_same_link_twice_is_a_conflict_and_readers_cannot_link(app, deployed, actors):
    ivan, maria = contact(deployed, actors["head"]), contact(deployed, actors["head"], "Maria Petrova")
    link_records(deployed(), actors["head"], ivan.id, maria.id, "colleague", NOW)
    hank = as_user(app, "hank")
    again = hank.post(f"/records/{ivan.id}/links", data={"to_record_id": str(maria.id), "kind": "colleague"})
    assert again.status_code == 409
    assert "already linked" in links_section(again)
    otto = as_user(app, "otto")
    assert "Add link" not in text(otto.get(f"/records/{ivan.id}"))
    assert otto.post(f"/records/{ivan.id}/links", data={"to_record_id": str(maria.id),
                                                        "kind": "spouse"}).status_code == 403


def test_link_forms_need_the_csrf_token(db_url, deployed, actors):
    ivan, maria = contact(deployed, actors["head"]), contact(deployed, actors["head"], "Maria Petrova")
    app: Flask = create_app(settings(db_url, WTF_CSRF_ENABLED=True, UOW_FACTORY=deployed))
    browser = app.test_client()
    login_page = browser.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', login_page).group(1)
    browser.post("/login", data={"username": "hank", "password": "correct-horse-1", "csrf_token": token})
    form = {"to_record_id": str(maria.id), "kind": "spouse"}
    assert browser.post(f"/records/{ivan.id}/links", data=form).status_code == 400
    card = browser.get(f"/records/{ivan.id}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', card).group(1)
    assert browser.post(f"/records/{ivan.id}/links", data={**form, "csrf_token": token}).status_code == 302


def test_a_value_of_a_catalog_tree_reads_as_its_path(app, deployed, actors):
    ivan = contact(deployed, actors["head"], status="periodic")
    hank = as_user(app, "hank")
    card = text(hank.get(f"/records/{ivan.id}"))
    assert "Client status Active › Periodic (2 deals)" in card
    assert "Статус клиента Действующий › Периодический (2 сделки)" in text(hank.get(f"/records/{ivan.id}?lang=ru"))
    html = hank.get(f"/records/{ivan.id}?lang=en").get_data(as_text=True)
    assert '<option value="periodic" selected>Active › Periodic (2 deals)</option>' in html
