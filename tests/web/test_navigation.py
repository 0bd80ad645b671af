"""The header: a few menus instead of a row per entity, each with only what the role may open; skip link, favicon."""

from __future__ import annotations

import re

import pytest
from flask import Flask

from tests.web.conftest import as_user
from web import nav


def menus(html: str) -> dict[str, list[str]]:
    """Header menu key -> the hrefs in it; "" -> the plain header links."""
    header = html.split('<nav class="mainnav"')[1].split("</nav>")[0]
    found = {key: re.findall(r'href="([^"]+)"', body)
             for key, body in re.findall(r'<details class="menu[^"]*" data-menu="(\w+)">(.*?)</details>', header, re.S)}
    found[""] = re.findall(r'^\s*<a href="([^"]+)"', re.sub(r"<details.*?</details>", "", header, flags=re.S), re.M)
    return found


def test_each_role_gets_the_menus_it_may_use(app: Flask, actors) -> None:
    sales = menus(as_user(app, "sam").get("/tasks").get_data(as_text=True))
    assert sales[""] == ["/tasks"]
    assert "/records/Contact" in sales["records"]
    assert "/reports" in sales["work"]
    assert "admin" not in sales

    admin = menus(as_user(app, "ada").get("/tasks").get_data(as_text=True))
    assert {"/admin/users", "/designer", "/audit"} <= set(admin["admin"])

    designer = menus(as_user(app, "dina").get("/designer").get_data(as_text=True))
    assert designer[""] == []
    assert {"/designer", "/admin/schema"} <= set(designer["admin"])
    assert "/admin/users" not in designer["admin"]
    assert "records" not in designer


def test_the_open_page_marks_its_menu_and_the_page_has_a_skip_link_and_a_favicon(app: Flask, actors) -> None:
    html = as_user(app, "sam").get("/records/Contact").get_data(as_text=True)
    assert '<details class="menu active" data-menu="records">' in html
    assert '<a href="/records/Contact" class="active" aria-current="page">' in html
    assert html.index('class="skip-link" href="#main"') < html.index('<header')
    assert '<main class="page" id="main" tabindex="-1">' in html
    assert 'rel="icon" href="/static/favicon.svg"' in html
    with as_user(app, "sam").get("/static/favicon.svg") as icon:
        assert icon.status_code == 200


def test_an_entry_for_an_unknown_menu_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown header menu 'reports'; one of records, work, admin"):
        nav.add("reports.index", "reports.nav", "sales", menu="reports")
