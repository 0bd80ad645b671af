"""One source for Russian value messages: English a coded message says is translated from the engine's catalogs,
and each pattern left under `engine_messages:` in web/translations is English no catalog code says, that the
source still writes and that the pattern translates."""

from __future__ import annotations

import re
from string import Formatter

import pytest
import yaml

from engine.messages import templates
from tests.conftest import ROOT
from web.i18n import ENGINE_MESSAGES, TRANSLATIONS, engine_message


def _shape(template: str) -> tuple[str, ...]:
    """A template's literal text around its parameters, whatever they are named."""
    return tuple(literal for literal, _, _, _ in Formatter().parse(template.replace("!r}", "}")))


def patterns() -> list[str]:
    """Every English pattern of the Russian web catalogs' engine_messages sections."""
    found = []
    for path in [TRANSLATIONS / "ru.yaml", *sorted((TRANSLATIONS / "ru").glob("*.yaml"))]:
        found += list((yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get(ENGINE_MESSAGES) or {})
    return found


SOURCE = re.sub(  # a text written over two lines ("... you " f"edited ...") read as one
    r"[\"']\s*\n\s*f?[\"']",
    "",
    "\n".join(
        path.read_text(encoding="utf-8")
        for package in ("engine", "web", "cli")
        for path in (ROOT / package).rglob("*.py")
    ),
)


def test_no_pattern_repeats_a_coded_message() -> None:
    coded = {_shape(template) for template in templates("en").values()}
    assert [english for english in patterns() if _shape(english) in coded] == []


@pytest.mark.parametrize("english", patterns())
def test_each_pattern_is_english_the_source_writes_and_it_translates(english: str) -> None:
    literals = [re.escape(literal.strip()) for literal in re.split(r"\{[xyz]\}", english)]
    written = r"[^\n]*?".join(literals).replace(r"\'", r"(?:\\'|')")
    assert re.search(written, SOURCE), f"no source writes {english!r}: delete the pattern"
    sample = english.replace("{x}", "A1").replace("{y}", "B2").replace("{z}", "C3")
    assert engine_message(sample, "ru") != sample


@pytest.mark.parametrize(
    ("english", "russian"),
    [
        ("is required", "обязательное поле"),
        ("must be at least 3 characters", "не короче 3 символов"),
        ("must be at least 3", "не меньше 3"),
        ("must have at least 2 values", "нужно не меньше 2 значений"),
        (
            "unknown time zone 'Mars/Base'; use an IANA name such as Europe/Moscow",
            "неизвестный часовой пояс 'Mars/Base'; укажите имя IANA, например Europe/Moscow",
        ),
    ],
)
def test_a_value_message_is_translated_from_the_coded_catalog(english: str, russian: str) -> None:
    assert engine_message(english, "ru") == russian
    assert engine_message(english, "en") == english
