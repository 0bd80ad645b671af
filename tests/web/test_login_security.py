"""Signing in: where `next=` may send the browser, throttling of failed sign-ins, the session cookie's flags and
the security headers of every response."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.conftest import PASSWORD

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
