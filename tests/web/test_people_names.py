"""People are shown by their display names, not their logins (issue 13): the inbox's assignee column, the card's
owner and its timeline and history, board cards, the audit log; the login stays in a tooltip, filters take either,
and the API gives `assignee_name` beside the `assignee` login."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask

from engine.services.records import create_record
from engine.services.tasks import claim_task, list_tasks
from engine.services.users import get_actor, issue_api_token
from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.conftest import NOW, PASSWORD
from tests.web.api_client import ApiUser
from tests.web.conftest import as_user, new_lead, text

VERA = "Вера Лебедева"  # a seller of the head's team (north), her login `vera`


@pytest.fixture
def vera(deployed: Callable[[], UnitOfWork]) -> Actor:
    """A seller of team north whose display name is not her login."""
    from engine.services.users import create_user

    made = create_user(deployed(), "vera", PASSWORD, ["sales"], NOW, team="north", display_name=VERA)
    return get_actor(deployed(), made.id)


def _shown_by_name(html: str) -> None:
    """Vera appears by name with her login as the tooltip, never as the bare login."""
    assert f'<span class="person" title="vera">{VERA}</span>' in html
    assert ">vera<" not in html


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_the_inbox_team_tab_names_the_assignee_and_its_filter_takes_name_or_login(
    app: Flask, deployed: Callable[[], UnitOfWork], actors: dict[str, Actor], vera: Actor, lang: str
) -> None:
    lead = new_lead(deployed, actors, title="Стулья для офиса")
    (task,) = [t for t in list_tasks(deployed(), vera, "pool") if t.record_id == lead.id]
    claim_task(deployed(), vera, task.id, NOW)
    head = as_user(app, "hank")
    html = head.get(f"/tasks?tab=team&lang={lang}").get_data(as_text=True)
    _shown_by_name(html)
    assert f"{VERA} (vera)" in html  # the reassign menu names the team's people, with their logins
    for typed in ("вера", "ЛЕБЕДЕВА", "vera"):
        found = text(head.get(f"/tasks?tab=team&lang={lang}&f.assignee={typed}"))
        assert "Стулья для офиса" in found, typed
    assert "Стулья для офиса" not in text(head.get(f"/tasks?tab=team&lang={lang}&f.assignee=hank"))


@pytest.mark.parametrize(("lang", "owner"), [("ru", "Ответственный"), ("en", "Owner")])
def test_a_card_names_its_owner_and_who_changed_what(
    app: Flask, deployed: Callable[[], UnitOfWork], actors: dict[str, Actor], vera: Actor, lang: str, owner: str
) -> None:
    lead = new_lead(deployed, actors, title="Проектор в переговорную")
    (task,) = [t for t in list_tasks(deployed(), vera, "pool") if t.record_id == lead.id]
    claim_task(deployed(), vera, task.id, NOW)
    contact = create_record(deployed(), vera, "Contact", {"full_name": "Олег Тихонов"}, NOW)
    page = as_user(app, "vera").get(f"/records/{contact.id}?lang={lang}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f"{owner}: {VERA}" in text(page)
    _shown_by_name(html)
    timeline = re.search(r'<section class="card flush" id="timeline">.*?</section>', html, re.S)
    assert timeline is not None
    assert f'title="vera">{VERA}</span>' in timeline.group(0)  # who made the entries of the timeline
    head_card = as_user(app, "hank").get(f"/records/{lead.id}?lang={lang}").get_data(as_text=True)
    _shown_by_name(head_card)  # the lead's history: the owner change "— → Вера Лебедева"


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_board_cards_name_their_owner(app: Flask, deployed: Callable[[], UnitOfWork], vera: Actor, lang: str) -> None:
    create_record(deployed(), vera, "Deal", {"title": "Кресла Ergo", "amount": "12500"}, NOW)
    html = as_user(app, "hank").get(f"/boards/deals?scope=team&lang={lang}").get_data(as_text=True)
    assert "Кресла Ergo" in html
    _shown_by_name(html)


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_the_audit_log_names_who_made_each_change(
    app: Flask, deployed: Callable[[], UnitOfWork], vera: Actor, lang: str
) -> None:
    create_record(deployed(), vera, "Contact", {"full_name": "Нина Гусева"}, NOW)
    html = as_user(app, "otto").get(f"/audit?lang={lang}").get_data(as_text=True)
    assert "Нина Гусева" in html
    _shown_by_name(html)


def test_the_tasks_api_keeps_the_login_and_adds_the_name(
    api_app: Flask, deployed: Callable[[], UnitOfWork], actors: dict[str, Actor], vera: Actor
) -> None:
    lead = new_lead(deployed, actors, title="Сервер для склада")
    (task,) = [t for t in list_tasks(deployed(), vera, "pool") if t.record_id == lead.id]
    claim_task(deployed(), vera, task.id, NOW)
    head = ApiUser(api_app, issue_api_token(deployed(), actors["head"], NOW), "hank")
    items = head.get("/tasks", scope="team", assignee="Лебедева").get_json()["items"]
    assert [(t["record_title"], t["assignee"], t["assignee_name"]) for t in items] == [
        ("Сервер для склада", "vera", VERA)
    ]


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_a_record_list_names_owners_and_its_owner_box_takes_a_name_or_a_login(
    app: Flask, deployed: Callable[[], UnitOfWork], actors: dict[str, Actor], vera: Actor, lang: str
) -> None:
    create_record(deployed(), vera, "Contact", {"full_name": "Олег Тихонов"}, NOW)
    create_record(deployed(), actors["sales"], "Contact", {"full_name": "Пётр Сёмин"}, NOW)
    head = as_user(app, "hank")
    listed = head.get(f"/records/Contact?lang={lang}").get_data(as_text=True)
    _shown_by_name(listed)
    for typed in ("лебедев", "ВЕРА", "vera"):
        found = text(head.get(f"/records/Contact?lang={lang}&f.owner={typed}"))
        assert "Олег Тихонов" in found, typed
        assert "Пётр Сёмин" not in found, typed


def test_a_display_name_is_text_not_markup(
    app: Flask, deployed: Callable[[], UnitOfWork], actors: dict[str, Actor]
) -> None:
    from engine.services.users import create_user

    made = create_user(deployed(), "eve", PASSWORD, ["sales"], NOW, team="north", display_name='<i>Ева</i> "Р"')
    contact = create_record(deployed(), get_actor(deployed(), made.id), "Contact", {"full_name": "Ян Ким"}, NOW)
    html = as_user(app, "hank").get(f"/records/{contact.id}").get_data(as_text=True)
    assert '<span class="person" title="eve">&lt;i&gt;Ева&lt;/i&gt; &#34;Р&#34;</span>' in html
    assert "<i>Ева</i>" not in html
