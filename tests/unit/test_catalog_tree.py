"""Hierarchical catalogs, leaf_only enum fields, the `user` field type and the link_catalog setting."""

from __future__ import annotations

from typing import Any

import pytest

from engine.config.loader import load_bundle
from engine.config.model import FALLBACK_LINK_KIND, Bundle
from engine.errors import ConfigError, Problem, ValidationError
from engine.records.schema import entity_json_schema, field_schema, validate_record

CATALOG = """\
catalog: client_status
label: {en: Client status, ru: Статус клиента}
values:
  - code: active
    label: {en: Active, ru: Активный}
    children:
      - {code: one_time, label: {en: One-time, ru: Разовый}}
      - code: periodic
        label: {en: Periodic, ru: Периодический}
        children:
          - {code: monthly, label: {en: Monthly, ru: Ежемесячный}}
          - {code: yearly, label: {en: Yearly, ru: Ежегодный}}
  - {code: lost, label: {en: Lost, ru: Потерян}}
"""
ENTITY = """\
entity: Client
label: {en: Client, ru: Клиент}
title_field: name
fields:
  name: {type: string, required: true, label: {en: Name, ru: Имя}}
  status: {type: enum, catalog: client_status, leaf_only: true, label: {en: Status, ru: Статус}}
  stages: {type: multi_enum, catalog: client_status, leaf_only: true, label: {en: Stages, ru: Этапы}}
  any_status: {type: enum, catalog: client_status, label: {en: Any status, ru: Любой статус}}
  manager: {type: user, label: {en: Manager, ru: Менеджер}}
"""
LEAVES = "one_time, monthly, yearly, lost"


def files_with(changes: dict[str, str | None] | None = None) -> dict[str, str]:
    files = {"crm_model/catalogs/client_status.yaml": CATALOG, "crm_model/entities/client.yaml": ENTITY}
    for path, text in (changes or {}).items():
        if text is None:
            files.pop(path, None)
        else:
            files[path] = text
    return files


@pytest.fixture(scope="module")
def bundle() -> Bundle:
    return load_bundle(files_with())


def only_problem(files: dict[str, str]) -> Problem:
    with pytest.raises(ConfigError) as caught:
        load_bundle(files)
    assert len(caught.value.problems) == 1, caught.value.problems
    return caught.value.problems[0]


def client_errors(bundle: Bundle, data: dict[str, Any]) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        validate_record(bundle.entities["Client"], bundle, {"name": "Acme", **data})
    return caught.value.errors


def test_values_are_the_flattened_tree_in_document_order_with_parents(bundle: Bundle) -> None:
    catalog = bundle.catalogs["client_status"]
    assert [(v.code, v.parent) for v in catalog.values] == [
        ("active", None),
        ("one_time", "active"),
        ("periodic", "active"),
        ("monthly", "periodic"),
        ("yearly", "periodic"),
        ("lost", None),
    ]
    assert catalog.codes() == ("active", "one_time", "periodic", "monthly", "yearly", "lost")


def test_children_ancestors_and_leaves(bundle: Bundle) -> None:
    catalog = bundle.catalogs["client_status"]
    assert [v.code for v in catalog.children("active")] == ["one_time", "periodic"]
    assert [v.code for v in catalog.children()] == ["active", "lost"]
    assert catalog.children("monthly") == ()
    assert [v.code for v in catalog.ancestors("monthly")] == ["active", "periodic"]
    assert catalog.ancestors("active") == ()
    assert catalog.ancestors("unknown") == ()
    assert catalog.leaves() == ("one_time", "monthly", "yearly", "lost")
    assert catalog.is_leaf("lost")
    assert not catalog.is_leaf("periodic")
    assert not catalog.is_leaf("unknown")


def test_path_label_joins_the_labels_from_the_top(bundle: Bundle) -> None:
    catalog = bundle.catalogs["client_status"]
    assert catalog.path_label("periodic", "en") == "Active › Periodic"
    assert catalog.path_label("monthly", "ru") == "Активный › Периодический › Ежемесячный"
    assert catalog.path_label("lost", "en") == "Lost"
    assert catalog.path_label("unknown", "en") == "unknown"
    assert catalog.label_of("yearly", "en") == "Yearly"


def test_enum_without_leaf_only_accepts_every_code_of_the_tree(bundle: Bundle) -> None:
    clean = validate_record(bundle.entities["Client"], bundle, {"name": "Acme", "any_status": "periodic"})
    assert clean["any_status"] == "periodic"


def test_leaf_only_enum_accepts_a_leaf(bundle: Bundle) -> None:
    clean = validate_record(bundle.entities["Client"], bundle, {"name": "Acme", "status": "monthly"})
    assert clean["status"] == "monthly"


def test_leaf_only_enum_refuses_a_parent_value_naming_the_leaves(bundle: Bundle) -> None:
    errors = client_errors(bundle, {"status": "periodic"})
    assert errors == {"status": [f"must be a leaf value of client_status: {LEAVES}"]}


def test_leaf_only_multi_enum_refuses_a_parent_value(bundle: Bundle) -> None:
    assert validate_record(bundle.entities["Client"], bundle, {"name": "A", "stages": ["lost"]})["stages"] == ["lost"]
    errors = client_errors(bundle, {"stages": ["lost", "active"]})
    assert errors == {"stages": [f"must be a leaf value of client_status: {LEAVES}"]}


def test_leaf_only_json_schema_lists_only_leaves(bundle: Bundle) -> None:
    schema = entity_json_schema(bundle.entities["Client"], bundle)
    assert schema["properties"]["status"]["enum"] == ["one_time", "monthly", "yearly", "lost"]
    assert schema["properties"]["stages"]["items"]["enum"] == ["one_time", "monthly", "yearly", "lost"]
    assert len(schema["properties"]["any_status"]["enum"]) == 6


def test_user_field_is_a_username_string(bundle: Bundle) -> None:
    field = bundle.entities["Client"].fields["manager"]
    schema = field_schema(field, bundle.catalogs)
    assert (schema["type"], schema["pattern"], schema["x-field-type"]) == ("string", "^[a-z0-9_.-]{2,80}$", "user")
    clean = validate_record(bundle.entities["Client"], bundle, {"name": "Acme", "manager": "j.smith"})
    assert clean["manager"] == "j.smith"


@pytest.mark.parametrize("username", ["J.Smith", "x", "a b", 5])
def test_user_field_refuses_what_is_not_a_username(bundle: Bundle, username: Any) -> None:
    errors = client_errors(bundle, {"manager": username})
    assert list(errors) == ["manager"]


def test_user_field_default_is_checked_at_load() -> None:
    text = ENTITY.replace("{type: user,", "{type: user, default: Boss,")
    problem = only_problem(files_with({"crm_model/entities/client.yaml": text}))
    assert (problem.file, problem.line, problem.element) == ("crm_model/entities/client.yaml", 9, "Client.manager")
    assert "must be a username" in problem.message


def test_leaf_only_default_must_be_a_leaf() -> None:
    text = ENTITY.replace("leaf_only: true, label: {en: Status", "leaf_only: true, default: active, label: {en: Status")
    problem = only_problem(files_with({"crm_model/entities/client.yaml": text}))
    assert (problem.line, problem.element) == (6, "Client.status")
    assert f"must be a leaf value of client_status: {LEAVES}" in problem.message


@pytest.mark.parametrize(
    ("old", "new", "element", "words"),
    [
        (
            "catalog: client_status, label: {en: Any",
            "catalog: client_status, leaf_only: 1, label: {en: Any",
            "Client.any_status",
            "leaf_only must be true or false",
        ),
        ("{type: user,", "{type: string, leaf_only: true,", "Client.manager", "applies only to enum, multi_enum"),
    ],
)
def test_leaf_only_option_problems(old: str, new: str, element: str, words: str) -> None:
    problem = only_problem(files_with({"crm_model/entities/client.yaml": ENTITY.replace(old, new)}))
    assert (problem.file, problem.element) == ("crm_model/entities/client.yaml", element)
    assert words in problem.message


def test_code_repeated_at_another_depth_is_a_duplicate_with_its_line() -> None:
    text = CATALOG.replace("{code: yearly,", "{code: lost,")
    problem = only_problem(files_with({"crm_model/catalogs/client_status.yaml": text}))
    assert (problem.file, problem.line, problem.element) == (
        "crm_model/catalogs/client_status.yaml",
        13,
        "client_status.lost",
    )
    assert "duplicate code 'lost'" in problem.message


@pytest.mark.parametrize(
    ("old", "new", "line", "element", "words"),
    [
        (
            "    children:\n      - {code: one_time",
            "    children: []\n    x:\n      - {code: one_time",
            6,
            "client_status.active",
            "children must be a non-empty list",
        ),
        (
            "{code: monthly, label: {en: Monthly, ru: Ежемесячный}}",
            "{code: monthly, label: {en: Monthly}}",
            11,
            "client_status.monthly",
            "label is missing ru",
        ),
        ("{code: yearly,", "{code: yearly, colour: red,", 12, "client_status.yearly", "unknown key 'colour'"),
        ("{code: one_time,", "{code: 'one time',", 7, "client_status", "needs a text code"),
    ],
)
def test_nested_value_problems_are_located(old: str, new: str, line: int, element: str, words: str) -> None:
    text = CATALOG.replace(old, new)
    problems = load_problems(files_with({"crm_model/catalogs/client_status.yaml": text}))
    assert any(
        (p.file, p.line, p.element) == ("crm_model/catalogs/client_status.yaml", line, element) and words in p.message
        for p in problems
    ), problems


def load_problems(files: dict[str, str]) -> list[Problem]:
    with pytest.raises(ConfigError) as caught:
        load_bundle(files)
    return caught.value.problems


def test_link_catalog_defaults_to_link_type_and_may_be_missing(bundle: Bundle) -> None:
    assert bundle.settings.link_catalog == "link_type"
    assert "link_type" not in bundle.catalogs  # no problem: links then get the fallback kind
    assert FALLBACK_LINK_KIND == "related"


def test_link_catalog_setting_is_read_and_checked() -> None:
    settings = "default_region: RU\nlink_catalog: relation\n"
    assert load_bundle(files_with({"crm_model/settings.yaml": settings})).settings.link_catalog == "relation"
    problem = only_problem(files_with({"crm_model/settings.yaml": "link_catalog: Bad Name\n"}))
    assert (problem.file, problem.line, problem.element) == ("crm_model/settings.yaml", 1, "link_catalog")
