"""The UI in Russian and English: catalogs, the language switch, configuration labels."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.web.conftest import as_user, new_lead, pool_task, text
from web import i18n

WEB = Path(i18n.__file__).parent
DYNAMIC = {"errors.": ["400", "403", "404", "405", "409", "422"], "inbox.tab_": ["mine", "pool", "team", "all"],
           "inbox.empty_": ["mine", "pool", "team", "all"], "states.": ["open", "completed", "running"],
           "instances.kind_": ["instance_started", "step", "claimed", "task_completed", "instance_completed"]}


def used_keys() -> set[str]:
    """Every message key the templates and Python code ask for."""
    keys: set[str] = set()
    sources = [*WEB.glob("templates/**/*.html"), *WEB.glob("*.py"), *WEB.glob("blueprints/*.py")]
    for path in sources:
        source = path.read_text(encoding="utf-8")
        keys |= set(re.findall(r"""_\(['"]([a-z_]+\.[a-z_.]+)['"]""", source))
        keys |= set(re.findall(r"""\bt\(['"]([a-z_]+\.[a-z_.]+)['"]""", source))
        for prefix, endings in DYNAMIC.items():
            if f"'{prefix}' ~" in source:
                keys |= {prefix + ending for ending in endings}
    return {key for key in keys if not key.endswith((".", "_"))}  # prefixes of DYNAMIC keys


@pytest.mark.parametrize("locale", i18n.LOCALES)
def test_every_message_the_ui_uses_is_translated(locale):
    missing = sorted(used_keys() - set(i18n.catalog(locale)))
    assert missing == []


def test_catalogs_have_the_same_keys():
    assert set(i18n.catalog("en")) == set(i18n.catalog("ru"))


def test_lang_parameter_switches_to_russian_and_is_remembered(app, deployed, actors):
    new_lead(deployed, actors)
    hank = as_user(app, "hank")
    page = text(hank.get("/records/Lead?lang=ru"))
    assert "Лид" in page  # entity label from the configuration
    assert "Статус" in page  # field label
    assert "Новый" in page  # catalog value label
    assert "Задачи" in page  # UI message
    again = text(hank.get("/tasks"))
    assert "Мои задачи" in again
    assert "My tasks" not in again
    assert "My tasks" in text(hank.get("/tasks?lang=en"))


def test_task_form_labels_follow_the_language(app, deployed, actors):
    new_lead(deployed, actors)
    task = pool_task(deployed, actors["sales"])
    page = text(as_user(app, "sam").get(f"/tasks/{task.id}?lang=ru"))
    assert "Квалификация лида" in page  # the form's x-label
    assert "Решение" in page  # a form property's x-label
    assert "Перевести в сделку" in page  # x-enum-labels
    assert "Бюджет" in page  # a record field's label from the entity
    assert "Завершить" in page
    english = text(as_user(app, "sam").get(f"/tasks/{task.id}?lang=en"))
    assert "Qualify the lead" in english
    assert "Outcome" in english
    assert "Квалификация лида" not in english


def test_validation_messages_are_translated(app, deployed, actors):
    new_lead(deployed, actors)
    task = pool_task(deployed, actors["sales"])
    response = as_user(app, "sam").post(f"/tasks/{task.id}/complete?lang=ru", data={"budget": "x"})
    assert response.status_code == 422
    assert "обязательное поле" in text(response)
    assert "должно быть числом" in text(response)


def test_accept_language_is_used_before_anyone_chooses(client):
    assert "Логин" in text(client.get("/login", headers={"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.5"}))
    assert "Username" in text(client.get("/login", headers={"Accept-Language": "de-DE"}))


def test_the_header_offers_the_other_language(client):
    html = client.get("/login?next=/tasks").get_data(as_text=True)
    assert 'href="/login?next=%2Ftasks&amp;lang=ru"' in html


def test_error_pages_speak_the_users_language_with_every_variable_part_kept(app, deployed, actors):
    sam = as_user(app, "sam")
    missing = sam.get("/records/987654?lang=ru")
    assert missing.status_code == 404
    assert "запись 987654 не найдена" in text(missing)
    assert "record 987654 not found" in text(sam.get("/records/987654?lang=en"))
    with app.test_request_context("/?lang=ru"):
        message = "record 7 was changed by someone else (revision 3, you edited 2); reload it"
        assert i18n.engine_message(message, "ru") == \
            "запись 7 уже изменил кто-то другой (версия 3, вы правили 2); обновите страницу"
        assert i18n.engine_message("sam may not claim task 1-2", "ru") == "пользователь sam не может взять задачу 1-2"


BAD_RECORDS = [  # (entity, data): each value breaks a different rule of the record schema
    ("Deal", {"title": "", "client": "x", "stage": "nope", "amount": "-5", "close_date": "May", "loss_reason": 7,
              "description": "d" * 10_001, "colour": "red"}),
    ("Contact", {"full_name": 5, "email": "a@", "phone": "12", "status": "active", "tags": ["vip", "vip"],
                 "website": "example.com"}),
    ("Deal", {"title": "T", "amount": "lots", "client": 0}),
]


@pytest.mark.parametrize(("entity", "data"), BAD_RECORDS)
def test_every_message_a_record_form_can_show_reads_in_russian(bundle_files, entity, data):
    from engine.config.loader import load_bundle
    from engine.errors import ValidationError
    from engine.records.schema import validate_record

    bundle = load_bundle(bundle_files)
    with pytest.raises(ValidationError) as refused:
        validate_record(bundle.entities[entity], bundle, data)
    messages = [m for ms in refused.value.errors.values() for m in ms]
    assert len(messages) >= 2
    english = [m for m in messages if not re.search("[а-яё]", i18n.engine_message(m, "ru"))]
    assert english == []
