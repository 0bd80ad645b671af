"""The filter builder page, segments, mass actions with confirmation, and CSV/XLSX downloads."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from openpyxl import load_workbook

from engine.services.records import create_record, get_record
from engine.services.segments import create_segment, get_segment, list_segments
from engine.services.views import Actor, RecordView
from engine.store.uow import UnitOfWork
from tests.conftest import NOW
from tests.web.conftest import as_user, text

MakeUow = Callable[[], UnitOfWork]
VIP = {"entity": "Contact", "where": {"all": [{"field": "tags", "op": "has_any", "value": ["vip"]}]}}


@pytest.fixture
def people(deployed: MakeUow, actors: dict[str, Actor]) -> dict[str, RecordView]:
    """Three contacts of sam (one VIP) and one of sue."""
    def make(name: str, owner: str, **data: Any) -> RecordView:
        return create_record(deployed(), actors["admin"], "Contact",
                             {"full_name": name, "email": f"{name.split()[0].lower()}@example.com", **data}, NOW,
                             owner_id=actors[owner].id)

    return {"vip": make("Vera Vip", "sales", tags=["vip"]), "plain": make("Paul Plain", "sales"),
            "third": make("Tom Third", "sales"), "other": make("Olga Other", "sales2", tags=["vip"])}


def embedded(html: str, node_id: str) -> Any:
    found = re.search(rf'<script type="application/json" id="{node_id}">(.*?)</script>', html, re.S)
    assert found, node_id
    return json.loads(found.group(1))


def test_builder_page_embeds_the_entity_schema(app: Flask) -> None:
    response = as_user(app, "sam").get("/find/Contact")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    schema = embedded(html, "find-schema")
    fields = {f["name"]: f for f in schema["fields"]}
    assert fields["tags"]["type"] == "multi_enum"
    assert {"value": "vip", "label": "VIP"} in fields["tags"]["options"]
    assert "has_any" in fields["tags"]["ops"]
    assert "contains" in fields["full_name"]["ops"]
    assert fields["created_at"]["type"] == "timestamp"
    assert "within_last_days" in fields["created_at"]["ops"]
    assert any(link["entity"] == "Deal" and link["via"] == "client" for link in schema["linked"])
    assert 'src="/static/find.js"' in html
    assert 'name="filter"' in html  # the raw JSON works without JavaScript
    russian = as_user(app, "sam").get("/find/Contact?lang=ru").get_data(as_text=True)
    assert embedded(russian, "find-schema")["ops"]["eq"] == "равно"


def test_json_filter_shows_matching_records_and_the_total(app: Flask, people: dict[str, RecordView]) -> None:
    browser = as_user(app, "sam")
    response = browser.get("/find/Contact", query_string={"filter": json.dumps(VIP)})
    assert response.status_code == 200
    page = text(response)
    assert "1 record(s) found" in page
    assert "Vera Vip" in page
    assert "Paul Plain" not in page
    assert "Olga Other" not in page
    everyone = text(as_user(app, "hank").get("/find/Contact", query_string={"filter": json.dumps(VIP)}))
    assert "2 record(s) found" in everyone


def test_filter_errors_come_back_by_json_path(app: Flask) -> None:
    bad = {"entity": "Contact", "where": {"all": [{"field": "tags", "op": "has_any", "value": ["vip"]},
                                                  {"field": "status", "op": "contains", "value": "x"}]}}
    response = as_user(app, "sam").get("/find/Contact", query_string={"filter": json.dumps(bad)})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    errors = embedded(html, "find-errors")
    assert list(errors) == ["where.all[1].op"]
    assert "where.all[1].op" in text(response)
    assert "is not an operator" in text(response)
    broken = as_user(app, "sam").get("/find/Contact", query_string={"filter": "{nope"})
    assert broken.status_code == 422
    assert "not valid JSON" in text(broken)


def test_save_as_segment_then_change_and_delete_it(app: Flask, deployed: MakeUow, actors: dict[str, Actor],
                                                   people: dict[str, RecordView]) -> None:
    browser = as_user(app, "sam")
    response = browser.post("/segments", data={"entity": "Contact", "name": "VIP", "description": "top",
                                               "filter": json.dumps(VIP)})
    assert response.status_code == 302
    (saved,) = list_segments(deployed(), actors["sales"])
    assert response.headers["Location"] == f"/segments/{saved.id}"
    page = text(browser.get(f"/segments/{saved.id}"))
    assert "VIP" in page
    assert "Vera Vip" in page
    assert "1 record(s) found" in page
    again = browser.post("/segments", data={"entity": "Contact", "name": "VIP", "filter": json.dumps(VIP)})
    assert again.status_code == 422
    assert "already exists" in text(again)
    wrong = browser.post(f"/segments/{saved.id}", data={"name": "VIP", "filter": '{"where": {"field": "x"}}'})
    assert wrong.status_code == 422
    assert "where.field" in text(wrong)
    assert as_user(app, "sue").post(f"/segments/{saved.id}", data={"name": "Mine"}).status_code == 403
    renamed = browser.post(f"/segments/{saved.id}", data={"name": "VIP clients", "description": "",
                                                          "filter": json.dumps({"entity": "Contact"})})
    assert renamed.status_code == 302
    assert get_segment(deployed(), actors["sales"], saved.id).name == "VIP clients"
    reopened = browser.get(f"/find/Contact?segment={saved.id}").get_data(as_text=True)
    assert f'action="/segments/{saved.id}"' in reopened
    assert "Save into segment “VIP clients”" in reopened
    assert "Save into segment" not in as_user(app, "sue").get(f"/find/Contact?segment={saved.id}").get_data(
        as_text=True)
    assert "Segments" in text(browser.get("/segments"))
    assert "VIP clients" in text(browser.get("/segments"))
    assert browser.post(f"/segments/{saved.id}/delete").status_code == 422  # not confirmed
    assert browser.post(f"/segments/{saved.id}/delete", data={"confirm": "yes"}).status_code == 302
    assert list_segments(deployed(), actors["sales"]) == []


def test_mass_action_asks_to_confirm_the_count_then_applies(app: Flask, deployed: MakeUow, actors: dict[str, Actor],
                                                            people: dict[str, RecordView]) -> None:
    saved = create_segment(deployed(), actors["sales"], "Contact", "Sam's", {"entity": "Contact"}, NOW)
    browser = as_user(app, "sam")
    form = {"action": "tag", "field": "tags", "code": "partner"}
    confirm = browser.post(f"/segments/{saved.id}/actions", data=form)
    assert confirm.status_code == 200
    assert "will be applied to 3 record(s)" in text(confirm)
    assert "Tags Value Partner" in text(confirm)  # field and code as labels
    assert "partner" not in str(get_record(deployed(), actors["sales"], people["plain"].id).data)
    done = browser.post(f"/segments/{saved.id}/actions", data={**form, "confirm": "yes"}, follow_redirects=True)
    assert "Done: 3 record(s), 3 changed, 0 unchanged." in text(done)
    for key in ("vip", "plain", "third"):
        assert "partner" in get_record(deployed(), actors["sales"], people[key].id).data["tags"]
    setting = browser.post(f"/segments/{saved.id}/actions",
                           data={"action": "set", "field": "status", "value": "nonsense", "confirm": "yes"})
    assert setting.status_code == 422
    assert "The mass action was not applied" in text(setting)
    assert browser.post(f"/segments/{saved.id}/actions", data={"action": "assign", "to": "sue"}).status_code == 403
    head = as_user(app, "hank")
    assert "will be applied to 4 record(s)" in text(head.post(f"/segments/{saved.id}/actions",
                                                              data={"action": "assign", "to": "sue"}))


def test_exports_download_csv_and_xlsx(app: Flask, deployed: MakeUow, actors: dict[str, Actor],
                                       people: dict[str, RecordView]) -> None:
    saved = create_segment(deployed(), actors["sales"], "Contact", "VIP Ы", VIP, NOW)
    browser = as_user(app, "sam")
    response = browser.get(f"/segments/{saved.id}/export.csv?columns=full_name,tags&lang=ru")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in response.headers["Content-Disposition"]
    assert "vip" in response.headers["Content-Disposition"]
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    assert body.decode("utf-8").splitlines() == ["\ufeffФИО,Метки", "Vera Vip,VIP"]
    xlsx = browser.get(f"/segments/{saved.id}/export.xlsx?lang=en")
    assert xlsx.status_code == 200
    assert xlsx.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(xlsx.get_data()), read_only=True)
    try:
        rows = list(book.active.iter_rows(values_only=True))
    finally:
        book.close()
    assert rows[0][:2] == ("ID", "Full name")
    assert rows[1][:2] == (people["vip"].id, "Vera Vip")
    adhoc = browser.get("/find/Contact/export.csv", query_string={"filter": json.dumps(VIP), "columns": "full_name"})
    assert adhoc.get_data().decode("utf-8").splitlines() == ["\ufeffFull name", "Vera Vip"]
    assert browser.get(f"/segments/{saved.id}/export.pdf").status_code == 404
    detail = browser.get(f"/segments/{saved.id}").get_data(as_text=True)
    assert 'name="columns" value="title" checked> Full name' in detail
    assert f'formaction="/segments/{saved.id}/export.xlsx"' in detail
    chosen = browser.get(f"/segments/{saved.id}/export.csv?columns=full_name&columns=email&sep=semicolon")
    assert chosen.get_data().decode("utf-8").splitlines() == ["\ufeffFull name;Email", "Vera Vip;vera@example.com"]


def test_segments_are_in_the_navigation_of_record_readers(app: Flask) -> None:
    assert 'href="/segments"' in as_user(app, "otto").get("/segments").get_data(as_text=True)
    assert 'href="/segments"' not in as_user(app, "dina").get("/designer").get_data(as_text=True)
    assert as_user(app, "dina").get("/segments").status_code == 403


def test_a_segment_whose_filter_no_longer_fits_shows_why_and_can_be_fixed(app: Flask, deployed: MakeUow,
                                                                          actors: dict[str, Actor]) -> None:
    saved = create_segment(deployed(), actors["sales"], "Contact", "Old", VIP, NOW)
    with deployed() as uow:  # as if a later deployment had removed the field
        row = uow.segments.get(saved.id)
        assert row is not None
        row.filter = {"entity": "Contact", "where": {"field": "retired", "op": "eq", "value": "x"}}
        uow.commit()
    browser = as_user(app, "sam")
    page = browser.get(f"/segments/{saved.id}")
    assert page.status_code == 422
    assert "where.field: 'retired' is not a field of Contact" in text(page)
    fixed = browser.post(f"/segments/{saved.id}", data={"name": "Old", "filter": json.dumps(VIP)})
    assert fixed.status_code == 302
    assert browser.get(f"/segments/{saved.id}").status_code == 200
