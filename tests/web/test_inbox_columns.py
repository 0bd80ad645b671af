"""The inbox sorted by its column headers and narrowed by column boxes kept in the URL, the way entity lists are:
tab counts under the filters, translated task names matched, due days in the reader's time zone, bad values
shown next to their box."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Flask
from werkzeug.datastructures import MultiDict

from engine.services.records import create_record
from engine.services.tasks import claim_task, list_tasks
from tests.web.conftest import as_user, text
from web.lists import inbox_columns, read_task_filter


def _leads(deployed, actors, *titles):
    made = {}
    for days, title in enumerate(titles):
        lead = create_record(
            deployed(), actors["head"], "Lead", {"title": title}, datetime.now(UTC) - timedelta(days=len(titles) - days)
        )
        made[title] = next(
            t for t in list_tasks(deployed(), actors["sales"], "pool", limit=500) if t.record_id == lead.id
        )
    return made


def _records(html: str) -> list[str]:
    return re.findall(r'<td class="name"><a href="/records/\d+">([^<]+)</a></td>', html)


def _counts(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-tab="(\w+)"[^>]*>[^<]*<span class="count[^"]*" data-count="(\d+)"', html))


def test_pool_sorts_by_a_column_header_and_keeps_it_in_tab_links(app: Flask, deployed, actors) -> None:
    _leads(deployed, actors, "Борис Орлов", "Анна Белова", "Вера Белкина")
    sam = as_user(app, "sam")
    up = sam.get("/tasks?tab=pool&sort=record&dir=asc").get_data(as_text=True)
    assert _records(up) == ["Анна Белова", "Борис Орлов", "Вера Белкина"]
    assert 'aria-sort="ascending" data-column="record"' in up
    down = sam.get("/tasks?tab=pool&sort=record&dir=desc").get_data(as_text=True)
    assert _records(down) == ["Вера Белкина", "Борис Орлов", "Анна Белова"]
    assert re.search(r'href="/tasks\?tab=mine&amp;sort=record&amp;dir=desc"', down)  # a tab keeps the sort


def test_column_filters_narrow_the_tab_and_its_count(app: Flask, deployed, actors) -> None:
    made = _leads(deployed, actors, "Борис Орлов", "Анна Белова", "Вера Белкина")
    claim_task(deployed(), actors["sales"], made["Анна Белова"].id, datetime.now(UTC))
    sam = as_user(app, "sam")
    assert _counts(sam.get("/tasks?tab=pool").get_data(as_text=True))["pool"] == "2"
    page = sam.get("/tasks?tab=pool&f.record=бел").get_data(as_text=True)
    assert _records(page) == ["Вера Белкина"]
    assert _counts(page) == {"mine": "1", "pool": "1", "overdue": "2"}  # Белова (mine) and Белкина are late
    assert 'name="f.record" value="бел"' in page
    assert re.search(r'href="/tasks\?tab=mine&amp;f.record=%D0%B1%D0%B5%D0%BB"', page)  # tabs keep the filter
    assert "No task matches these filters." in text(sam.get("/tasks?tab=pool&f.record=nobody"))
    # the task box matches the name the reader sees: "Квалифицировать лид" in Russian
    russian = sam.get("/tasks?tab=pool&lang=ru&f.task=КВАЛИФ").get_data(as_text=True)
    assert _records(russian) == ["Борис Орлов", "Вера Белкина"]
    assert "Квалифицировать лид" in russian
    process = sam.get("/tasks?tab=pool&lang=en&f.process=deal").get_data(as_text=True)
    assert _records(process) == []


def test_a_bad_due_day_is_shown_next_to_its_box(app: Flask, deployed, actors) -> None:
    sam = as_user(app, "sam")
    bad = sam.get("/tasks?tab=pool&f.due.from=31.12.2026")
    assert bad.status_code == 422
    assert re.search(r'name="f.due.from" value="31.12.2026"[^>]*aria-invalid="true"', bad.get_data(as_text=True))
    assert "must be a date YYYY-MM-DD" in text(bad)
    inverted = sam.get("/tasks?tab=pool&f.due.from=2026-05-02&f.due.to=2026-05-01")
    assert inverted.status_code == 422
    assert "the end of the due range must not be before its start" in text(inverted)
    unknown = sam.get("/tasks?tab=pool&f.owner=sam&sort=owner")
    assert unknown.status_code == 422
    assert "no column" in text(unknown).lower() or "cannot be sorted" in text(unknown)


def test_due_days_are_whole_days_in_the_readers_zone(app: Flask) -> None:
    with app.test_request_context("/tasks"):
        columns = inbox_columns([("lead_qualification", "Lead qualification")])
        args = MultiDict({"f.due.from": "2026-05-01", "f.due.to": "2026-05-01", "sort": "due", "dir": "desc"})
        flt, read = read_task_filter(columns, args, ZoneInfo("Europe/Moscow"), lambda _text: ())
    assert flt.due_from == datetime(2026, 4, 30, 21, 0, tzinfo=UTC)  # midnight in Moscow (UTC+3)
    assert flt.due_before == datetime(2026, 5, 1, 21, 0, tzinfo=UTC)
    assert (flt.sort, flt.descending, read.problems) == ("due", True, [])


def test_the_tasks_api_sorts_and_filters_like_the_inbox(api) -> None:
    from tests.web.api_client import create_lead

    sam = api["sales"]
    for title in ("Борис Орлов", "Анна Белова", "Вера Белкина"):
        create_lead(sam, title)
    listed = sam.get("/tasks", scope="pool", sort="record", dir="desc", record="бел").get_json()
    assert [t["record_title"] for t in listed["items"]] == ["Вера Белкина", "Анна Белова"]
    assert {t["process"] for t in listed["items"]} == {"Lead qualification"}
    later = sam.get("/tasks", scope="pool", due_from="2999-01-01T00:00:00+03:00").get_json()
    assert later["items"] == []
    bad = sam.get("/tasks", scope="pool", due_from="tomorrow", sort="owner")
    assert bad.status_code == 422
    assert "due_from" in bad.get_json()["fields"]
    assert sam.get("/tasks", scope="pool", sort="owner").get_json()["fields"] == {
        "sort": ["must be one of: task, record, due, assignee, process, created"]
    }
