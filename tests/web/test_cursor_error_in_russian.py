"""A page of the inbox after (or before) a task that does not exist is refused naming the cursor, in the reader's
language: the API by Accept-Language or the token holder's language, the inbox page by the user's language."""

from __future__ import annotations

from typing import Any

from flask import Flask

from engine.services.users import set_preferences
from tests.web.api_client import API, ApiUser
from tests.web.conftest import as_user

RUSSIAN = "задачи 'gone' нет: начните снова с первой страницы"
ENGLISH = "no task 'gone': start again from the first page"


def _tasks(user: ApiUser, **headers: str) -> Any:
    return user.client.get(API + "/tasks", headers={**user.headers, **headers},
                           query_string={"scope": "pool", "after": "gone"})


def test_the_api_names_an_unknown_cursor_in_the_language_the_client_accepts(api: dict[str, ApiUser]) -> None:
    sam = api["sales"]

    russian, english = _tasks(sam, **{"Accept-Language": "ru-RU,ru;q=0.9"}), _tasks(sam)

    assert russian.status_code == english.status_code == 422
    assert russian.get_json()["fields"] == {"after": [RUSSIAN]}
    assert russian.get_json()["message"] == f"after: {RUSSIAN}"
    assert english.get_json()["fields"] == {"after": [ENGLISH]}
    before = sam.client.get(API + "/tasks", headers={**sam.headers, "Accept-Language": "ru"},
                            query_string={"scope": "pool", "before": "gone", "offset": 3})
    assert before.get_json()["fields"] == {
        "offset": ["страница после задачи или перед ней начинается с этой задачи: offset вместе с ними не указывают"]}


def test_the_api_names_an_unknown_cursor_in_the_token_holders_language(
        api: dict[str, ApiUser], deployed: Any, actors: dict[str, Any]) -> None:
    set_preferences(deployed(), actors["sales"], locale="ru", timezone=None)

    refused = _tasks(api["sales"])

    assert refused.status_code == 422
    assert refused.get_json()["fields"] == {"after": [RUSSIAN]}


def test_the_inbox_page_names_an_unknown_cursor_in_the_users_language(
        app: Flask, deployed: Any, actors: dict[str, Any]) -> None:
    set_preferences(deployed(), actors["sales"], locale="ru", timezone=None)

    response = as_user(app, "sam").get("/tasks?tab=pool&after=gone")

    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "задачи &#39;gone&#39; нет: начните снова с первой страницы" in page
    assert "start again" not in page
