"""The inbox page's keyset pager (next / previous / first page links carrying a task id) and its task sort by
the names in the reader's language."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask

from engine.services.records import create_record
from engine.services.tasks import claim_task, complete_task, list_tasks
from tests.web.conftest import as_user
from web.blueprints import inbox


def _leads(deployed, actors, count):
    made = []
    for n in range(count):
        lead = create_record(
            deployed(), actors["head"], "Lead", {"title": f"Lead {n}"}, datetime.now(UTC) - timedelta(days=count - n)
        )
        made.append(
            next(t for t in list_tasks(deployed(), actors["sales"], "pool", limit=500) if t.record_id == lead.id)
        )
    return made


def _records(page: str) -> list[str]:
    return re.findall(r'<td class="name"><a href="/records/\d+">([^<]+)</a></td>', page)


def _link(page: str, which: str) -> str | None:
    found = re.search(rf'<a (?:rel="\w+" )?href="([^"]+)" data-page="{which}"', page)
    return html.unescape(found.group(1)) if found else None


def test_next_and_previous_links_page_by_task_and_keep_the_sort(
    app: Flask, deployed, actors, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inbox, "PAGE", 2)
    _leads(deployed, actors, 5)
    sam = as_user(app, "sam")
    first = sam.get("/tasks?tab=pool&sort=record&dir=desc").get_data(as_text=True)
    assert _records(first) == ["Lead 4", "Lead 3"]
    assert _link(first, "prev") is None
    assert _link(first, "first") is None
    second_url = _link(first, "next")
    assert second_url is not None
    assert "after=" in second_url
    assert "sort=record" in second_url
    assert "page=" not in second_url
    second = sam.get(second_url).get_data(as_text=True)
    assert _records(second) == ["Lead 2", "Lead 1"]
    third = sam.get(_link(second, "next")).get_data(as_text=True)
    assert _records(third) == ["Lead 0"]
    assert _link(third, "next") is None
    back = sam.get(_link(third, "prev")).get_data(as_text=True)
    assert _records(back) == ["Lead 2", "Lead 1"]
    again = sam.get(_link(back, "prev")).get_data(as_text=True)
    assert _records(again) == ["Lead 4", "Lead 3"]
    assert _link(again, "prev") is None
    assert _records(sam.get(_link(third, "first")).get_data(as_text=True)) == ["Lead 4", "Lead 3"]


def test_the_task_column_sorts_by_the_names_in_the_readers_language(app: Flask, deployed, actors) -> None:
    made = _leads(deployed, actors, 3)
    now = datetime.now(UTC)
    claim_task(deployed(), actors["sales"], made[1].id, now)
    complete_task(
        deployed(), actors["sales"], made[1].id, {"outcome": "convert", "relationship": "potential_client"}, now
    )  # Lead 1: "Arrange first meeting" / «Назначить первую встречу», the others «Квалифицировать лид»
    ada = as_user(app, "ada")
    english = ada.get("/tasks?tab=all&sort=task&dir=asc&lang=en").get_data(as_text=True)
    assert _records(english)[0] == "Lead 1"
    russian = ada.get("/tasks?tab=all&sort=task&dir=asc&lang=ru").get_data(as_text=True)
    assert _records(russian)[-1] == "Lead 1"
    assert "Назначить первую встречу" in russian
    down = ada.get("/tasks?tab=all&sort=task&dir=desc&lang=ru").get_data(as_text=True)
    assert _records(down)[0] == "Lead 1"
    assert ada.get("/tasks?tab=all&sort=process&dir=desc&lang=ru").status_code == 200


def test_a_link_after_a_task_that_no_longer_exists_says_so(app: Flask, deployed, actors) -> None:
    _leads(deployed, actors, 1)
    response = as_user(app, "sam").get("/tasks?tab=pool&after=gone&lang=en")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "no task &#39;gone&#39;: start again from the first page" in page
    assert _link(page, "first") is not None
