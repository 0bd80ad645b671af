"""Every problem `flowcrm check` finds in a broken bundle reads in Russian for a Russian reader — cross-checks of
rules, actions, pipelines, reports, events, timelines, settings, forms, templates and PyYAML's syntax errors — naming
the same file, line and element, while the English stays byte-identical to what it was. The bundles are
tests/fixtures/broken_config/<case>/ laid over the shipped one."""

from __future__ import annotations

import re

import pytest

from engine.errors import ConfigError, Problem
from engine.messages import Message, Templated, localized
from engine.services.deployments import analyse
from tests.conftest import ROOT

BROKEN = ROOT / "tests" / "fixtures" / "broken_config"
CASES = sorted(path.name for path in BROKEN.iterdir() if path.is_dir())
QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|«[^»]*»|`[^`]*`")  # values and names the reader wrote, kept as written
ENGLISH_RUN = re.compile(r"[A-Za-z]+(?: [A-Za-z]+){2,}")  # three English words in a row: a sentence left in English
CYRILLIC = re.compile("[а-яё]", re.IGNORECASE)


def broken_bundle(shipped: dict[str, str], case: str) -> dict[str, str]:
    """The shipped bundle with the files of the case laid over it."""
    files = dict(shipped)
    for path in sorted((BROKEN / case).rglob("*")):
        if path.is_file():
            files[path.relative_to(BROKEN / case).as_posix()] = path.read_text(encoding="utf-8")
    return files


def problems_of(files: dict[str, str]) -> list[Problem]:
    with pytest.raises(ConfigError) as error:
        analyse(files, [])
    return error.value.problems


def english_left(text: str) -> list[str]:
    """Runs of English words in `text` outside quotes (file names and codes have no spaces)."""
    return ENGLISH_RUN.findall(QUOTED.sub("", text))


@pytest.mark.parametrize("case", CASES)
def test_every_problem_of_a_broken_bundle_reads_in_russian_at_the_same_place(
    case: str, bundle_files: dict[str, str]
) -> None:
    problems = problems_of(broken_bundle(bundle_files, case))
    assert len(problems) >= 10
    for problem in problems:
        russian = localized(problem.message, "ru")
        assert isinstance(problem.message, Message | Templated), str(problem)
        assert CYRILLIC.search(russian), str(problem)
        assert english_left(russian) == [], f"{problem} → {russian}"


@pytest.mark.parametrize("case", CASES)
def test_the_english_of_a_broken_bundle_is_what_it_was(case: str, bundle_files: dict[str, str]) -> None:
    problems = problems_of(broken_bundle(bundle_files, case))
    before = (BROKEN / f"{case}.en.txt").read_text(encoding="utf-8").splitlines()
    assert [str(problem) for problem in problems] == before


def test_a_yaml_syntax_error_reads_in_russian_with_its_line_and_column(bundle_files: dict[str, str]) -> None:
    problems = {p.file: p for p in problems_of(broken_bundle(bundle_files, "yaml"))}
    wrong_indent = problems["crm_model/reports/syntax_b.yaml"]
    assert wrong_indent.line == 5
    assert wrong_indent.message == ("YAML syntax error: while parsing a block mapping; expected <block end>, but found "
                                    "'<block mapping start>'")
    assert localized(wrong_indent.message, "ru") == (
        "ошибка синтаксиса YAML в столбце 2: в словаре; неверный отступ: ожидался конец блока, а найдено начало "
        "словаря («ключ: значение»)")
    unclosed = problems["crm_model/pipelines/syntax_c.yaml"]
    assert localized(unclosed.message, "ru").endswith("в строке в кавычках; файл закончился раньше времени — не "
                                                      "закрыта кавычка")
    colon = problems["crm_model/rules/syntax_a.yaml"]
    assert (colon.line, localized(colon.message, "ru").split(":")[0]) == (4, "ошибка синтаксиса YAML в столбце 12")


def test_a_rule_cycle_reads_in_russian_reason_by_reason(bundle_files: dict[str, str]) -> None:
    (cycle,) = [p for p in problems_of(broken_bundle(bundle_files, "rules")) if "forever" in p.message]
    assert (cycle.file, cycle.line, cycle.element) == ("crm_model/rules/wrong_name.yaml", 1, "loop_a")
    assert localized(cycle.message, "ru") == (
        "правила бесконечно запускают друг друга: loop_a → loop_b → loop_a (loop_a пишет first_name, а loop_b "
        "срабатывает при изменении first_name; loop_b пишет position, а loop_a срабатывает при изменении position)")


def test_a_library_sentence_the_catalog_does_not_know_stays_as_the_library_wrote_it() -> None:
    from engine.messages import sentence

    assert sentence("found a brand new kind of problem", "pyyaml") == "found a brand new kind of problem"
    assert type(sentence("found a brand new kind of problem", "pyyaml")) is str
    matched = sentence("could not find expected ':'", "pyyaml")
    assert isinstance(matched, Message)
    assert (matched, localized(matched, "ru")) == (
        "could not find expected ':'", "не найдено ожидаемое двоеточие «:» после ключа")


def test_the_configuration_editor_refuses_a_field_in_the_readers_language(bundle_files: dict[str, str]) -> None:
    from engine.config.loader import load_bundle
    from engine.errors import ValidationError
    from engine.services.config_changes import field_spec

    bundle = load_bundle(bundle_files)
    with pytest.raises(ValidationError) as changed:
        field_spec(bundle, "Contact", {"name": "phone", "type": "integer", "label": {"en": "Phone", "ru": "Телефон"}})
    ((field, (message,)),) = changed.value.errors.items()
    assert (field, message) == ("type", "Contact.phone is a phone field; changing the type of a field that may hold "
                                        "data is done in the files, where its values can be converted")
    assert localized(message, "ru") == ("Contact.phone — поле типа phone; тип поля, в котором уже могут быть данные, "
                                        "меняют в файлах, где его значения можно преобразовать")
    with pytest.raises(ValidationError) as named:
        field_spec(bundle, "Contact", {"name": "Shoe Size", "type": "integer"})
    assert [localized(m, "ru") for m in named.value.errors["name"]] == [
        "имя поля пишется в snake_case, например delivery_date"]
