"""Browser edits of entity and catalog files change only the lines they are about, read back as intended, and
are refused rather than written when they cannot be made safely."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from engine.config.edits import EditError, put_field, put_value
from engine.config.loader import load_bundle, read_bundle_dir
from engine.config.yaml_lines import load_yaml, plain

ROOT = Path(__file__).parents[2]
ENTITY = """\
# A comment the admin wrote stays.
entity: Item
label: {en: Item, ru: Предмет}
title_field: name
fields:
  name:   {type: string, required: true, label: {en: Name, ru: Название}}
  # the colour of the item
  color:  {type: enum, catalog: color,
           label: {en: Color, ru: Цвет}}

# trailing comment
"""
TREE = """\
catalog: kind
label: {en: Kind, ru: Вид}
values:
  - code: goods
    label: {en: Goods, ru: Товары}
    children:
      - {code: phones, label: {en: Phones, ru: Телефоны}}
  - {code: services, label: {en: Services, ru: Услуги}}
# end
"""
LABEL = {"en": "Weight", "ru": "Вес"}


def changed_lines(old: str, new: str) -> list[str]:
    return [line for line in difflib.unified_diff(old.split("\n"), new.split("\n"), lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def test_a_new_field_is_one_added_line_aligned_with_the_others() -> None:
    new = put_field(ENTITY, "item.yaml", "weight", {"type": "decimal", "label": LABEL})
    assert changed_lines(ENTITY, new) == ["+  weight: {type: decimal, label: {en: Weight, ru: Вес}}"]
    assert new.index("weight") > new.index("label: {en: Color")  # after the last field, before the comment
    assert "# trailing comment" in new
    assert "# A comment the admin wrote stays." in new


def test_a_changed_field_replaces_its_own_lines_only() -> None:
    spec = {"type": "enum", "catalog": "color", "required": True, "label": {"en": "Colour", "ru": "Цвет"}}
    new = put_field(ENTITY, "item.yaml", "color", spec)
    assert changed_lines(ENTITY, new) == [
        "-  color:  {type: enum, catalog: color,",
        "-           label: {en: Color, ru: Цвет}}",
        "+  color:  {type: enum, catalog: color, required: true, label: {en: Colour, ru: Цвет}}",
    ]
    assert plain(load_yaml(new, "item.yaml"))["fields"]["color"] == spec


def test_a_field_in_a_file_without_fields_is_refused() -> None:
    with pytest.raises(EditError) as caught:
        put_field("entity: Item\nfields: {}\n", "item.yaml", "weight", {"type": "string", "label": LABEL})
    assert "has no fields mapping" in str(caught.value.errors)


def test_values_are_added_at_the_top_and_under_a_parent_with_or_without_children() -> None:
    top = put_value(TREE, "kind.yaml", "rent", {"en": "Rent", "ru": "Аренда"}, None)
    assert changed_lines(TREE, top) == ["+  - {code: rent, label: {en: Rent, ru: Аренда}}"]
    under = put_value(TREE, "kind.yaml", "tablets", {"en": "Tablets", "ru": "Планшеты"}, "goods")
    assert changed_lines(TREE, under) == ["+      - {code: tablets, label: {en: Tablets, ru: Планшеты}}"]
    first_child = put_value(TREE, "kind.yaml", "repair", {"en": "Repair", "ru": "Ремонт"}, "services")
    values = plain(load_yaml(first_child, "kind.yaml"))["values"]
    assert values[1] == {"code": "services", "label": {"en": "Services", "ru": "Услуги"},
                         "children": [{"code": "repair", "label": {"en": "Repair", "ru": "Ремонт"}}]}
    assert first_child.endswith("# end\n")


def test_a_value_is_relabelled_where_it_stands() -> None:
    new = put_value(TREE, "kind.yaml", "phones", {"en": "Mobile phones", "ru": "Мобильные"}, None)
    assert changed_lines(TREE, new) == [
        "-      - {code: phones, label: {en: Phones, ru: Телефоны}}",
        "+      - {code: phones, label: {en: Mobile phones, ru: Мобильные}}",
    ]
    block = put_value(TREE, "kind.yaml", "goods", {"en": "Products", "ru": "Продукты"}, None)
    assert changed_lines(TREE, block) == ["-    label: {en: Goods, ru: Товары}",
                                          "+    label: {en: Products, ru: Продукты}"]


def test_an_unknown_parent_is_refused() -> None:
    with pytest.raises(EditError) as caught:
        put_value(TREE, "kind.yaml", "x", {"en": "X", "ru": "Х"}, "nope")
    assert caught.value.errors == {"parent": ["no value 'nope' in kind.yaml"]}


@pytest.mark.parametrize("path", sorted(p.relative_to(ROOT).as_posix() for p in ROOT.glob("crm_model/entities/*.yaml")))
def test_every_shipped_entity_takes_a_new_field_and_still_loads(path: str) -> None:
    files = read_bundle_dir(ROOT)
    spec = {"type": "string", "label": {"en": "Note", "ru": "Заметка"}}
    files[path] = put_field(files[path], path, "browser_note", spec)
    bundle = load_bundle(files)
    entity = next(e for e in bundle.entities.values() if e.file == path)
    assert entity.fields["browser_note"].label == {"en": "Note", "ru": "Заметка"}
