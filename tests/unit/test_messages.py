"""Engine messages by code: every code has an English and a Russian text with the same parameters, every code the
engine raises is in the catalogs, and a message renders in the reader's language keeping its parameters."""

from __future__ import annotations

import pickle
import re

import pytest

from engine.config.loader import load_bundle
from engine.config.schemas import message_templates, structure_problems
from engine.config.yaml_lines import load_yaml
from engine.errors import ConfigError
from engine.imports.convert import BadValue, to_boolean, to_date
from engine.messages import LOCALES, Message, localized, render, slots, stored_text, template_translations, templates
from tests.conftest import ROOT

CODE = re.compile(r"""Message\(\s*["']([a-z_]+\.[a-z_]+)["']""")


def codes_in_source() -> set[str]:
    """The codes the engine's, the web's and the CLI's Python source passes to Message(...)."""
    found: set[str] = set()
    for package in ("engine", "web", "cli"):
        for path in (ROOT / package).rglob("*.py"):
            found |= set(CODE.findall(path.read_text(encoding="utf-8")))
    return found


def test_the_source_uses_coded_messages_and_each_is_in_the_english_catalog() -> None:
    used = codes_in_source()
    assert len(used) >= 10  # the import's cell and row reasons at least
    assert sorted(used - set(templates("en"))) == []


# Parameters a translation shows that the English text leaves out: a YAML syntax error's English stays PyYAML's
# wording as it always was (the line is in file:line), a translation names the column too.
SHOWN_ONLY_IN_TRANSLATIONS = {"config.yaml_syntax_at": {"column"}}


@pytest.mark.parametrize("locale", [locale for locale in LOCALES if locale != "en"])
def test_every_message_code_has_a_text_in_every_language_with_the_same_parameters(locale: str) -> None:
    english, other = templates("en"), templates(locale)
    assert sorted(set(english) ^ set(other)) == []
    assert {code: slots(text) for code, text in other.items()} == {
        code: slots(text) | SHOWN_ONLY_IN_TRANSLATIONS.get(code, set()) for code, text in english.items()
    }
    assert [code for code, text in other.items() if text == english[code]] == []  # none left in English


def test_a_message_is_its_english_text_and_renders_in_russian_with_its_parameters() -> None:
    with pytest.raises(BadValue) as bad:
        to_date("вчера")
    (message,) = bad.value.messages
    assert message == "'вчера' is not a date (use dd.mm.yyyy or yyyy-mm-dd)"  # logs and the CLI stay English
    assert localized(message, "ru") == "«вчера» — не дата (пишите дд.мм.гггг или гггг-мм-дд)"
    assert localized("plain text", "ru") == "plain text"
    stored = {"column": "Дата", "reason": str(message), **message.as_dict()}
    assert stored_text(stored, "ru") == "«вчера» — не дата (пишите дд.мм.гггг или гггг-мм-дд)"
    assert stored_text({"column": "", "reason": "is required"}, "ru") is None  # stored before codes: the caller's
    assert render("import.row_width", {"values": 3, "columns": 2}, "fr") == (
        "the row has 3 values but the header names 2 columns"
    )  # an unknown language reads English


def test_a_message_survives_the_trip_to_the_import_worker_process() -> None:
    with pytest.raises(BadValue) as bad:
        to_boolean("может быть")
    message = pickle.loads(pickle.dumps(bad.value.messages[0]))  # noqa: S301 - our own bytes
    assert isinstance(message, Message)
    assert (message.code, message.params) == ("import.not_boolean", {"value": "может быть"})


SLOT = re.compile(r"\{@?[a-z_]+(?:!r)?\}")


@pytest.mark.parametrize("locale", [locale for locale in LOCALES if locale != "en"])
def test_every_configuration_schema_message_has_a_translation_with_the_same_slots(locale: str) -> None:
    translations = template_translations(locale)
    wanted = message_templates()
    assert len(wanted) > 100
    assert sorted(wanted - set(translations)) == []
    assert sorted(set(translations) - wanted) == []  # none left behind by a changed template
    assert {en: sorted(SLOT.findall(translations[en])) for en in wanted} == {
        en: sorted(SLOT.findall(en)) for en in wanted
    }


def test_a_configuration_problem_reads_in_russian_naming_the_file_line_and_value() -> None:
    found = structure_problems("entity", load_yaml("entity: Deal\nfields:\n  amount: {type: monye}\n", "deal.yaml"))
    ((line, _, message),) = found
    assert line == 3
    assert message.startswith("unknown field type 'monye'; valid types: string")  # English where no reader is
    assert localized(message, "ru").startswith("неизвестный тип поля 'monye'; допустимые типы: string")
    ((_, _, message),) = structure_problems("board", load_yaml("board: deals\nentity: Deal\ncolumns: []\n", "b.yaml"))
    assert localized(message, "ru") == "columns — непустой список {code, via?, requires?}"


def test_a_cross_check_of_an_entity_reads_in_russian(bundle_files: dict[str, str]) -> None:
    path = "crm_model/entities/deal.yaml"
    broken = bundle_files[path].replace("label: {en: Deal, ru: Сделка}", "label: {en: Deal}", 1)
    assert broken != bundle_files[path]
    with pytest.raises(ConfigError) as error:
        load_bundle({**bundle_files, path: broken})
    assert [(p.file, localized(p.message, "ru")) for p in error.value.problems] == [(path, "в label нет перевода: ru")]
    assert [p.message for p in error.value.problems] == ["label is missing ru"]
