"""Signing in: where `next=` may send the browser, throttling of failed sign-ins, the session cookie's flags and
the security headers of every response."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import PASSWORD
from tests.web.conftest import login, settings, text
from web import create_app
from web.security import CONTENT_SECURITY_POLICY

OFF_SITE = [
    "/%09/evil.example",
    "//evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "https://evil.example/",
    "javascript:alert(1)",
    "/%0a/evil.example",
    "/ /evil.example",
    "http:/evil.example",
    "///evil.example",
]


def sign_in(app: Flask, query: str) -> str:
    response = app.test_client().post(f"/login?next={query}", data={"username": "sam", "password": PASSWORD})
    assert response.status_code == 302
    return response.headers["Location"]


@pytest.mark.parametrize("target", OFF_SITE)
def test_next_off_site_goes_to_the_home_page(app: Flask, target: str) -> None:
    assert sign_in(app, target) == "/"


def test_next_same_site_path_is_followed(app: Flask) -> None:
    assert sign_in(app, "/records/Lead%3Fq%3D1") == "/records/Lead?q=1"


def post_login(client: FlaskClient, password: str, *, lang: str = "en", address: str = "10.1.1.1") -> Any:
    return client.post(
        f"/login?lang={lang}", data={"username": "sam", "password": password}, environ_base={"REMOTE_ADDR": address}
    )


def test_five_failures_lock_the_user_with_a_message_in_the_users_language(
    app: Flask, db_url: str, deployed: Callable[[], Any]
) -> None:
    browser = app.test_client()
    for _ in range(5):
        assert post_login(browser, "wrong-password").status_code == 200
    locked = post_login(browser, PASSWORD)
    assert locked.status_code == 429
    assert 0 < int(locked.headers["Retry-After"]) <= 15 * 60
    assert "Too many failed sign-ins for user sam: try again in 15 min." in text(locked)
    # a second server process on the same database counts the same failures
    other = create_app(settings(db_url, UOW_FACTORY=deployed)).test_client()
    in_russian = post_login(other, PASSWORD, lang="ru", address="10.2.2.2")
    assert in_russian.status_code == 429
    assert "Слишком много неудачных попыток входа пользователя sam" in text(in_russian)


def test_failures_from_one_address_lock_that_address(app: Flask) -> None:
    browser = app.test_client()
    for number in range(20):
        browser.post(
            "/login",
            data={"username": f"guess{number % 5}", "password": "x" * 9},
            environ_base={"REMOTE_ADDR": "10.3.3.3"},
        )
    locked = browser.post(
        "/login", data={"username": "sam", "password": PASSWORD}, environ_base={"REMOTE_ADDR": "10.3.3.3"}
    )
    assert locked.status_code == 429
    assert "from your address 10.3.3.3" in text(locked)
    assert post_login(browser, PASSWORD, address="10.4.4.4").status_code == 302


def session_cookie(app: Flask) -> str:
    response = app.test_client().post("/login", data={"username": "sam", "password": PASSWORD})
    assert response.status_code == 302
    (cookie,) = [v for v in response.headers.getlist("Set-Cookie") if v.startswith("session=")]
    return cookie


@pytest.mark.parametrize(
    ("demo", "env", "secure"), [(False, None, True), (True, None, False), (False, "0", False), (True, "1", True)]
)
def test_session_cookie_is_secure_outside_demo_unless_turned_off(
    db_url: str,
    deployed: Callable[[], Any],
    actors: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    demo: bool,
    env: str | None,
    secure: bool,
) -> None:
    if env is None:
        monkeypatch.delenv("FLOWCRM_COOKIE_SECURE", raising=False)
    else:
        monkeypatch.setenv("FLOWCRM_COOKIE_SECURE", env)
    cookie = session_cookie(create_app(settings(db_url, UOW_FACTORY=deployed, DEMO=demo)))
    assert ("; Secure" in cookie) is secure
    assert "; HttpOnly" in cookie
    assert "; SameSite=Lax" in cookie


@pytest.mark.parametrize(
    "path", ["/login", "/", "/tasks", "/api/v1/openapi.json", "/api/v1/me", "/no-such-page", "/static/app.css"]
)
def test_every_response_carries_the_security_headers(app: Flask, path: str) -> None:
    browser = app.test_client()
    login(browser, "sam")
    response = browser.get(path)
    response.close()  # a static file is streamed from an open file
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "script-src 'self';" in CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
