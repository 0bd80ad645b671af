"""Every HTML route × every role: the status each one gets. A new route fails here until it is classified.

The requests are chosen so that none changes the database (a claim of an already claimed task, an edit with a
stale revision, empty forms), which lets one database serve the whole module.

Beside the classified statuses: every route naming a record, an instance or a task is asked again about another
team's lead (tests/web/visibility.py) by each role that may not see it, every page is searched for that lead's
data, and auditors must get 403 on every write route.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from engine.services.records import create_record
from engine.services.tasks import claim_task, list_tasks
from tests.conftest import NOW
from tests.web.conftest import settings
from tests.web.matrix_parts import LOGIN, ROLES, row
from tests.web.visibility import BLIND, MARKER, READERS, hide_south_lead, is_record_bound, readable_text, role_database
from web import create_app

# (method, rule) → expected status per role. T1 is a pooled task of lead L1; T2 is claimed by sue (lead L2).
MATRIX: dict[tuple[str, str], dict[str, int | str]] = {
    ("GET", "/"): row(LOGIN, 302, 302, 302, 302, 302),
    ("GET", "/login"): row(200, 200, 200, 200, 200, 200),
    ("POST", "/login"): row(200, 200, 200, 200, 200, 200),  # empty form: "unknown user" message
    ("POST", "/logout"): row(LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN),
    ("GET", "/profile"): row(LOGIN, 200, 200, 200, 200, 200),
    ("POST", "/profile"): row(LOGIN, 422, 422, 422, 422, 422),  # empty form: no language chosen
    ("GET", "/tasks"): row(LOGIN, 200, 200, 200, 200, 200),
    ("GET", "/tasks/<task_id>"): row(LOGIN, 200, 200, 404, 200, 200),
    ("POST", "/tasks/<task_id>/claim"): row(LOGIN, 409, 409, 403, 403, 403),  # T2, already claimed by sue
    ("POST", "/tasks/<task_id>/unclaim"): row(LOGIN, 409, 409, 403, 403, 403),  # T1, claimed by nobody
    ("POST", "/tasks/<task_id>/complete"): row(LOGIN, 422, 422, 404, 403, 403),  # T1, empty form
    ("GET", "/records/<entity>"): row(LOGIN, 200, 200, 403, 200, 200),
    ("POST", "/records/<entity>/columns"): row(LOGIN, 302, 302, 403, 302, 302),  # a view setting: auditors too
    ("GET", "/records/<entity>/new"): row(LOGIN, 200, 200, 403, 200, 403),
    ("POST", "/records/<entity>/new"): row(LOGIN, 422, 422, 403, 422, 403),  # empty form
    ("GET", "/records/<int:record_id>"): row(LOGIN, 200, 200, 404, 200, 200),
    ("POST", "/records/<int:record_id>"): row(LOGIN, 409, 409, 403, 409, 403),  # stale revision
    ("POST", "/records/<int:record_id>/links"): row(LOGIN, 422, 422, 404, 422, 403),  # no record number
    ("POST", "/records/<int:record_id>/links/<int:link_id>/delete"): row(LOGIN, 404, 404, 403, 404, 403),  # no link
    ("POST", "/records/<int:record_id>/reminders"): row(LOGIN, 422, 422, 404, 422, 403),  # no time given
    ("POST", "/records/<int:record_id>/reminders/<int:reminder_id>/delete"): row(LOGIN, 404, 404, 404, 404, 403),
    ("GET", "/instances/<int:instance_id>"): row(LOGIN, 200, 200, 404, 200, 200),  # designers: not the record's data
    ("GET", "/instances/<int:instance_id>/diagram.json"): row(LOGIN, 200, 200, 404, 200, 200),
    ("GET", "/designer"): row(LOGIN, 403, 200, 200, 200, 200),
    ("POST", "/designer"): row(LOGIN, 403, 403, 422, 422, 403),  # no files
    ("GET", "/designer/versions/<int:version_id>"): row(LOGIN, 403, 200, 200, 200, 200),
    ("GET", "/designer/versions/<int:version_id>.bpmn"): row(LOGIN, 403, 200, 200, 200, 200),
    ("GET", "/designer/versions/<int:version_id>/diagram.json"): row(LOGIN, 403, 200, 200, 200, 200),
    ("GET", "/admin/users"): row(LOGIN, 403, 403, 403, 200, 403),
    ("GET", "/admin/schema"): row(LOGIN, 403, 200, 200, 200, 200),
    ("POST", "/admin/users"): row(LOGIN, 403, 403, 403, 422, 403),  # empty form
    ("POST", "/tasks/reassign"): row(LOGIN, 403, 422, 403, 422, 403),  # no task ticked
    ("GET", "/admin/users/<username>/redistribute"): row(LOGIN, 403, 200, 403, 200, 403),  # sue, hank's team
    ("POST", "/admin/users/<username>/redistribute"): row(LOGIN, 403, 422, 403, 422, 403),  # not confirmed
}

# Feature areas classify their routes in tests/web/matrix_parts/<name>.py: ROWS (as MATRIX), optional FORMS,
# and optional prepare(make_uow, actors) -> {placeholder: value} run once on the module's database.
PARTS = [importlib.import_module(f"tests.web.matrix_parts.{m.name}")
         for m in pkgutil.iter_modules([str(Path(__file__).parent / "matrix_parts")])]
for _part in PARTS:
    assert not set(_part.ROWS) & set(MATRIX), f"{_part.__name__} classifies a route twice"
    MATRIX.update(_part.ROWS)


@dataclass
class World:
    app: Flask
    user_ids: dict[str, int]
    values: dict[str, Any]
    hidden: dict[str, Any]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[World]:
    """One database for the module: the shipped bundle, a user per role, lead L1 (pooled) and L2 (claimed)."""
    url, make_uow, actors = role_database(tmp_path_factory.mktemp("matrix") / "matrix.sqlite", sqlite_template)
    lead1 = create_record(make_uow(), actors["head"], "Lead", {"title": "L1"}, NOW)
    (t1,) = list_tasks(make_uow(), actors["sales"], "pool")
    create_record(make_uow(), actors["head"], "Lead", {"title": "L2"}, NOW)
    (t2,) = [t for t in list_tasks(make_uow(), actors["sales"], "pool") if t.id != t1.id]
    claim_task(make_uow(), actors["sales2"], t2.id, NOW)
    values = {"task_id": t1.id, "claimed_task_id": t2.id, "entity": "Lead", "record_id": lead1.id,
              "instance_id": t1.instance_id, "link_id": 999999, "reminder_id": 999999, "version_id": 1,
              "username": "sue"}
    for part in PARTS:
        if hasattr(part, "prepare"):
            values |= part.prepare(make_uow, actors)
    hidden = hide_south_lead(make_uow, actors)
    yield World(create_app(settings(url, UOW_FACTORY=make_uow)), {k: a.id for k, a in actors.items() if a.id},
                values, hidden)
    make_uow.dispose()


def html_rules(app: Flask) -> set[tuple[str, str]]:
    """(method, rule) of every route except static files and the token APIs (/api and the Camunda-compatible
    /engine-rest, where a browser session never counts: tests/web/test_api_access.py, test_external_tasks_api.py)."""
    return {(method, rule.rule) for rule in app.url_map.iter_rules()
            if rule.endpoint != "static" and not rule.rule.startswith(("/api", "/engine-rest"))
            for method in sorted(rule.methods or ()) if method not in ("HEAD", "OPTIONS")}


def test_every_html_route_is_in_the_matrix(world: World) -> None:
    assert html_rules(world.app) - set(MATRIX) == set(), "classify the new route in MATRIX"
    assert set(MATRIX) - html_rules(world.app) == set(), "MATRIX lists a route that no longer exists"


def url_for_rule(rule: str, world: World, *, hidden: bool = False) -> str:
    """The rule with the world's ids filled in (the claim goes to T2, which sue already holds); `hidden`: the ids
    of another team's lead, its instance and its task instead."""
    values = {**world.values, **world.hidden} if hidden else world.values
    values = {**values, "task_id": values["claimed_task_id"]} if rule.endswith("/claim") else values
    path = rule
    for name, value in values.items():
        path = path.replace(f"<{name}>", str(value)).replace(f"<int:{name}>", str(value))
    return path


FORMS: dict[tuple[str, str], dict[str, str]] = {
    ("POST", "/records/<int:record_id>"): {"expected_revision": "0", "title": "changed"},
}
for _part in PARTS:
    FORMS.update(getattr(_part, "FORMS", {}))


def ask(world: World, role: str, method: str, rule: str, *, hidden: bool = False) -> Any:
    """The response to one role's request of a route (with its classified form data)."""
    browser = world.app.test_client()
    if role != "anonymous":
        with browser.session_transaction() as session:
            session["user_id"] = world.user_ids[role]
    return browser.open(url_for_rule(rule, world, hidden=hidden), method=method, data=FORMS.get((method, rule), {}))


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "rule"), sorted(MATRIX))
def test_route_answers_each_role_as_classified(world: World, method: str, rule: str, role: str) -> None:
    response = ask(world, role, method, rule)
    expected = MATRIX[(method, rule)][role]
    if expected == LOGIN:
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")
    else:
        assert response.status_code == expected, response.get_data(as_text=True)[:2000]
        if expected == 302:
            assert not response.headers["Location"].startswith("/login")


# write methods that change no data (choosing one's list columns is a view setting of the user's own; the
# profile holds only the user's own language and time zone)
READ_ONLY_WRITES = {("POST", "/login"), ("POST", "/logout"), ("POST", "/records/<entity>/columns"),
                    ("POST", "/profile")}


def test_auditors_are_refused_every_write_route() -> None:
    writes = {key: statuses["auditor"] for key, statuses in MATRIX.items() if key[0] != "GET"}
    assert {key: status for key, status in writes.items() if key not in READ_ONLY_WRITES and status != 403} == {}


@pytest.mark.parametrize("role", BLIND)
@pytest.mark.parametrize(("method", "rule"), sorted(key for key in MATRIX if is_record_bound(key[1])))
def test_route_about_another_teams_record_answers_not_found_without_its_data(world: World, method: str, rule: str,
                                                                            role: str) -> None:
    response = ask(world, role, method, rule, hidden=True)
    assert response.status_code in (403, 404), response.get_data(as_text=True)[:2000]
    assert MARKER not in readable_text(response.get_data())


@pytest.mark.parametrize("role", BLIND)
@pytest.mark.parametrize("rule", sorted(rule for method, rule in MATRIX if method == "GET"))
def test_page_shows_no_data_of_records_the_role_may_not_see(world: World, rule: str, role: str) -> None:
    for hidden in (False, True) if is_record_bound(rule) else (False,):
        assert MARKER not in readable_text(ask(world, role, "GET", rule, hidden=hidden).get_data())


@pytest.mark.parametrize("role", READERS)
@pytest.mark.parametrize("rule", ["/instances/<int:instance_id>", "/records/<int:record_id>",
                                  "/tasks/<task_id>", "/audit/export.xlsx"])
def test_readers_of_everything_see_the_other_teams_data(world: World, rule: str, role: str) -> None:
    """The marker is really there: the visibility tests above would pass vacuously otherwise."""
    response = ask(world, role, "GET", rule, hidden=True)
    assert response.status_code == 200
    assert MARKER in readable_text(response.get_data())
