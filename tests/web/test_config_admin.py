"""The configuration pages: a preview shows the diff and the check, only the change previewed is deployed, a change
check refuses has no Deploy button, and a version page shows its diff."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask import Flask

from engine.services.config_changes import config_versions
from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.web.conftest import as_user, text

FORM = {"name": "loyalty_card", "type": "string", "label_en": "Loyalty card", "label_ru": "Карта лояльности"}


def confirm_value(html: str) -> str:
    found = re.search(r'name="confirm" value="([^"]+)"', html)
    assert found, "no Deploy button"
    return found[1]


def test_only_the_previewed_change_is_deployed(app: Flask, deployed: Callable[[], UnitOfWork],
                                               actors: dict[str, Actor]) -> None:
    browser = as_user(app, "ada")
    before = config_versions(deployed(), actors["admin"])[0].id
    preview = browser.post("/admin/config/entities/Contact", data=FORM)
    assert preview.status_code == 200
    assert re.search(r"\+ loyalty_card: +\{type: string, label: \{en: Loyalty card, ru: Карта лояльности\}\}",
                     text(preview))
    assert "The check found no problem" in text(preview)
    confirm = confirm_value(preview.get_data(as_text=True))

    changed = browser.post("/admin/config/entities/Contact", data={**FORM, "label_en": "Club card",
                                                                     "confirm": confirm})
    assert changed.status_code == 200
    assert "The form changed since the preview" in text(changed)
    assert config_versions(deployed(), actors["admin"])[0].id == before

    done = browser.post("/admin/config/entities/Contact", data={**FORM, "confirm": confirm})
    assert done.status_code == 302
    latest = config_versions(deployed(), actors["admin"])[0]
    assert latest.id != before
    assert latest.note == "browser: field Contact.loyalty_card added by ada"
    page = browser.get(f"/admin/config/versions/{latest.id}")
    assert "loyalty_card" in text(page)
    assert "browser: field Contact.loyalty_card added by ada" in text(page)


def test_a_change_the_check_refuses_shows_the_problem_and_no_deploy_button(app: Flask) -> None:
    browser = as_user(app, "ada")
    refused = browser.post("/admin/config/entities/Contact", data={**FORM, "type": "integer", "default": "many"})
    assert refused.status_code == 422
    assert "crm_model/entities/contact.yaml:" in text(refused)
    assert "default 'many' is not valid" in text(refused)
    assert 'name="confirm"' not in refused.get_data(as_text=True)


def test_a_bad_form_names_the_field(app: Flask) -> None:
    browser = as_user(app, "ada")
    bad = browser.post("/admin/config/catalogs/tag", data={"code": "a b", "label_en": "X", "label_ru": "Х"})
    assert bad.status_code == 422
    assert "a code is letters, digits" in text(bad)


def test_a_refused_roll_back_reads_in_the_admins_language(app: Flask, deployed: Callable[[], UnitOfWork],
                                                        actors: dict[str, Actor]) -> None:
    browser = as_user(app, "ada")
    browser.get("/admin/config?lang=ru")
    active = config_versions(deployed(), actors["admin"])[0].id
    again = browser.post(f"/admin/config/versions/{active}/rollback", data={"expected_active": active},
                         follow_redirects=True)
    assert f"версия {active} уже активна" in text(again)
    stale = browser.post(f"/admin/config/versions/{active}/rollback", data={"expected_active": active + 1},
                         follow_redirects=True)
    assert "конфигурация изменилась, пока вы смотрели; посмотрите версии ещё раз" in text(stale)
