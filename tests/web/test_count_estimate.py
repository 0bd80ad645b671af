"""Beyond the count cap, PostgreSQL totals are estimates and the UI and API say so; SQLite stays exact."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask

from engine.services import finding
from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.integration.find_data import build
from tests.web.conftest import as_user, text

DEALS = {"entity": "Deal"}


@pytest.fixture
def small_cap(monkeypatch: pytest.MonkeyPatch, deployed: Callable[[], UnitOfWork], actors: dict[str, Actor]) -> None:
    """Six deals, and a cap of two: more match than the cap."""
    build(deployed, actors)
    monkeypatch.setattr(finding, "COUNT_CAP", 2)


def test_find_page_says_about_when_the_total_is_an_estimate(app: Flask, small_cap: None, db_url: str) -> None:
    browser = as_user(app, "ada")
    page = text(browser.get(f"/find/Deal?filter={quote(json.dumps(DEALS))}"))
    if db_url.startswith("sqlite"):
        assert "6 record(s) found" in page
        assert "about" not in page
    else:
        assert "about" in page
        assert "(an estimate)" in page
    russian = text(browser.get(f"/find/Deal?lang=ru&filter={quote(json.dumps(DEALS))}"))
    assert ("около" in russian) is not db_url.startswith("sqlite")


def test_api_count_and_find_say_whether_the_count_is_exact(api: dict[str, Any], small_cap: None, db_url: str) -> None:
    count = api["admin"].post("/find/count", {"filter": DEALS}).get_json()
    found = api["admin"].post("/find", {"filter": DEALS}).get_json()
    if db_url.startswith("sqlite"):
        assert (count["count"], count["exact"]) == (6, True)
        assert (found["total"], found["exact"]) == (6, True)
    else:
        assert count["exact"] is False
        assert count["count"] >= 3
        assert found["exact"] is False
