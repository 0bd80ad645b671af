"""A record card with a long field history shows the newest page and pages older ones by keyset, in HTML (ru and
en) and in the API."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask

from engine.services.views import Actor
from engine.store.models import FieldChangeRow
from engine.store.uow import UnitOfWork
from tests.conftest import NOW
from tests.web.conftest import as_user, new_lead

CHANGES = 1000


@pytest.fixture
def long_lead(deployed: Callable[[], UnitOfWork], actors: dict[str, Actor]) -> tuple[int, list[str]]:
    """A lead with 1,000 more company changes (two at each instant: the keyset must break ties by id); the
    company values of its whole history, newest first."""
    lead = new_lead(deployed, actors)
    with deployed() as uow:
        own = len(uow.records.changes(lead.id))
        uow.session.add_all(
            FieldChangeRow(
                record_id=lead.id,
                at=NOW + timedelta(days=1, seconds=n // 2),
                actor="sam",
                source="edit",
                field="company",
                old_value=None,
                new_value=f"v{n}",
            )
            for n in range(CHANGES)
        )
        uow.commit()
    newest_first = [f"v{n}" for n in reversed(range(CHANGES))]
    return lead.id, newest_first + [""] * own


def history_values(page: str) -> list[str]:
    """The new values shown in the card's history table, top to bottom ("" for a change of another field)."""
    table = page.split('<table class="table history">', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>", 1)[1], re.S)
    return [m.group(1) if (m := re.search(r"<td>(v\d+)</td>", row)) else "" for row in rows]


def older_link(page: str) -> str | None:
    found = re.search(r'<a rel="next" href="([^"]+)"', page)
    return found.group(1).replace("&amp;", "&") if found else None


def test_card_shows_the_newest_fifty_changes_and_pages_through_all_older_ones(
    app: Flask, long_lead: tuple[int, list[str]]
) -> None:
    record_id, expected = long_lead
    browser = as_user(app, "hank")
    page = browser.get(f"/records/{record_id}").get_data(as_text=True)
    assert history_values(page) == expected[:50]
    assert "Older changes" in page
    assert "Newest changes" not in page

    seen, link, pages = history_values(page), older_link(page), 1
    while link:
        page = browser.get(link).get_data(as_text=True)
        assert "Newest changes" in page
        seen += history_values(page)
        link, pages = older_link(page), pages + 1
    assert seen == expected
    assert pages == -(-len(expected) // 50)


def test_card_history_pager_speaks_russian(app: Flask, long_lead: tuple[int, list[str]]) -> None:
    record_id, _ = long_lead
    browser = as_user(app, "hank")
    page = browser.get(f"/records/{record_id}?lang=ru").get_data(as_text=True)
    assert "Более ранние изменения" in page
    later = browser.get(older_link(page) or "").get_data(as_text=True)
    assert "Последние изменения" in later


def test_card_with_a_bad_history_position_names_the_parameter(app: Flask, long_lead: tuple[int, list[str]]) -> None:
    record_id, _ = long_lead
    response = as_user(app, "hank").get(f"/records/{record_id}?history_before=abc")
    assert response.status_code in (400, 422)
    assert "history_before" in response.get_data(as_text=True)


def test_api_history_pages_newest_first_with_an_older_cursor(
    api: dict[str, Any], long_lead: tuple[int, list[str]]
) -> None:
    record_id, expected = long_lead
    head = api["head"]
    first = head.get(f"/records/{record_id}/history").get_json()
    assert len(first["items"]) == 50
    assert first["limit"] == 50

    seen, body = [], first
    while True:
        seen += [h["new_value"] if h["field"] == "company" else "" for h in body["items"]]
        if body["older"] is None:
            break
        body = head.get(f"/records/{record_id}/history", before=body["older"], limit=300).get_json()
    assert seen == expected

    wrong = head.get(f"/records/{record_id}/history", before=999999)
    assert wrong.status_code == 400
    assert "before: 999999 is not a change in the history of record" in wrong.get_json()["message"]
