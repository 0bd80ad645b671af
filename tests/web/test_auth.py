"""Logging in and out, the login page in and out of demo mode, CSRF."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask

import web
from tests.web.conftest import login, settings, text
from web import create_app


def test_anonymous_visitor_is_sent_to_login_and_back(client):
    response = client.get("/records/Lead?page=1")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/records/Lead?page%3D1"
    response = client.post(response.headers["Location"], data={"username": "hank", "password": "correct-horse-1"})
    assert response.headers["Location"] == "/records/Lead?page=1"


def test_login_and_logout(client):
    login(client, "sam")
    page = client.get("/tasks")
    assert page.status_code == 200
    assert "sam" in text(page)
    assert "Sign out" in text(page)
    response = client.post("/logout")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert "You have signed out" in text(client.get("/login"))
    assert client.get("/tasks").status_code == 302


def test_bad_login_shows_a_message_and_does_not_sign_in(client):
    response = client.post("/login", data={"username": "sam", "password": "wrong-password"})
    assert response.status_code == 200
    assert "Unknown user or wrong password" in text(response)
    assert 'value="sam"' in response.get_data(as_text=True)  # the username is kept
    assert client.get("/tasks").status_code == 302


def test_login_does_not_redirect_off_site(client):
    response = client.post("/login?next=//evil.example/x", data={"username": "sam", "password": "correct-horse-1"})
    assert response.headers["Location"] == "/"


def test_login_starts_a_fresh_session(client):
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
        session["lang"] = "ru"
    login(client, "sam")
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["lang"] == "ru"  # the chosen language survives
        assert isinstance(session["user_id"], int)


def test_logout_needs_post(client):
    login(client, "sam")
    assert client.get("/logout").status_code == 405
    assert client.get("/tasks").status_code == 200


def test_login_page_lists_no_demo_users_outside_demo_mode(client):
    assert "demo-sales-1" not in client.get("/login").get_data(as_text=True)


def test_demo_mode_lists_demo_logins_from_the_seed(db_url, deployed):
    app = create_app(settings(db_url, DEMO=True, UOW_FACTORY=deployed))
    page = text(app.test_client().get("/login"))
    assert "Demo logins" in page
    assert "anna" in page
    assert "demo-sales-1" in page
    assert "Head of sales" in page


@pytest.fixture
def csrf_app(db_url, deployed, actors) -> Flask:
    return create_app(settings(db_url, WTF_CSRF_ENABLED=True, UOW_FACTORY=deployed))


def test_post_without_csrf_token_is_rejected(csrf_app):
    browser = csrf_app.test_client()
    response = browser.post("/login", data={"username": "sam", "password": "correct-horse-1"})
    assert response.status_code == 400
    assert "CSRF" in text(response)


def test_post_with_csrf_token_from_the_form_is_accepted(csrf_app):
    browser = csrf_app.test_client()
    page = browser.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = browser.post("/login", data={"username": "sam", "password": "correct-horse-1", "csrf_token": token})
    assert response.status_code == 302
    tasks = browser.get("/tasks").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', tasks).group(1)
    assert browser.post("/logout").status_code == 400
    assert browser.post("/logout", data={"csrf_token": token}).status_code == 302


def test_every_post_form_in_the_templates_carries_a_csrf_token():
    templates = Path(web.__file__).parent / "templates"
    for path in templates.rglob("*.html"):
        forms = re.findall(r'<form[^>]*method="post".*?</form>', path.read_text(encoding="utf-8"), re.S)
        # the token is the call itself or a hidden csrf_token field (a long list computes it once per page)
        assert all("csrf_token()" in form or 'name="csrf_token"' in form for form in forms), path
