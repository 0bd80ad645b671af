"""What an inbox page sends (issue 12, the inbox's round trips): the display names of the people its tasks name as
candidates come with the page statement, and the Team tab reads its members once for both the page and the
"give to" list — Pool is 2 statements (the session's user, the page), Team 3 (and the team)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, insert, update

from engine.services.units import UowFactory
from engine.services.views import Actor
from engine.store.models import TaskCandidateRow, TaskRow, UserRow
from engine.store.uow import UnitOfWork
from tests.conftest import NOW
from tests.web.conftest import as_user


@pytest.fixture
def named_tasks(deployed: Callable[[], UnitOfWork], actors: dict[str, Actor]) -> None:
    """Three pooled tasks for sales that also name sue, three of sue's tasks that name dina, one pooled task that
    names a login no user has; sue and dina with display names of their own."""
    rows: list[dict[str, Any]] = []
    candidates: list[dict[str, Any]] = []
    for n, (assignee, user) in enumerate([(None, "sue")] * 3 + [(actors["sales2"].id, "dina")] * 3
                                         + [(None, "ghost")]):
        task_id, due = str(uuid.uuid4()), NOW + timedelta(hours=n)
        rows.append({"id": task_id, "instance_id": None, "process_version_id": None, "record_id": None,
                     "record_title": None, "spec_name": "call", "title": f"Call {n}", "form_key": None,
                     "lane": None, "candidate_groups": "sales", "candidate_users": user, "assignee_id": assignee,
                     "state": "open", "due_at": due, "created_at": NOW, "completed_at": None,
                     "completed_by": None})
        candidates += [{"task_id": task_id, "kind": kind, "name": name, "pooled": assignee is None,
                        "sort_at": due, "due_at": due} for kind, name in (("group", "sales"), ("user", user))]
    with deployed() as uow:
        uow.session.execute(insert(TaskRow), rows)
        uow.session.execute(insert(TaskCandidateRow), candidates)
        for login, name in (("sue", "Sue Sellers"), ("dina", "Dina Draws")):
            uow.session.execute(update(UserRow).where(UserRow.username == login).values(display_name=name))
        uow.commit()


@contextmanager
def _statements(app: Flask) -> Iterator[list[str]]:
    factory = app.extensions["flowcrm.uow"]
    assert isinstance(factory, UowFactory)
    sent: list[str] = []

    def keep(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    event.listen(factory.engine, "before_cursor_execute", keep)
    try:
        yield sent
    finally:
        event.remove(factory.engine, "before_cursor_execute", keep)


@pytest.mark.parametrize(("login", "tab", "named", "most"), [
    ("sam", "pool", "Sue Sellers", 2),
    ("hank", "team", "Dina Draws", 3),
])
def test_an_inbox_page_names_its_candidate_users_in_its_own_statement(
    app: Flask, named_tasks: None, login: str, tab: str, named: str, most: int
) -> None:
    reader = as_user(app, login)
    assert reader.get(f"/tasks?tab={tab}").status_code == 200  # warm: the parsed configuration
    for query in ("", "&sort=due", "&sort=record&dir=desc"):
        with _statements(app) as sent:
            page = reader.get(f"/tasks?tab={tab}{query}")
        assert page.status_code == 200
        assert page.text.count(named) >= 3, query
        # before: the people's names after the page (and on Team its members twice: their ids, then their rows)
        assert len(sent) <= most, (query, sent)


def test_a_candidate_login_no_user_has_is_still_shown_as_the_login(app: Flask, named_tasks: None) -> None:
    page = as_user(app, "sam").get("/tasks?tab=pool")
    assert page.status_code == 200
    assert "ghost" in page.text
    assert "Sue Sellers" in page.text
