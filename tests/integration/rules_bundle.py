"""A small configuration bundle for the rule and link tests: entities, a link catalog, templates, one process;
rules are added per test and loaded by the real loader."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import yaml

from engine.services.deployments import deploy_bundle
from engine.services.users import create_user, get_actor
from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.conftest import NOW, PASSWORD

MakeUow = Callable[[], UnitOfWork]
DESIGNER = Actor(id=None, username="setup", display_name="setup", roles=frozenset({"designer"}))
PEOPLE = {
    "sales": ("sam", ["sales"], "north"),
    "sales2": ("sue", ["sales"], "south"),
    "head": ("hank", ["head_of_sales"], "north"),
    "admin": ("ada", ["admin"], None),
    "auditor": ("otto", ["auditor"], None),
}


def _label(text: str) -> dict[str, str]:
    return {"en": text, "ru": text}


def _field(kind: str, **options: Any) -> dict[str, Any]:
    return {"type": kind, **options, "label": _label(kind)}


STEPS = 10  # Step has integer fields f0..f9 for cascade tests
ENTITIES: dict[str, tuple[str, dict[str, dict[str, Any]]]] = {
    "Contact": ("full_name", {
        "full_name": _field("string", required=True), "phone": _field("phone"), "email": _field("email"),
        "status": _field("string"), "region": _field("string"), "score": _field("integer"),
        "revenue": _field("money"), "last_won_on": _field("date"), "notes": _field("text"),
        "account_manager": _field("user"),
    }),
    "Deal": ("title", {
        "title": _field("string", required=True), "client": _field("reference", entity="Contact"),
        "stage": _field("string"), "amount": _field("money"), "closed_on": _field("date"),
    }),
    "Activity": ("subject", {
        "subject": _field("string", required=True), "contact": _field("reference", entity="Contact"),
        "direction": _field("string"),
    }),
    "Territory": ("name", {
        "code": _field("string", required=True), "name": _field("string", required=True),
        "manager": _field("user"),
    }),
    "Step": ("title", {"title": _field("string"), **{f"f{i}": _field("integer") for i in range(STEPS)}}),
}
FOLLOW_UP_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs" targetNamespace="http://example.com/flowcrm">
  <bpmn:process id="follow_up" name="Follow up" isExecutable="true">
    <bpmn:extensionElements>
      <camunda:properties><camunda:property name="flowcrm.entity" value="Contact" /></camunda:properties>
    </bpmn:extensionElements>
    <bpmn:startEvent id="start">
      <bpmn:extensionElements>
        <camunda:properties><camunda:property name="set.notes" value="'follow-up started'" /></camunda:properties>
      </bpmn:extensionElements>
      <bpmn:outgoing>f1</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:userTask id="call_back" name="Call back" camunda:candidateGroups="sales" camunda:formKey="call_back">
      <bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="call_back" />
    <bpmn:sequenceFlow id="f2" sourceRef="call_back" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""


def _yaml(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def rule(name: str, entity: str, on: list[Any], actions: list[Any] | None = None, *, when: str | None = None,
         let: dict[str, Any] | None = None, otherwise: list[Any] | None = None,
         where: dict[str, Any] | None = None) -> tuple[str, str]:
    """A rule file (path, YAML text)."""
    data: dict[str, Any] = {"rule": name, "label": _label(name), "entity": entity, "on": on}
    if let:
        data["let"] = let
    if when:
        data["when"] = when
    if where:
        data["where"] = where
    data["actions"] = actions or []
    if otherwise:
        data["else"] = otherwise
    return f"crm_model/rules/{name}.yaml", _yaml(data)


def bundle_files(*rules: tuple[str, str]) -> dict[str, str]:
    """The test bundle with these rule files."""
    files = {
        "crm_model/settings.yaml": _yaml({"default_region": "RU", "default_locale": "en", "locales": ["en", "ru"]}),
        "crm_model/catalogs/link_type.yaml": _yaml({
            "catalog": "link_type", "label": _label("Link type"),
            "values": [{"code": code, "label": _label(code)} for code in ("related", "partner")],
        }),
        "templates/welcome.en.txt": "Subject: Welcome, {{ full_name }}\nHello {{ full_name }}!\n",
        "templates/welcome.ru.txt": "Subject: Здравствуйте, {{ full_name }}\nДобрый день, {{ full_name }}!\n",
        "processes/follow_up.bpmn": FOLLOW_UP_BPMN,
        "forms/call_back.json": json.dumps({
            "x-label": {"en": "Call back", "ru": "Перезвонить"}, "type": "object", "x-entity": "Contact",
            "properties": {"notes": {}, "region": {}}}),
    }
    for name, (title, fields) in ENTITIES.items():
        files[f"crm_model/entities/{name.lower()}.yaml"] = _yaml(
            {"entity": name, "label": _label(name), "title_field": title, "fields": fields})
    files.update(dict(rules))
    return files


def deploy(make_uow: MakeUow, *rules: tuple[str, str]) -> None:
    """Deploy the test bundle with these rules (a later deploy replaces the rules)."""
    deploy_bundle(make_uow(), DESIGNER, bundle_files(*rules), NOW)


def make_people(make_uow: MakeUow) -> dict[str, Actor]:
    """One user per role key of PEOPLE, as actors."""
    people = {}
    for key, (username, roles, team) in PEOPLE.items():
        view = create_user(make_uow(), username, PASSWORD, roles, NOW, team=team)
        people[key] = get_actor(make_uow(), view.id)
    return people
