"""Reassignment in the browser (Team tab, admin users page) and over the REST API."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from flask import Flask

from engine.bootstrap import uow_factory
from engine.services.users import issue_api_token
from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.conftest import NOW
from tests.integration.test_assignment import assignees, events, new_inquiry, open_tasks, setup
from tests.web.api_client import ApiUser, snapshot
from tests.web.conftest import as_user, settings, text
from tests.web.test_openapi import Conformance
from web import create_app

MakeUow = Callable[[], UnitOfWork]


World = tuple[MakeUow, dict[str, Actor], str]


@pytest.fixture
def world(db_url: str) -> Iterator[World]:
    """The routing test bundle, the north team (nick, nora, ned, head hugo), south (sid, saul), admin ada;
    four north inquiries assigned round-robin: one task each."""
    make_uow = uow_factory(db_url)
    people = setup(make_uow, "round_robin")
    for _ in range(4):
        new_inquiry(make_uow, people["hugo"])
    yield make_uow, people, db_url
    make_uow.dispose()


def make(world: World, **extra: object) -> Flask:
    return create_app(settings(world[2], UOW_FACTORY=world[0], **extra))


def test_team_tab_reassigns_the_ticked_tasks_to_the_chosen_member(world: World) -> None:
    make_uow, _, _ = world
    browser = as_user(make(world), "hugo")
    page = browser.get("/tasks?tab=team").get_data(as_text=True)
    ticks = re.findall(r'name="task_ids" value="([^"]+)" form="reassign-form"', page)
    assert len(ticks) == 4
    chooser = page[page.index('id="reassign-to"'):]  # the page's other selects are the column filters
    assert re.findall(r'<option value="(\w+)">', chooser) == ["hugo", "ned", "nick", "nora"]
    mine = {i for i, _, who in open_tasks(make_uow) if who in ("nick", "ned")}
    response = browser.post("/tasks/reassign", data={"task_ids": sorted(mine), "to": "nora"})
    assert response.status_code == 302
    assert assignees(make_uow) == {"nora": 3, "hugo": 1}
    assert "2 task(s) reassigned to nora" in text(browser.get("/tasks?tab=team"))


def test_a_bad_selection_moves_nothing_and_says_why(world: World) -> None:
    make_uow, _, _ = world
    browser = as_user(make(world), "hugo")
    task_ids = [i for i, _, _ in open_tasks(make_uow)]
    before = assignees(make_uow)
    response = browser.post("/tasks/reassign", data={"task_ids": [*task_ids, "gone"], "to": "nora"})
    assert response.status_code == 422
    assert "gone" in text(response)
    response = browser.post("/tasks/reassign", data={"task_ids": task_ids, "to": "sid"})
    assert response.status_code == 422
    assert "not in your team" in text(response)
    assert assignees(make_uow) == before
    assert as_user(make(world), "nick").post("/tasks/reassign", data={"task_ids": task_ids,
                                                                       "to": "nora"}).status_code == 403


def test_reassigning_needs_the_csrf_token(world: World) -> None:
    make_uow, _, _ = world
    app = make(world, WTF_CSRF_ENABLED=True)
    browser = app.test_client()
    login_page = browser.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', login_page)
    assert token is not None
    browser.post("/login", data={"username": "hugo", "password": "correct-horse-1", "csrf_token": token.group(1)})
    task_ids = [i for i, _, _ in open_tasks(make_uow)]
    assert browser.post("/tasks/reassign", data={"task_ids": task_ids, "to": "nora"}).status_code == 400
    page = browser.get("/tasks?tab=team").get_data(as_text=True)
    token = re.search(r'id="reassign-form"[^>]*>\s*<input type="hidden" name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    response = browser.post("/tasks/reassign", data={"task_ids": task_ids, "to": "nora",
                                                     "csrf_token": token.group(1)})
    assert response.status_code == 302
    assert assignees(make_uow) == {"nora": 4}


def test_admin_deactivates_and_redistributes_after_confirming(world: World) -> None:
    make_uow, _, _ = world
    browser = as_user(make(world), "ada")
    assert "/admin/users/ned/redistribute" in browser.get("/admin/users").get_data(as_text=True)
    page = text(browser.get("/admin/users/ned/redistribute"))
    assert "Open tasks 1" in page
    assert "Taken over by nick, nora, hugo" in page
    assert browser.post("/admin/users/ned/redistribute", data={}).status_code == 422
    assert "ned" in assignees(make_uow)
    response = browser.post("/admin/users/ned/redistribute", data={"confirm": "ned"})
    assert response.status_code == 302
    assert "ned" not in assignees(make_uow)
    assert "ned was deactivated: 1 task(s)" in text(browser.get("/admin/users"))
    assert events(make_uow, "reassigned")[0]["from"] == "ned"
    with make_uow() as uow:
        ned = uow.users.by_username("ned")
        assert ned is not None
        assert not ned.active
    browser.post("/admin/users/saul/redistribute", data={"confirm": "saul"})  # sid takes over
    response = browser.post("/admin/users/sid/redistribute", data={"confirm": "sid"})
    assert response.status_code == 409
    assert "no one is left" in text(response)


def test_rest_routes_answer_as_documented(world: World) -> None:
    make_uow, people, _ = world
    app = make(world)
    api = {name: ApiUser(app, issue_api_token(make_uow(), people[name], NOW), name) for name in ("hugo", "nick",
                                                                                              "ada")}
    c = Conformance()
    hugo, nick, ada = api["hugo"], api["nick"], api["ada"]
    task_ids = [i for i, _, _ in open_tasks(make_uow)]
    before = snapshot(make_uow)
    c.check(hugo, "post", "/tasks/reassign", 422, {"task_ids": [*task_ids, "gone"], "to": "nora"})
    c.check(hugo, "post", "/tasks/reassign", 400, {"task_ids": "x", "to": "nora"})
    c.check(nick, "post", "/tasks/reassign", 403, {"task_ids": task_ids, "to": "nora"})
    assert snapshot(make_uow) == before
    moved = c.check(hugo, "post", "/tasks/reassign", 200, {"task_ids": task_ids, "to": "nora"})
    assert moved == {"to": ["nora"], "task_ids": task_ids, "record_ids": []}
    records = [new_inquiry(make_uow, people["hugo"], region="east", owner=people["nick"]) for _ in range(2)]
    c.check(hugo, "post", "/records/reassign", 200, {"record_ids": records, "to": "ned"})
    c.check(hugo, "post", "/records/reassign", 422, {"record_ids": [999999], "to": "ned"})
    c.check(nick, "post", "/records/reassign", 403, {"record_ids": records, "to": "ned"})
    c.check(hugo, "post", "/records/reassign", 400, {"record_ids": records})
    done = c.check(ada, "post", "/users/{username}/redistribute", 200, username="nora")
    assert (done["to"], len(done["task_ids"])) == (["hugo", "ned", "nick"], 4)
    c.check(ada, "post", "/users/{username}/redistribute", 200, {"strategy": "fewest_open"}, username="ned")
    c.check(ada, "post", "/users/{username}/redistribute", 422, {"strategy": "random"}, username="nick")
    c.check(ada, "post", "/users/{username}/redistribute", 400, {"strategy": 1}, username="nick")
    c.check(ada, "post", "/users/{username}/redistribute", 404, username="nobody")
    c.check(nick, "post", "/users/{username}/redistribute", 403, username="hugo")
    c.check(ada, "post", "/users/{username}/redistribute", 200, username="sid")
    c.check(ada, "post", "/users/{username}/redistribute", 409, username="saul")
    assert {p for p, _, _ in c.checked} == {"/tasks/reassign", "/records/reassign", "/users/{username}/redistribute"}
