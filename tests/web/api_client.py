"""Helpers for the API tests: an app on the test database, a JSON client per user, database snapshots."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from engine.services.users import issue_api_token
from engine.services.views import Actor
from engine.store.models import Base
from engine.store.uow import UnitOfWork
from tests.conftest import NOW
from web import create_app

API = "/api/v1"


def make_app(db_url: str) -> Flask:
    """The app on the test database."""
    return create_app({"DATABASE_URL": db_url, "TESTING": True, "SECRET_KEY": "test"})


def close_databases(*factories: Callable[[], UnitOfWork]) -> None:
    """Close the pooled connections behind unit-of-work factories (an unclosed psycopg connection warns)."""
    for factory in factories:
        uow = factory()
        with uow:
            bind = uow.session.get_bind()
        bind.dispose()


def app_uow(app: Flask) -> Callable[[], UnitOfWork]:
    """The app's unit-of-work factory."""
    factory: Callable[[], UnitOfWork] = app.extensions["flowcrm.uow"]
    return factory


class ApiUser:
    """One user talking JSON to the API with a bearer token; `fork()` gives a client for another thread."""

    def __init__(self, app: Flask, token: str, username: str) -> None:
        self.app, self.token, self.username = app, token, username
        self.client: FlaskClient = app.test_client()
        self.headers = {"Authorization": f"Bearer {token}"}

    def fork(self) -> ApiUser:
        """Same token, own test client (Flask test clients are not shared between threads)."""
        return ApiUser(self.app, self.token, self.username)

    def get(self, path: str, **params: Any) -> TestResponse:
        """GET an API path (relative to /api/v1) with query parameters."""
        return self.client.get(API + path, headers=self.headers, query_string=params)

    def post(self, path: str, body: Any = None) -> TestResponse:
        """POST a JSON body (none when body is None)."""
        if body is None:
            return self.client.post(API + path, headers=self.headers)
        return self.client.post(API + path, headers=self.headers, json=body)

    def patch(self, path: str, body: Any) -> TestResponse:
        """PATCH a JSON body."""
        return self.client.patch(API + path, headers=self.headers, json=body)

    def send(self, method: str, path: str, body: Any = None) -> TestResponse:
        """Any method; a JSON body unless body is None."""
        kwargs: dict[str, Any] = {} if body is None else {"json": body}
        return self.client.open(API + path, method=method.upper(), headers=self.headers, **kwargs)

    def raw(self, method: str, path: str, data: str | bytes, content_type: str) -> TestResponse:
        """Send an arbitrary body, for malformed-request tests."""
        return self.client.open(API + path, method=method, headers=self.headers, data=data,
                                content_type=content_type)


def api_users(app: Flask, make_uow: Callable[[], UnitOfWork], actors: dict[str, Actor]) -> dict[str, ApiUser]:
    """An ApiUser with a fresh token for every actor of the `actors` fixture, by the same key."""
    return {key: ApiUser(app, issue_api_token(make_uow(), actor, NOW), actor.username)
            for key, actor in actors.items()}


def create_lead(user: ApiUser, title: str = "Acme order", **fields: Any) -> dict[str, Any]:
    """POST a Lead and return it; fails the test on anything but 201."""
    response = user.post("/records/Lead", {"title": title, **fields})
    assert response.status_code == 201, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def open_task(user: ApiUser, record_id: int, scope: str = "pool") -> dict[str, Any]:
    """The one open task on a record in the user's scope."""
    response = user.get("/tasks", scope=scope)
    assert response.status_code == 200, response.get_json()
    found = [t for t in response.get_json()["items"] if t["record_id"] == record_id]
    assert len(found) == 1, found
    return found[0]


def task_completions(user: ApiUser, instance_id: int) -> list[dict[str, Any]]:
    """The task_completed steps of an instance."""
    response = user.get(f"/instances/{instance_id}")
    assert response.status_code == 200, response.get_json()
    return [s for s in response.get_json()["steps"] if s["kind"] == "task_completed"]


def snapshot(make_uow: Callable[[], UnitOfWork]) -> dict[str, list[tuple[str, ...]]]:
    """Every row of every table, to prove a refused request changed nothing."""
    uow = make_uow()
    with uow:
        return {table.name: sorted(tuple(map(repr, row)) for row in uow.session.execute(select(table)).all())
                for table in Base.metadata.sorted_tables}
