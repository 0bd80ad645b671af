"""Entity list pages: sorting by a column, column filters through the filter compiler, chosen columns saved per
user, keyset pages that keep the sort and filters, and the total."""

from __future__ import annotations

import re

from flask import Flask

from engine.services.records import create_record
from tests.conftest import NOW
from tests.web.conftest import as_user, text


def _contacts(deployed, actors, *rows):
    for name, region, phone in rows:
        create_record(deployed(), actors["head"], "Contact",
                      {"full_name": name, "region": region, "phone": phone}, NOW)


def _titles(html: str) -> list[str]:
    return re.findall(r'<a class="strong" href="/records/\d+">([^<]+)</a>', html)


def test_list_sorts_filters_and_pages_by_keyset_keeping_both(app, deployed, actors):
    _contacts(deployed, actors, ("Борис Орлов", "central", "+79990000001"), ("Анна Белова", "central", "+79990000002"),
              ("Вера Котова", "south", "+79990000003"), ("Глеб Исаев", "central", "+79990000004"))
    hank = as_user(app, "hank")
    hank.post("/records/Contact/columns", data={"columns": ["region", "phone"]})
    by_name = hank.get("/records/Contact?sort=title&dir=asc").get_data(as_text=True)
    assert _titles(by_name) == ["Анна Белова", "Борис Орлов", "Вера Котова", "Глеб Исаев"]
    assert 'aria-sort="ascending"' in by_name
    desc = hank.get("/records/Contact?sort=title&dir=desc").get_data(as_text=True)
    assert _titles(desc) == ["Глеб Исаев", "Вера Котова", "Борис Орлов", "Анна Белова"]
    moscow = hank.get("/records/Contact?sort=title&dir=desc&f.region=central").get_data(as_text=True)
    assert _titles(moscow) == ["Глеб Исаев", "Борис Орлов", "Анна Белова"]
    assert "3 record(s) found" in text_of(moscow)
    assert _titles(hank.get("/records/Contact?f.title=бел").get_data(as_text=True)) == ["Анна Белова"]


def text_of(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_keyset_pages_continue_in_the_sorted_filtered_order(app, deployed, actors, monkeypatch):
    monkeypatch.setattr("web.blueprints.records.PAGE", 2)
    _contacts(deployed, actors, *[(f"Contact {n}", "central" if n % 2 else "south", None) for n in range(7)])
    create_record(deployed(), actors["head"], "Contact", {"full_name": "No region"}, NOW)
    hank = as_user(app, "hank")
    hank.post("/records/Contact/columns", data={"columns": ["region"]})
    seen: list[str] = []
    path = "/records/Contact?sort=region&dir=asc"
    while path:
        html = hank.get(path).get_data(as_text=True)
        seen += _titles(html)
        found = re.search(r'rel="next" href="([^"]+)"', html)
        path = found.group(1).replace("&amp;", "&") if found else ""
        assert not found or "sort=region" in path
    # moscow before spb, ties by id ascending, the record without a region last (empty values sort last)
    assert seen == ["Contact 1", "Contact 3", "Contact 5", "Contact 0", "Contact 2", "Contact 4", "Contact 6",
                    "No region"]
    filtered: list[str] = []
    path = "/records/Contact?f.region=south"
    while path:
        html = hank.get(path).get_data(as_text=True)
        filtered += _titles(html)
        found = re.search(r'rel="next" href="([^"]+)"', html)
        path = found.group(1).replace("&amp;", "&") if found else ""
    assert filtered == ["Contact 6", "Contact 4", "Contact 2", "Contact 0"]  # default order: newest first


def test_bad_column_filter_is_shown_next_to_its_box_and_a_hidden_column_is_said(app, deployed, actors):
    hank = as_user(app, "hank")
    response = hank.get("/records/Deal?f.amount=lots")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'name="f.amount" value="lots" aria-label="Filter by Amount" aria-invalid="true"' in html
    assert "must be a number" in html
    hidden = hank.get("/records/Deal?f.description=x&sort=description")
    assert hidden.status_code == 422
    assert "no column “description” in this list to filter by" in text(hidden)
    assert "cannot be sorted by “description”" in text(hidden)


def test_chosen_columns_are_saved_per_user(app, deployed, actors):
    _contacts(deployed, actors, ("Анна Белова", "central", "+79990000002"))
    hank, otto = as_user(app, "hank"), as_user(app, "otto")
    assert "<th" in hank.get("/records/Contact").get_data(as_text=True)
    assert 'data-column="position"' not in hank.get("/records/Contact").get_data(as_text=True)
    saved = hank.post("/records/Contact/columns", data={"columns": ["position", "phone"]})
    assert saved.status_code == 302
    mine = hank.get("/records/Contact").get_data(as_text=True)
    assert re.findall(r'<th[^>]*data-column="(\w+)"', mine) == ["title", "phone", "position", "owner",
                                                                 "updated_at"]
    assert 'data-column="relationship"' in otto.get("/records/Contact").get_data(as_text=True)  # others keep defaults
    refused = hank.post("/records/Contact/columns", data={"columns": ["salary"]}, follow_redirects=True)
    assert "unknown column(s) 'salary'" in text(refused)
    hank.post("/records/Contact/columns", data={})  # nothing ticked: back to the defaults
    assert 'data-column="relationship"' in hank.get("/records/Contact").get_data(as_text=True)


def test_an_old_numbered_page_link_says_where_it_lands(app: Flask) -> None:
    browser = as_user(app, "sam")
    page = browser.get("/records/Contact?page=3")
    assert page.status_code == 422  # like every list parameter it did not apply: the list, with the notice
    assert "Page 3 of the old numbered paging is not shown" in text(page)
