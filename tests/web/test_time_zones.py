"""Dates and times in the user's zone: the profile setting (default: the bundle's `timezone`), shown and entered
in it, stored in UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Flask

from engine.services.records import get_record
from engine.services.reminders import list_reminders
from tests.web.conftest import as_user, new_lead, text


def test_a_user_in_tokyo_enters_and_sees_times_in_tokyo_time(app: Flask, deployed, actors) -> None:
    hank = as_user(app, "hank")
    assert "Default: Europe/Moscow" in text(hank.get("/profile"))
    saved = hank.post("/profile", data={"locale": "en", "timezone": "Asia/Tokyo"})
    assert saved.status_code == 302
    assert "Settings saved." in text(hank.get(saved.headers["Location"]))

    lead = new_lead(deployed, actors)
    assert hank.post(f"/records/{lead.id}/reminders", data={"due_at": "2099-03-02T18:30"}).status_code == 302
    [reminder] = list_reminders(deployed(), actors["head"], lead.id)
    assert reminder.due_at == datetime(2099, 3, 2, 9, 30, tzinfo=UTC)  # 18:30 in Tokyo
    card = text(hank.get(f"/records/{lead.id}"))
    assert "2099-03-02 18:30 JST" in card
    assert "(Asia/Tokyo)" in card

    assert hank.post("/profile", data={"locale": "en", "timezone": ""}).status_code == 302  # back to the default
    assert "2099-03-02 12:30 MSK" in text(hank.get(f"/records/{lead.id}"))


def test_a_datetime_field_is_entered_in_the_users_zone_and_stored_in_utc(app: Flask, deployed, actors) -> None:
    sam = as_user(app, "sam")
    assert sam.post("/profile", data={"locale": "en", "timezone": "America/New_York"}).status_code == 302
    created = sam.post("/records/Activity/new", data={"subject": "Call Ivan", "kind": "call",
                                                      "happened_at": "2026-03-02T08:15"})
    assert created.status_code == 302, text(created)
    record_id = int(created.headers["Location"].rstrip("/").split("/")[-1].split("?")[0])
    stored = get_record(deployed(), actors["sales"], record_id).data["happened_at"]
    assert datetime.fromisoformat(stored) == datetime(2026, 3, 2, 13, 15, tzinfo=UTC)  # 08:15 EST
    page = sam.get(f"/records/{record_id}").get_data(as_text=True)
    assert "2026-03-02 08:15 EST" in page
    assert 'value="2026-03-02T08:15"' in page  # the edit form shows it back as entered
    assert '<span class="suffix">America/New_York</span>' in page  # and says in which zone
    assert "View the record as of (America/New_York)" in text(sam.get(f"/records/{record_id}"))


def test_an_unknown_time_zone_is_refused_naming_it_in_the_users_language(app: Flask, actors) -> None:
    otto = as_user(app, "otto")  # an auditor changes no data, but may choose how dates are shown to him
    refused = otto.post("/profile?lang=ru", data={"locale": "ru", "timezone": "Mars/Olympus"})
    assert refused.status_code == 422
    assert "неизвестный часовой пояс 'Mars/Olympus'" in text(refused)
    assert otto.post("/profile", data={"locale": "xx"}).status_code == 422
    assert otto.post("/profile", data={"locale": "ru", "timezone": "Europe/Berlin"}).status_code == 302
    assert "Мои настройки" in text(otto.get("/profile"))  # the chosen language applies at once


def test_the_profile_reads_the_time_zone_database_once_per_process(app: Flask, actors, monkeypatch) -> None:
    """Each profile page listed the zones and each saved zone was checked by walking the time zone database and
    opening every file in it (~600 files, 20-40 ms of CPU a request); the names are read once per process."""
    import os
    from zoneinfo import TZPATH

    opened: list[str] = []  # the time zone database's folders walked (each file in them is opened)
    real = os.walk

    def counted(top: str, *args: Any, **kwargs: Any) -> Any:
        if any(str(top).startswith(root) for root in TZPATH):
            opened.append(str(top))
        return real(top, *args, **kwargs)

    monkeypatch.setattr(os, "walk", counted)
    sue = as_user(app, "sue")
    assert sue.get("/profile").status_code == 200  # the first request of the process may read the database
    first = len(opened)
    assert "Europe/Moscow" in text(sue.get("/profile"))
    assert sue.post("/profile", data={"locale": "en", "timezone": "Asia/Tokyo"}).status_code == 302
    assert sue.post("/profile", data={"locale": "en", "timezone": "Mars/Olympus"}).status_code == 422
    page = sue.get("/profile").get_data(as_text=True)
    assert '<option value="Asia/Tokyo" selected>' in page
    assert page.count("<option value=") > 300
    assert len(opened) == first, len(opened) - first  # four more requests, no file of the database read again
