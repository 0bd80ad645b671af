"""Web fixtures: the app on the test database with the shipped configuration, a client, logging in by role."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.services.records import create_record
from engine.services.tasks import list_tasks
from engine.services.views import Actor, RecordView, TaskView
from engine.store.uow import UnitOfWork
from tests.conftest import NOW, PASSWORD
from web import create_app


def settings(db_url: str, **extra: Any) -> dict[str, Any]:
    """create_app settings for tests (CSRF off unless a test turns it on)."""
    return {"DATABASE_URL": db_url, "TESTING": True, "WTF_CSRF_ENABLED": False, "SECRET_KEY": "test", **extra}


@pytest.fixture
def app(db_url: str, deployed: Callable[[], UnitOfWork], actors: dict[str, Actor]) -> Flask:
    """The app on a database with the shipped configuration and one user per role (sharing the test's pool)."""
    return create_app(settings(db_url, UOW_FACTORY=deployed))


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """An anonymous browser."""
    return app.test_client()


def login(client: FlaskClient, username: str, password: str = PASSWORD) -> None:
    """Sign in through the login form; fails the test if the login is refused."""
    response = client.post("/login", data={"username": username, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)


def as_user(app: Flask, username: str) -> FlaskClient:
    """A fresh client signed in as `username`."""
    browser = app.test_client()
    login(browser, username)
    return browser


def new_lead(deployed: Callable[[], UnitOfWork], actors: dict[str, Actor], title: str = "20 laptops",
             **data: Any) -> RecordView:
    """A Lead created by the head of sales (which starts lead qualification)."""
    return create_record(deployed(), actors["head"], "Lead", {"title": title, **data}, NOW)


def pool_task(deployed: Callable[[], UnitOfWork], who: Actor) -> TaskView:
    """The single task in someone's pool."""
    (task,) = list_tasks(deployed(), who, "pool")
    return task


def text(response: Any) -> str:
    """A response's HTML with tags stripped and whitespace collapsed, for readable assertions."""
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))))


@pytest.fixture
def api_app(db_url: str, deployed: Callable[[], UnitOfWork]) -> Iterator[Flask]:
    """The app for REST API tests; its pooled connections are closed afterwards."""
    from tests.web.api_client import app_uow, close_databases, make_app

    app = make_app(db_url)
    yield app
    close_databases(app_uow(app), deployed)


@pytest.fixture
def api(api_app: Flask, deployed: Callable[[], UnitOfWork], actors: dict[str, Actor]) -> dict[str, Any]:
    """A JSON client with a token per role key of tests.conftest.ROLE_USERS."""
    from tests.web.api_client import api_users

    return api_users(api_app, deployed, actors)
