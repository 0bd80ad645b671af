"""Process, task and step names in the user's language (processes/labels.yaml), everywhere they are shown."""

from __future__ import annotations

from flask import Flask

from engine.services.tasks import complete_task
from tests.conftest import NOW
from tests.web.conftest import as_user, new_lead, pool_task, text


def test_a_russian_seller_sees_process_task_and_step_names_in_russian(app: Flask, deployed, actors) -> None:
    lead = new_lead(deployed, actors)
    task = pool_task(deployed, actors["sales"])
    sam = as_user(app, "sam")
    sam.get("/tasks?lang=ru")

    pool = text(sam.get("/tasks?tab=pool"))
    assert "Квалифицировать лид" in pool
    assert "Qualify lead" not in pool
    page = text(sam.get(f"/tasks/{task.id}"))
    assert "Квалифицировать лид" in page
    assert "Квалификация лида" in page  # the process it belongs to
    card = text(sam.get(f"/records/{lead.id}"))
    assert "Квалификация лида v1" in card
    instance = text(sam.get(f"/instances/{task.instance_id}"))
    assert "Лид получен" in instance  # the start event, a step of the history
    assert "4 рабочих часа без движения" in instance  # the timer it waits for

    sam.get("/tasks?lang=en")
    assert "Qualify lead" in text(sam.get("/tasks?tab=pool"))
    assert "Lead qualification" in text(sam.get(f"/instances/{task.instance_id}"))


def test_change_sources_and_step_data_keys_are_shown_in_russian(app, deployed, actors) -> None:
    lead = new_lead(deployed, actors)
    task = pool_task(deployed, actors["sales"])
    complete_task(deployed(), actors["sales"], task.id, {"outcome": "convert", "budget": "100"}, NOW)
    hank = as_user(app, "hank")
    hank.get("/tasks?lang=ru")

    history = text(hank.get(f"/records/{lead.id}")).split("История изменений")[-1]
    assert "Квалификация лида v1 / Квалифицировать лид" in history  # stored: process lead_qualification v1 / ...
    assert "process lead_qualification" not in history
    audit = text(hank.get(f"/audit?record_id={lead.id}"))
    assert "Квалификация лида v1 / Квалифицировать лид" in audit
    steps = text(hank.get(f"/instances/{task.instance_id}"))
    assert "Процесс Квалификация лида" in steps  # the keys the engine writes into a step's data, the process by name
    assert "Версия 1" in steps
    assert "Способ назначения в общий пул команды" in steps
    assert "process_id" not in steps
    assert "Итог convert" in steps  # the record's fields, by their labels (PostgreSQL orders JSON keys its way)
    assert "Бюджет 100 RUB" in steps
    assert "Шаг Решение?" in steps  # a gateway's name


def test_the_instance_diagram_is_drawn_with_names_in_the_users_language(app, deployed, actors) -> None:
    new_lead(deployed, actors)
    task = pool_task(deployed, actors["sales"])
    sam = as_user(app, "sam")
    russian = sam.get(f"/instances/{task.instance_id}/diagram.json?lang=ru").get_json()
    assert 'name="Квалифицировать лид"' in russian["xml"]
    assert 'name="Квалификация лида"' in russian["xml"]
    assert "qualify_lead" in russian["current"]  # the marks still name elements by id
    english = sam.get(f"/instances/{task.instance_id}/diagram.json?lang=en").get_json()
    assert 'name="Qualify lead"' in english["xml"]
