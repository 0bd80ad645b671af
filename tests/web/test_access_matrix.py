"""Every HTML route × every role: the status each one gets. A new route fails here until it is classified.

The requests are chosen so that none changes the database (a claim of an already claimed task, an edit with a
stale revision, empty forms), which lets one database serve the whole module.
"""

from __future__ import annotations

import importlib
import pkgutil
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from engine.bootstrap import uow_factory
from engine.config.loader import read_bundle_dir
from engine.services.deployments import deploy_bundle
from engine.services.records import create_record
from engine.services.tasks import claim_task, list_tasks
from engine.services.users import create_user, get_actor
from engine.services.views import Actor
from tests.conftest import NOW, PASSWORD, ROLE_USERS, ROOT
from tests.web.conftest import settings
from tests.web.matrix_parts import LOGIN, ROLES, row
from web import create_app

# (method, rule) → expected status per role. T1 is a pooled task of lead L1; T2 is claimed by sue (lead L2).
MATRIX: dict[tuple[str, str], dict[str, int | str]] = {
    ("GET", "/"): row(LOGIN, 302, 302, 302, 302, 302),
    ("GET", "/login"): row(200, 200, 200, 200, 200, 200),
    ("POST", "/login"): row(200, 200, 200, 200, 200, 200),  # empty form: "unknown user" message
    ("POST", "/logout"): row(LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN),
    ("GET", "/tasks"): row(LOGIN, 200, 200, 200, 200, 200),
    ("GET", "/tasks/<task_id>"): row(LOGIN, 200, 200, 404, 200, 200),
    ("POST", "/tasks/<task_id>/claim"): row(LOGIN, 409, 409, 403, 403, 403),  # T2, already claimed by sue
    ("POST", "/tasks/<task_id>/unclaim"): row(LOGIN, 409, 409, 403, 403, 403),  # T1, claimed by nobody
    ("POST", "/tasks/<task_id>/complete"): row(LOGIN, 422, 422, 404, 403, 403),  # T1, empty form
    ("GET", "/records/<entity>"): row(LOGIN, 200, 200, 403, 200, 200),
    ("GET", "/records/<entity>/new"): row(LOGIN, 200, 200, 403, 200, 403),
    ("POST", "/records/<entity>/new"): row(LOGIN, 422, 422, 403, 422, 403),  # empty form
    ("GET", "/records/<int:record_id>"): row(LOGIN, 200, 200, 404, 200, 200),
    ("POST", "/records/<int:record_id>"): row(LOGIN, 409, 409, 403, 409, 403),  # stale revision
    ("POST", "/records/<int:record_id>/links"): row(LOGIN, 422, 422, 404, 422, 403),  # no record number
    ("POST", "/records/<int:record_id>/links/<int:link_id>/delete"): row(LOGIN, 404, 404, 403, 404, 403),  # no link
    ("POST", "/records/<int:record_id>/reminders"): row(LOGIN, 422, 422, 404, 422, 422),  # no time given
    ("POST", "/records/<int:record_id>/reminders/<int:reminder_id>/delete"): row(LOGIN, 404, 404, 404, 404, 404),
    ("GET", "/instances/<int:instance_id>"): row(LOGIN, 200, 200, 200, 200, 200),
    ("GET", "/instances/<int:instance_id>/diagram.json"): row(LOGIN, 200, 200, 200, 200, 200),
    ("GET", "/designer"): row(LOGIN, 403, 200, 200, 200, 200),
    ("POST", "/designer"): row(LOGIN, 403, 403, 422, 422, 403),  # no files
    ("GET", "/designer/versions/<int:version_id>"): row(LOGIN, 403, 200, 200, 200, 200),
    ("GET", "/designer/versions/<int:version_id>.bpmn"): row(LOGIN, 403, 200, 200, 200, 200),
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


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[World]:
    """One database for the module: the shipped bundle, a user per role, lead L1 (pooled) and L2 (claimed)."""
    path = tmp_path_factory.mktemp("matrix") / "matrix.sqlite"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    make_uow = uow_factory(url)
    deploy_bundle(make_uow(), Actor(None, "setup", "setup", frozenset({"designer"})), read_bundle_dir(ROOT), NOW)
    actors = {key: get_actor(make_uow(), create_user(make_uow(), name, PASSWORD, roles, NOW, team=team).id)
              for key, (name, roles, team) in ROLE_USERS.items()}
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
    yield World(create_app(settings(url, UOW_FACTORY=make_uow)), {k: a.id for k, a in actors.items() if a.id},
                values)
    make_uow.dispose()


def html_rules(app: Flask) -> set[tuple[str, str]]:
    """(method, rule) of every route except static files and the REST API."""
    return {(method, rule.rule) for rule in app.url_map.iter_rules()
            if rule.endpoint != "static" and not rule.rule.startswith("/api")
            for method in sorted(rule.methods or ()) if method not in ("HEAD", "OPTIONS")}


def test_every_html_route_is_in_the_matrix(world: World) -> None:
    assert html_rules(world.app) - set(MATRIX) == set(), "classify the new route in MATRIX"
    assert set(MATRIX) - html_rules(world.app) == set(), "MATRIX lists a route that no longer exists"


def url_for_rule(rule: str, world: World) -> str:
    """The rule with the world's ids filled in (the claim goes to T2, which sue already holds)."""
    values = {**world.values, "task_id": world.values["claimed_task_id"]} if rule.endswith("/claim") \
        else world.values
    path = rule
    for name, value in values.items():
        path = path.replace(f"<{name}>", str(value)).replace(f"<int:{name}>", str(value))
    return path


FORMS: dict[tuple[str, str], dict[str, str]] = {
    ("POST", "/records/<int:record_id>"): {"expected_revision": "0", "title": "changed"},
}
for _part in PARTS:
    FORMS.update(getattr(_part, "FORMS", {}))


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "rule"), sorted(MATRIX))
def test_route_answers_each_role_as_classified(world: World, method: str, rule: str, role: str) -> None:
    browser = world.app.test_client()
    if role != "anonymous":
        with browser.session_transaction() as session:
            session["user_id"] = world.user_ids[role]
    response = browser.open(url_for_rule(rule, world), method=method,
                            data=FORMS.get((method, rule), {}))
    expected = MATRIX[(method, rule)][role]
    if expected == LOGIN:
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")
    else:
        assert response.status_code == expected, response.get_data(as_text=True)[:2000]
        if expected == 302:
            assert not response.headers["Location"].startswith("/login")
