"""Input at the edge: texts and numbers the stores cannot keep, huge ids, oversized and deeply nested JSON are
4xx naming the field or parameter, never a 500, and change nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from engine.errors import NotFound
from engine.services.segments import find_segment
from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.web.api_client import ApiUser, create_lead, snapshot
from tests.web.conftest import as_user

BIG_IDS = [2**31, 2**63 - 1, 2**63, 10**30]


def test_ids_beyond_the_id_columns_in_paths_are_404(api: dict[str, ApiUser]) -> None:
    for path in [
        "/records/{}",
        "/records/{}/history",
        "/instances/{}",
        "/segments/{}",
        "/duplicates/{}",
        "/records/{}/as-of",
    ]:
        for big in BIG_IDS:
            response = api["admin"].send("GET", path.format(big))
            assert response.status_code == 404, (path, big, response.get_json())
            assert response.get_json()["error"] == "Not Found"
    response = api["admin"].send("PATCH", f"/records/{2**63}", {"changes": {"title": "t"}})
    assert response.status_code == 404  # an id, only too large: not another route's 405
    assert api["admin"].send("PATCH", "/records/-5", {"changes": {"title": "t"}}).status_code == 404
    assert api["designer"].send("GET", "/records/-5").status_code == 404  # not the list of an entity "-5" (403)
    assert api["designer"].send("GET", "/records/null").status_code == 404  # no such entity, whoever asks
    assert api["designer"].send("GET", "/records/Lead").status_code == 403


def test_ids_beyond_the_id_columns_in_html_paths_are_404(app: Flask) -> None:
    browser = as_user(app, "ada")
    for big in BIG_IDS:
        assert browser.get(f"/records/{big}").status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/instances", {"process_id": "lead_qualification", "record_id": 2**31}, "record_id"),
        ("POST", "/records/{lead}/links", {"to_record_id": 2**40, "kind": "related"}, "to_record_id"),
        ("POST", "/records/reassign", {"record_ids": [1, 2**31], "to": "sam"}, "record_ids[1]"),
        ("POST", "/records/Lead", {"title": "t", "contact": 2**31}, "contact"),
        ("PATCH", "/records/{lead}", {"changes": {"contact": 2**31}}, "contact"),
        ("PATCH", "/records/{lead}", {"changes": {"title": "t"}, "expected_revision": 2**64}, "expected_revision"),
        ("POST", "/records/Lead", {"title": "t", "budget": 10**70}, "budget"),
        ("POST", "/records/Lead", {"title": "t", "budget": "1" * 39}, "budget"),
    ],
)
def test_numbers_beyond_what_the_stores_hold_in_bodies_are_422_naming_the_field(
    api: dict[str, ApiUser], deployed: Callable[[], UnitOfWork], method: str, path: str, body: Any, field: str
) -> None:
    lead = create_lead(api["admin"], "Edge lead")
    before = snapshot(deployed)
    response = api["admin"].send(method, path.format(lead=lead["id"]), body)
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["fields"], response.get_json()
    assert snapshot(deployed) == before


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Acme\u0000Ltd", "contains a NUL character at position 5"),
        ("Acme \ud83d", "contains a lone surrogate U+D83D at position 6"),
    ],
)
@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/records/Lead", {"title": "TEXT"}, "title"),
        ("PATCH", "/records/{lead}", {"changes": {"company": "TEXT"}}, "changes.company"),
        ("POST", "/instances", {"process_id": "TEXT"}, "process_id"),
        ("POST", "/events/web_inquiry", {"data": {"TEXT": 1}}, "data"),
        (
            "POST",
            "/find",
            {"entity": "Lead", "filter": {"field": "title", "op": "eq", "value": "TEXT"}},
            "filter.value",
        ),
    ],
)
def test_nul_and_lone_surrogates_in_json_bodies_are_422_naming_the_path(
    api: dict[str, ApiUser],
    deployed: Callable[[], UnitOfWork],
    method: str,
    path: str,
    body: Any,
    field: str,
    text: str,
    message: str,
) -> None:
    lead = create_lead(api["admin"], "Edge lead")
    before = snapshot(deployed)
    raw = json.dumps(body).replace("TEXT", json.dumps(text)[1:-1])  # escaped: \u0000, \ud83d
    response = api["admin"].raw(method, path.format(lead=lead["id"]), raw, "application/json")
    assert response.status_code == 422, response.get_json()
    fields = response.get_json()["fields"]
    assert any(field in key and any(message in m for m in messages) for key, messages in fields.items()), fields
    assert snapshot(deployed) == before


def test_nul_in_a_query_parameter_is_400_naming_it(api: dict[str, ApiUser]) -> None:
    response = api["admin"].get("/tasks", scope="mine\u0000")
    assert response.status_code == 400
    assert "query parameter 'scope' contains a NUL character" in response.get_json()["message"]


def test_nul_in_a_path_is_404(api: dict[str, ApiUser]) -> None:
    assert api["admin"].get("/tasks/abc%00def").status_code == 404


@pytest.mark.parametrize("offset", [2**63, 10**30])
def test_paging_beyond_64_bits_is_400(api: dict[str, ApiUser], offset: int) -> None:
    response = api["admin"].get("/records/Lead", offset=offset)
    assert response.status_code == 400
    assert "'offset' must be between 0 and 9223372036854775807" in response.get_json()["message"]


def test_json_nested_100000_deep_is_400_not_a_crash(api: dict[str, ApiUser]) -> None:
    response = api["admin"].raw("POST", "/records/Lead", "[" * 100_000 + "]" * 100_000, "application/json")
    assert response.status_code == 400
    assert "nested deeper than 64 levels" in response.get_json()["message"]


def test_nesting_inside_strings_does_not_count(api: dict[str, ApiUser]) -> None:
    response = api["admin"].send("POST", "/records/Lead", {"title": "t", "description": "[" * 500 + "{" * 500})
    assert response.status_code == 201, response.get_json()


def test_json_body_over_two_mebibytes_is_413(api: dict[str, ApiUser]) -> None:
    response = api["admin"].send("POST", "/records/Lead", {"title": "t", "description": "x" * (3 * 1024 * 1024)})
    assert response.status_code == 413
    assert "at most 2097152" in response.get_json()["message"]


def test_html_form_with_nul_is_refused_naming_the_field(app: Flask, deployed: Callable[[], UnitOfWork]) -> None:
    browser = as_user(app, "hank")
    before = snapshot(deployed)
    response = browser.post("/records/Lead/new", data={"title": "Acme\u0000"})
    assert response.status_code == 422
    assert "title" in response.get_data(as_text=True)
    assert snapshot(deployed) == before


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("entity: Lead\nlabel: {en: 'Le\u0007ad'}\n", 2, "control character U+0007 at column 16"),
        ("entity: Lead\nlabel: " + "[" * 10_000, 2, "nested deeper than 64 levels"),
    ],
)
def test_deployed_yaml_with_control_characters_or_deep_nesting_is_422_naming_file_and_line(
    api: dict[str, ApiUser], text: str, line: int, message: str
) -> None:
    response = api["admin"].send("POST", "/deployments", {"files": {"crm_model/entities/lead.yaml": text}})
    assert response.status_code == 422, response.get_json()
    problems = response.get_json()["problems"]
    assert any(
        p["file"] == "crm_model/entities/lead.yaml" and p["line"] == line and message in p["message"] for p in problems
    ), problems


@pytest.mark.parametrize("cursor", ["99999999999999999999.1.1", "1.1.99999999999999999999"])
def test_audit_cursor_beyond_any_moment_or_id_is_400_naming_after(api: dict[str, ApiUser], cursor: str) -> None:
    response = api["admin"].get("/audit", after=cursor)
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["message"] == f"bad query parameter: after: {cursor!r} is not a cursor of this log"


def test_segment_named_by_digits_beyond_any_id_is_not_found(
    deployed: Callable[[], UnitOfWork], actors: dict[str, Actor]
) -> None:
    with pytest.raises(NotFound, match="no segment named '99999999999999999999'"):
        find_segment(deployed(), actors["admin"], "99999999999999999999")


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:01+01:00", "9999-12-31T23:59:59-01:00"])
def test_a_moment_outside_the_years_1_to_9999_in_utc_is_400_naming_it(api: dict[str, ApiUser], moment: str) -> None:
    lead = create_lead(api["admin"], "Edge lead")
    response = api["admin"].get(f"/records/{lead['id']}/as-of", at=moment)
    assert response.status_code == 400, response.get_json()
    assert (
        response.get_json()["message"] == f"bad query parameter: at: {moment!r} is outside the years 1 to 9999 in UTC"
    )


def test_html_pages_beyond_any_offset_are_400_and_a_huge_segment_id_is_ignored(app: Flask) -> None:
    browser = as_user(app, "ada")
    # entity lists and the inbox page by ?after= (tests/web/test_lists.py, tests/web/test_inbox_pages.py)
    for path in ["/duplicates", "/find/Lead"]:
        response = browser.get(f"{path}?page=99999999999999999999")
        assert response.status_code == 400, path
        assert "query parameter &#39;page&#39; must be at most 1000000" in response.get_data(as_text=True), path
        assert browser.get(f"{path}?page=2").status_code == 200, path
    assert browser.get("/find/Lead?segment=99999999999999999999").status_code == 200


def test_an_inbox_offset_beyond_a_32_bit_integer_is_an_empty_page_not_a_server_error(
        api: dict[str, ApiUser]) -> None:
    response = api["head"].get("/tasks", scope="team", offset=32593674158, limit=300)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["items"] == []
