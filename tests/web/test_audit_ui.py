"""The audit pages: the log with filters, paging and exports; the record as of a past moment; who sees what."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Flask
from openpyxl import load_workbook

from engine.services.records import create_record, update_record
from engine.services.users import create_user, get_actor
from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.conftest import NOW, PASSWORD
from tests.web.conftest import as_user, new_lead, text

MakeUow = Callable[[], UnitOfWork]
T1 = NOW + timedelta(hours=1)


def history(deployed: MakeUow, actors: dict[str, Actor]) -> dict[str, int]:
    """Hank's lead (budget 100 → 250 at T1) and a lead owned by a seller of another team."""
    north = new_lead(deployed, actors, "North laptops", budget="100.00").id
    update_record(deployed(), actors["head"], north, {"budget": "250.00"}, T1)
    olga = get_actor(deployed(), create_user(deployed(), "olga", PASSWORD, ["sales"], NOW, team="south").id)
    south = create_record(deployed(), olga, "Lead", {"title": "South tablets"}, NOW, owner_id=olga.id,
                          start_processes=False).id
    return {"north": north, "south": south}


def test_the_auditor_reads_and_filters_the_log(app: Flask, deployed: MakeUow, actors: dict[str, Actor]) -> None:
    ids = history(deployed, actors)
    otto = as_user(app, "otto")
    page = otto.get("/audit")
    assert page.status_code == 200
    body = text(page)
    assert "North laptops" in body
    assert "South tablets" in body
    assert "Process step" in body

    filtered = otto.get("/audit", query_string={"user": "hank", "kind": "field", "record_id": str(ids["north"]),
                                                "from": "2026-03-02", "to": "2026-03-02"})
    rows = re.findall(r"<tr>.*?</tr>", filtered.get_data(as_text=True).split("<tbody>")[1], re.S)
    assert len(rows) == 4  # budget edit at T1, then title, budget and status at creation
    assert "250" in text(filtered).split("Source")[1]
    assert "South tablets" not in text(filtered)
    assert 'href="/audit/export.csv?' in filtered.get_data(as_text=True)

    bad = otto.get("/audit", query_string={"from": "someday"})
    assert bad.status_code == 422
    assert "is not a date" in text(bad)


def test_the_log_pages_with_a_cursor(app: Flask, deployed: MakeUow, actors: dict[str, Actor]) -> None:
    for n in range(30):  # each lead: two field changes and four process steps
        new_lead(deployed, actors, f"Lead {n}")
    otto = as_user(app, "otto")
    first = otto.get("/audit").get_data(as_text=True)
    older = re.search(r'href="(/audit\?after=[^"]+)"', first)
    assert older is not None
    second = otto.get(older.group(1).replace("&amp;", "&"))
    assert second.status_code == 200
    assert "Newest" in text(second)
    assert text(second) != text(otto.get("/audit"))


def test_exports_stream_the_filtered_log(app: Flask, deployed: MakeUow, actors: dict[str, Actor]) -> None:
    ids = history(deployed, actors)
    otto = as_user(app, "otto")
    response = otto.get("/audit/export.csv", query_string={"record_id": str(ids["north"]), "kind": "field"})
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    raw = response.get_data()
    assert raw.startswith("\ufeff".encode())
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert table[0][:3] == ["at (Europe/Moscow)", "kind", "actor"]  # otto's zone: the bundle's, he chose none
    assert {row[0][-6:] for row in table[1:]} == {"+03:00"}
    assert tuple(table[1][i] for i in (1, 7, 8, 9)) == ("field", "budget", "100.00", "250.00")
    assert {r[4] for r in table[1:]} == {str(ids["north"])}

    book_response = otto.get("/audit/export.xlsx", query_string={"kind": "field"})
    assert book_response.status_code == 200
    book = load_workbook(io.BytesIO(book_response.get_data()), read_only=True)
    rows = list(book.active.iter_rows(values_only=True))
    book.close()
    assert rows[0][:3] == ("at (Europe/Moscow)", "kind", "actor")
    assert {r[5] for r in rows[1:]} == {"North laptops", "South tablets"}

    refused = otto.get("/audit/export.csv", query_string={"kind": "gossip"})
    assert refused.status_code == 422


def test_who_sees_the_log(app: Flask, deployed: MakeUow, actors: dict[str, Actor]) -> None:
    history(deployed, actors)
    head = as_user(app, "hank")
    seen = text(head.get("/audit"))
    assert "North laptops" in seen
    assert "South tablets" not in seen
    assert "South tablets" not in head.get("/audit/export.csv").get_data(as_text=True)
    sam = as_user(app, "sam")
    assert sam.get("/audit").status_code == 403
    assert sam.get("/audit/export.xlsx").status_code == 403
    assert 'href="/audit"' not in sam.get("/tasks").get_data(as_text=True)
    assert 'href="/audit"' in as_user(app, "otto").get("/tasks").get_data(as_text=True)
    assert 'href="/audit"' in head.get("/tasks").get_data(as_text=True)


def test_the_record_as_of_a_past_moment(app: Flask, deployed: MakeUow, actors: dict[str, Actor]) -> None:
    ids = history(deployed, actors)
    otto = as_user(app, "otto")
    card = otto.get(f"/records/{ids['north']}").get_data(as_text=True)
    assert f'action="/records/{ids["north"]}/as-of"' in card

    then = otto.get(f"/records/{ids['north']}/as-of", query_string={"at": "2026-03-02T12:30"})  # Moscow time
    assert then.status_code == 200
    body = text(then)
    assert "As it was at 2026-03-02 12:30 MSK" in body
    budget_row = next(r for r in re.findall(r"<tr.*?</tr>", then.get_data(as_text=True), re.S) if "Budget" in r)
    assert "changed since" in text_of(budget_row)
    assert "100" in text_of(budget_row)
    assert "create" in text_of(budget_row)

    before = otto.get(f"/records/{ids['north']}/as-of", query_string={"at": "2026-03-01T12:00"})
    assert before.status_code == 404
    assert "did not exist yet" in text(before)
    assert otto.get(f"/records/{ids['north']}/as-of", query_string={"at": "soon"}).status_code == 422
    assert otto.get(f"/records/{ids['north']}/as-of").status_code == 200  # now

    sam = as_user(app, "sam")
    assert sam.get(f"/records/{ids['south']}/as-of", query_string={"at": "2026-03-02T13:00"}).status_code == 404
    assert as_user(app, "olga").get(f"/records/{ids['south']}/as-of",
                                    query_string={"at": "2026-03-02T13:00"}).status_code == 200


def test_the_as_of_page_speaks_russian(app: Flask, deployed: MakeUow, actors: dict[str, Actor]) -> None:
    ids = history(deployed, actors)
    page = as_user(app, "otto").get(f"/records/{ids['north']}/as-of", query_string={"at": "2026-03-02T12:30",
                                                                                    "lang": "ru"})
    assert "изменено позже" in text(page)


def text_of(fragment: Any) -> str:
    """Tags stripped from an HTML fragment."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", str(fragment)))


def test_the_instance_page_shows_what_it_waits_for(app: Flask, deployed: MakeUow, actors: dict[str, Actor]) -> None:
    created = new_lead(deployed, actors, "Waiting lead")
    uow = deployed()
    with uow:
        instance_id = uow.instances.for_record(created.id)[0].id
    page = as_user(app, "otto").get(f"/instances/{instance_id}")
    assert page.status_code == 200
    waits = text_of(page.get_data(as_text=True).split('id="waits"')[1].split("</section>")[0])
    assert "Timer" in waits
    assert "lead_untouched" in waits
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d MSK", waits)  # the bundle's zone
    assert "Started" in text(page)


def test_a_russian_auditor_reads_the_routing_step_and_the_engine_actor_in_russian(
        app: Flask, deployed: MakeUow, actors: dict[str, Actor]) -> None:
    new_lead(deployed, actors, "Ноутбуки")  # lead qualification routes its first task: a step by the process
    otto = as_user(app, "otto")
    otto.get("/tasks?lang=ru")
    page = text(otto.get("/audit"))
    routed = page[page.index("Назначено маршрутизацией"):][:200]  # the step's data, in the database's key order
    assert "Команда Продажи" in routed  # a team named after a role reads as the role
    assert "Способ назначения в общий пул команды" in routed  # the strategy in words, not "pool"
    assert "strategy" not in routed
    assert "процесс (автоматически) Шаг процесса" in page
    english = text(otto.get("/audit?lang=en"))
    assert "Routing the team's pool" in english[english.index("Assigned by routing"):][:200]
