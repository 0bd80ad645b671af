"""What a routing decision writes into a step — the team the lead routing DMN chose, the strategy, the process — is
shown in the reader's language on the instance and audit pages, not as the codes stored in the step's data."""

from __future__ import annotations

import html
import re
from typing import Any

from flask import Flask

from engine.services.instances import instances_for_record
from tests.web.conftest import as_user, new_lead


def facts(page: str) -> list[dict[str, str]]:
    """The data of each step shown as facts, {key: value} (JSONB keeps the keys in an order of its own)."""
    shown = [[html.unescape(x).strip() for x in re.findall(r"<d[td]>(.*?)</d[td]>", found, re.S)]
             for found in re.findall(r'<dl class="facts tiny">(.*?)</dl>', page, re.S)]
    return [dict(zip(items[::2], items[1::2], strict=True)) for items in shown]


def test_a_routing_decision_reads_in_the_readers_language_on_the_instance_and_audit_pages(
        app: Flask, deployed: Any, actors: dict[str, Any]) -> None:
    lead = new_lead(deployed, actors, request_type="partner_referral")  # lead_routing.dmn: the Moscow team
    [instance] = instances_for_record(deployed(), actors["head"], lead.id)
    hank, ada = as_user(app, "hank"), as_user(app, "ada")

    russian = facts(hank.get(f"/instances/{instance.id}?lang=ru").get_data(as_text=True))
    audit = facts(ada.get(f"/audit?record_id={lead.id}&lang=ru").get_data(as_text=True))
    english = facts(hank.get(f"/instances/{instance.id}?lang=en").get_data(as_text=True))

    routed = {"Команда": "Московская команда", "Способ назначения": "в общий пул команды", "Пользователь": "—"}
    assert routed in russian
    assert routed in audit
    assert {"Процесс": "Квалификация лида", "Версия": "1"} in russian
    assert {"Team": "Moscow team", "Routing": "the team's pool", "User": "—"} in english
    assert not any(code in value for fact in russian + audit for value in fact.values()
                   for code in ("moscow", "pool", "lead_qualification"))


def test_a_process_a_rule_started_and_a_team_are_named_in_the_readers_language(app: Flask) -> None:
    from web.people import person_name
    from web.present import role_label

    with app.test_request_context("/", headers={"Accept-Language": "ru"}):
        assert person_name("rule") == "автоматически"  # engine.rules.dispatch.RULE_ACTOR started it
        assert role_label("moscow") == "Московская команда"
        assert role_label("north") == "north"  # a team without a translation keeps its code
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert person_name("rule") == "automatic"
        assert role_label("moscow") == "Moscow team"
