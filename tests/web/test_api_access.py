"""Every REST API route × the roles that may not see another team's lead, and the auditor on every write route.

Nothing here is classified by hand: a route added later is covered the day it exists. A route naming a record, an
instance or a task is asked about sid's lead (tests/web/visibility.py) and must answer 403/404 (or 400 for the
empty request) without its data;
every GET route is searched for that data; every write route (any method but GET, less the filter queries that
only read) refuses an auditor with 403 before looking at the request.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from engine.services.segments import create_segment
from engine.services.users import issue_api_token
from tests.conftest import NOW
from tests.web.conftest import settings
from tests.web.visibility import BLIND, MARKER, READERS, hide_south_lead, is_record_bound, readable_text, role_database
from web import create_app
from web.security import READ_ONLY_ENDPOINTS


@dataclass
class ApiWorld:
    app: Flask
    tokens: dict[str, str]
    values: dict[str, Any]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[ApiWorld]:
    """One database: the shipped bundle, a user and a token per role, sid's lead, and sam's segment of leads."""
    url, make_uow, actors = role_database(tmp_path_factory.mktemp("api-access") / "api.sqlite", sqlite_template)
    segment = create_segment(make_uow(), actors["sales"], "Lead", "All leads", {"entity": "Lead"}, NOW)
    values = {
        "entity": "Lead",
        "name": "lead_conversion_by_channel",
        "username": "sue",
        "segment_id": segment.id,
        **hide_south_lead(make_uow, actors),
    }
    tokens = {key: issue_api_token(make_uow(), actor, NOW) for key, actor in actors.items()}
    yield ApiWorld(create_app(settings(url, UOW_FACTORY=make_uow)), tokens, values)
    make_uow.dispose()


def api_routes() -> list[tuple[str, str, str]]:
    """(method, rule, endpoint) of every API route but the public OpenAPI document."""
    app = create_app(settings("sqlite://"))
    return sorted(
        (method, rule.rule, rule.endpoint)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/") and rule.endpoint != "api.openapi"
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    )


ROUTES = api_routes()
WRITES = [(m, r) for m, r, endpoint in ROUTES if m != "GET" and endpoint not in READ_ONLY_ENDPOINTS]


def fill(rule: str, values: dict[str, Any]) -> str:
    """The rule with the world's values; a placeholder the world does not know gets a number nobody has."""
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values.get(m.group(1), 999999)), rule)


def call(world: ApiWorld, role: str, method: str, rule: str) -> Any:
    """One role's request of a route, with an empty JSON object as body for writes."""
    body = {} if method != "GET" else None
    return world.app.test_client().open(
        fill(rule, world.values), method=method, json=body, headers={"Authorization": f"Bearer {world.tokens[role]}"}
    )


def test_the_api_has_write_routes_and_record_bound_routes_to_check() -> None:
    assert len(WRITES) > 20
    assert ("GET", "/api/v1/instances/<int:instance_id>") in [(m, r) for m, r, _ in ROUTES if is_record_bound(r)]


@pytest.mark.parametrize(("method", "rule"), WRITES)
def test_auditor_token_is_refused_every_write_route(world: ApiWorld, method: str, rule: str) -> None:
    response = call(world, "auditor", method, rule)
    assert response.status_code == 403, response.get_json()


@pytest.mark.parametrize("role", BLIND)
@pytest.mark.parametrize(("method", "rule"), [(m, r) for m, r, _ in ROUTES if is_record_bound(r)])
def test_route_about_another_teams_record_answers_not_found_without_its_data(
    world: ApiWorld, method: str, rule: str, role: str
) -> None:
    response = call(world, role, method, rule)
    # 400: the (empty) request was refused before any record was looked up, as it is for an unknown id
    assert response.status_code in (400, 403, 404), response.get_json()
    assert MARKER not in readable_text(response.get_data())


@pytest.mark.parametrize("role", BLIND)
@pytest.mark.parametrize("rule", [r for m, r, _ in ROUTES if m == "GET"])
def test_get_route_shows_no_data_of_records_the_role_may_not_see(world: ApiWorld, rule: str, role: str) -> None:
    assert MARKER not in readable_text(call(world, role, "GET", rule).get_data())


@pytest.mark.parametrize("role", READERS)
@pytest.mark.parametrize(
    "rule", ["/api/v1/instances/<int:instance_id>", "/api/v1/records/<int:record_id>", "/api/v1/tasks/<task_id>"]
)
def test_readers_of_everything_see_the_other_teams_data(world: ApiWorld, rule: str, role: str) -> None:
    """The marker is really there: the visibility tests above would pass vacuously otherwise."""
    response = call(world, role, "GET", rule)
    assert response.status_code == 200
    assert MARKER in readable_text(response.get_data())
