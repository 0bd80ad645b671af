"""Loading and checking configuration bundles: every problem is found, located by file, line and element."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config.loader import load_bundle, read_bundle_dir
from engine.config.model import FIELD_TYPES, Bundle
from engine.config.yaml_lines import LineList, LineMap, load_yaml
from engine.errors import ConfigError
from tests.unit.bundle_helpers import changed, only_problem, problems_of

ROOT = Path(__file__).parents[2]

CATALOG = """\
catalog: color
label: {en: Color, ru: Цвет}
values:
  - {code: red, label: {en: Red, ru: Красный}}
  - {code: blue, label: {en: Blue, ru: Синий}}
"""
ENTITY = """\
entity: Item
label: {en: Item, ru: Предмет}
title_field: name
fields:
  name: {type: string, required: true, label: {en: Name, ru: Название}}
  color: {type: enum, catalog: color, default: red, label: {en: Color, ru: Цвет}}
"""
FORM = """\
{
  "type": "object",
  "x-entity": "Item",
  "properties": {
    "color": {},
    "note": {"type": "string", "x-variable": true}
  }
}
"""


def files_with(changes: dict[str, str | None] | None = None) -> dict[str, str]:
    """A small valid bundle with some files replaced, added or (None) removed."""
    return changed({
        "crm_model/catalogs/color.yaml": CATALOG,
        "crm_model/entities/item.yaml": ENTITY,
        "forms/pick.json": FORM,
    }, changes)


def test_shipped_bundle_loads_without_problems() -> None:
    bundle = load_bundle(read_bundle_dir(ROOT))
    assert {"Contact", "Organization", "Lead"} <= set(bundle.entities)
    assert {"qualify_lead", "arrange_meeting"} <= set(bundle.forms)
    assert bundle.settings.default_locale == "ru"
    assert bundle.settings.default_region == "RU"
    assert bundle.entities["Lead"].fields["status"].default == "new"
    assert bundle.entities["Contact"].fields["organization"].entity == "Organization"
    assert bundle.catalogs["relationship_type"].codes()[:2] == ("client", "potential_client")
    assert bundle.forms["qualify_lead"].ui["fields"]["comment"]["widget"] == "textarea"


def test_every_shipped_label_has_english_and_russian_text() -> None:
    bundle = load_bundle(read_bundle_dir(ROOT))
    labels = [entity.label for entity in bundle.entities.values()]
    labels += [f.label for entity in bundle.entities.values() for f in entity.fields.values()]
    labels += [value.label for catalog in bundle.catalogs.values() for value in catalog.values]
    assert all(label["en"] and label["ru"] for label in labels)
    assert all(
        any("а" <= ch <= "я" for ch in label["ru"].lower()) for label in labels if label["ru"] != "VIP"
    )


def test_loading_the_same_files_twice_gives_the_same_content_hash() -> None:
    files = read_bundle_dir(ROOT)
    first, second = load_bundle(files), load_bundle(dict(reversed(list(files.items()))))
    assert first.content_hash == second.content_hash
    changed = {**files, "crm_model/settings.yaml": files["crm_model/settings.yaml"] + "\n"}
    assert load_bundle(changed).content_hash != first.content_hash


def test_bundle_without_crm_model_is_empty_but_keeps_process_files() -> None:
    bundle = load_bundle(
        {"processes/a.bpmn": "<definitions/>", "processes/d.dmn": "<dmn/>", "README.md": "x"}
    )
    assert (bundle.entities, bundle.catalogs, bundle.forms) == ({}, {}, {})
    assert bundle.bpmn_files() == {"processes/a.bpmn": "<definitions/>"}
    assert bundle.dmn_files() == {"processes/d.dmn": "<dmn/>"}
    assert bundle.files["README.md"] == "x"


def test_small_valid_bundle_builds_typed_model() -> None:
    bundle = load_bundle(files_with())
    item = bundle.entities["Item"]
    assert isinstance(bundle, Bundle)
    assert (item.title_field, item.fields["color"].catalog, item.fields["color"].line) == ("name", "color", 6)
    assert bundle.forms["pick"].entity == "Item"


def test_read_bundle_dir_reads_config_files_by_posix_path(tmp_path: Path) -> None:
    (tmp_path / "crm_model" / "entities").mkdir(parents=True)
    (tmp_path / "crm_model" / "entities" / "item.yaml").write_text(ENTITY, encoding="utf-8")
    (tmp_path / "forms").mkdir()
    (tmp_path / "forms" / "pick.json").write_text(FORM, encoding="utf-8")
    (tmp_path / "forms" / "pick.ui.yaml").write_text("order: [color]\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not config", encoding="utf-8")
    files = read_bundle_dir(tmp_path)
    assert list(files) == ["crm_model/entities/item.yaml", "forms/pick.json", "forms/pick.ui.yaml"]


def test_read_bundle_dir_reports_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "crm_model" / "catalogs").mkdir(parents=True)
    (tmp_path / "crm_model" / "catalogs" / "color.yaml").write_bytes("label: Цвет".encode("cp1251"))
    with pytest.raises(ConfigError) as caught:
        read_bundle_dir(tmp_path)
    assert [p.file for p in caught.value.problems] == ["crm_model/catalogs/color.yaml"]
    assert "UTF-8" in caught.value.problems[0].message


def test_yaml_loader_records_lines_of_mappings_keys_and_lists() -> None:
    data = load_yaml("a: 1\nb:\n  c: [1, 2]\n  d: 2024-05-01\n", "x.yaml")
    assert isinstance(data, LineMap)
    assert (data.line, data.key_lines) == (1, {"a": 1, "b": 2})
    assert data["b"].key_lines == {"c": 3, "d": 4}
    assert isinstance(data["b"]["c"], LineList)
    assert data["b"]["c"].line == 3
    assert data["b"]["d"] == "2024-05-01"  # dates stay text, as in JSON


def test_yaml_syntax_error_is_a_problem_with_line() -> None:
    problem = only_problem(
        files_with({"crm_model/catalogs/color.yaml": "catalog: color\nvalues: [a\nlabel: x\n"})
    )
    assert problem.file == "crm_model/catalogs/color.yaml"
    assert problem.line == 3
    assert "YAML syntax error" in problem.message


def test_duplicate_yaml_key_is_a_problem_at_the_second_key() -> None:
    text = ENTITY.replace("title_field: name\n", "title_field: name\ntitle_field: color\n")
    problem = only_problem(files_with({"crm_model/entities/item.yaml": text}))
    assert (problem.file, problem.line, problem.element) == ("crm_model/entities/item.yaml", 4, "title_field")
    assert "duplicate key" in problem.message


def test_unknown_top_level_key_is_reported_with_its_line() -> None:
    problem = only_problem(files_with({"crm_model/entities/item.yaml": ENTITY + "colour: red\n"}))
    assert (problem.line, problem.element) == (7, "colour")
    assert "unknown key 'colour'" in problem.message


def test_entity_name_must_match_file_stem() -> None:
    problem = problems_of(files_with({"crm_model/entities/item.yaml": ENTITY.replace("Item", "Thing")}))[0]
    assert (problem.file, problem.line, problem.element) == ("crm_model/entities/item.yaml", 1, "Thing")
    assert "crm_model/entities/thing.yaml" in problem.message


def test_entity_defined_in_two_files_is_a_duplicate() -> None:
    problems = problems_of(files_with({"crm_model/entities/items.yaml": ENTITY}))
    assert any(p.file == "crm_model/entities/items.yaml" and "already defined" in p.message for p in problems)


def test_unknown_field_type_lists_the_valid_types() -> None:
    text = ENTITY.replace("{type: string, required", "{type: strng, required")
    problem = only_problem(files_with({"crm_model/entities/item.yaml": text}))
    assert (problem.line, problem.element) == (5, "Item.name")
    assert "unknown field type 'strng'" in problem.message
    assert ", ".join(FIELD_TYPES) in problem.message


def test_unknown_field_option_is_reported() -> None:
    text = ENTITY.replace("required: true,", "required: true, maxlen: 5,")
    problem = only_problem(files_with({"crm_model/entities/item.yaml": text}))
    assert (problem.line, problem.element) == (5, "Item.name")
    assert "unknown option 'maxlen'" in problem.message


def test_option_for_another_field_type_is_reported() -> None:
    text = ENTITY.replace("catalog: color,", "catalog: color, max_length: 3,")
    problem = only_problem(files_with({"crm_model/entities/item.yaml": text}))
    assert problem.element == "Item.color"
    assert "max_length' applies only to string, text" in problem.message


@pytest.mark.parametrize(
    ("old", "new", "line", "element", "words"),
    [
        ("label: {en: Item, ru: Предмет}", "label: {en: Item}", 2, "Item", "label is missing ru"),
        ("label: {en: Name, ru: Название}", "label: {ru: Название}", 5, "Item.name", "label is missing en"),
        ("catalog: color, default", "default", 6, "Item.color", "needs catalog"),
        ("catalog: color", "catalog: colour", 6, "Item.color", "unknown catalog 'colour'"),
        (
            "default: red",
            "default: green",
            6,
            "Item.color",
            "default 'green' is not valid: must be one of: red, blue",
        ),
        (
            "title_field: name",
            "title_field: title",
            3,
            "Item",
            "title_field 'title' must name a field of Item",
        ),
    ],
)
def test_entity_problem_is_located(old: str, new: str, line: int, element: str, words: str) -> None:
    problem = only_problem(files_with({"crm_model/entities/item.yaml": ENTITY.replace(old, new)}))
    assert (problem.file, problem.line, problem.element) == ("crm_model/entities/item.yaml", line, element)
    assert words in problem.message


def test_reference_to_unknown_entity_is_reported() -> None:
    text = ENTITY + "  owner: {type: reference, entity: Person, label: {en: Owner, ru: Владелец}}\n"
    problem = only_problem(files_with({"crm_model/entities/item.yaml": text}))
    assert (problem.line, problem.element) == (7, "Item.owner")
    assert "unknown entity 'Person'; known entities: Item" in problem.message


def test_default_of_wrong_type_is_reported() -> None:
    text = ENTITY + "  size: {type: integer, default: big, label: {en: Size, ru: Размер}}\n"
    problem = only_problem(files_with({"crm_model/entities/item.yaml": text}))
    assert (problem.line, problem.element) == (7, "Item.size")
    assert "must be a whole number" in problem.message


def test_duplicate_catalog_code_is_reported_at_the_second_value() -> None:
    text = CATALOG + "  - {code: red, label: {en: Red again, ru: Снова красный}}\n"
    problem = only_problem(files_with({"crm_model/catalogs/color.yaml": text}))
    assert (problem.file, problem.line, problem.element) == ("crm_model/catalogs/color.yaml", 6, "color.red")
    assert "duplicate code 'red'" in problem.message


def test_catalog_name_must_match_file_stem() -> None:
    files = files_with({"crm_model/catalogs/color.yaml": None, "crm_model/catalogs/colors.yaml": CATALOG})
    problem = only_problem(files)
    assert (problem.file, problem.line, problem.element) == ("crm_model/catalogs/colors.yaml", 1, "color")
    assert "crm_model/catalogs/color.yaml" in problem.message


def test_every_problem_in_the_bundle_is_reported_at_once() -> None:
    files = files_with(
        {
            "crm_model/catalogs/color.yaml": CATALOG.replace("ru: Синий", "de: Blau"),
            "crm_model/entities/item.yaml": ENTITY.replace("type: string", "type: text2") + "extra: 1\n",
            "forms/pick.json": FORM.replace('"x-variable": true', '"x-variable": false'),
        }
    )
    problems = problems_of(files)
    assert [(p.file, p.line) for p in problems] == [
        ("crm_model/catalogs/color.yaml", 5),
        ("crm_model/entities/item.yaml", 5),
        ("crm_model/entities/item.yaml", 7),
        ("forms/pick.json", 6),
    ]


def test_unexpected_file_in_crm_model_is_reported() -> None:
    problem = only_problem(files_with({"crm_model/entity/lead.yaml": ENTITY}))
    assert problem.file == "crm_model/entity/lead.yaml"
    assert "unexpected file" in problem.message


def test_settings_with_unknown_region_is_reported() -> None:
    problem = only_problem(files_with({"crm_model/settings.yaml": "default_region: XX\ncurrency: RUB\n"}))
    assert (problem.file, problem.line, problem.element) == ("crm_model/settings.yaml", 1, "default_region")


def test_form_with_invalid_json_reports_the_decoder_line() -> None:
    problem = only_problem(files_with({"forms/pick.json": FORM.replace('"color": {},', '"color": {}')}))
    assert (problem.file, problem.line) == ("forms/pick.json", 6)
    assert problem.message.startswith("invalid JSON")


def test_form_that_is_not_a_json_schema_reports_the_property_line() -> None:
    problem = only_problem(
        files_with({"forms/pick.json": FORM.replace('"type": "string"', '"type": "strin"')})
    )
    assert (problem.file, problem.line, problem.element) == ("forms/pick.json", 6, "note")
    assert "not a valid JSON Schema" in problem.message


def test_form_with_unknown_x_entity_is_reported() -> None:
    problem = only_problem(files_with({"forms/pick.json": FORM.replace('"Item"', '"Thing"')}))
    assert (problem.file, problem.line, problem.element) == ("forms/pick.json", 3, "x-entity")
    assert "unknown entity 'Thing'" in problem.message


def test_form_property_neither_field_nor_variable_is_reported() -> None:
    problem = only_problem(files_with({"forms/pick.json": FORM.replace('"color": {}', '"foo": {}')}))
    assert (problem.file, problem.line, problem.element) == ("forms/pick.json", 5, "foo")
    assert problem.message == (
        "form field 'foo' is not a field of entity Item; "
        'mark it "x-variable": true if it is a process variable'
    )


def test_form_property_with_unknown_x_catalog_is_reported() -> None:
    text = FORM.replace('"x-variable": true', '"x-variable": true, "x-catalog": "size"')
    problem = only_problem(files_with({"forms/pick.json": text}))
    assert (problem.line, problem.element) == (6, "note")
    assert "unknown catalog 'size'" in problem.message


def test_form_record_field_with_a_conflicting_type_is_reported() -> None:
    problem = only_problem(
        files_with({"forms/pick.json": FORM.replace('"color": {}', '"color": {"type": "integer"}')})
    )
    assert (problem.line, problem.element) == (5, "color")
    assert "takes its type from Item" in problem.message


def test_form_requiring_an_undeclared_property_is_reported() -> None:
    text = FORM.replace('"x-entity"', '"required": ["colour"],\n  "x-entity"')
    problem = only_problem(files_with({"forms/pick.json": text}))
    assert (problem.line, problem.element) == (3, "colour")


def test_ui_hints_for_a_missing_form_are_reported() -> None:
    problem = only_problem(files_with({"forms/other.ui.yaml": "order: [a]\n"}))
    assert (problem.file, problem.line, problem.element) == ("forms/other.ui.yaml", 1, "other")
    assert "missing form" in problem.message


def test_ui_hints_naming_an_unknown_field_are_reported() -> None:
    problem = only_problem(
        files_with({"forms/pick.ui.yaml": "order: [color, note]\nfields:\n  nope: {widget: textarea}\n"})
    )
    assert (problem.file, problem.line, problem.element) == ("forms/pick.ui.yaml", 3, "nope")


def test_catalog_code_read_as_yaml_boolean_asks_for_quotes() -> None:
    text = CATALOG.replace("code: blue", "code: no")
    problem = only_problem(files_with({"crm_model/catalogs/color.yaml": text}))
    assert (problem.line, problem.element) == (5, "color")
    assert "put it in quotes" in problem.message


def test_non_text_yaml_key_is_reported() -> None:
    text = ENTITY + "  1: {type: string, label: {en: One, ru: Один}}\n"
    problems = problems_of(files_with({"crm_model/entities/item.yaml": text}))
    assert (problems[0].line, problems[0].message) == (7, "key 1 must be text; put it in quotes")
