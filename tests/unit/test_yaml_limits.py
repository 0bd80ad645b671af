"""Deployed YAML is bounded: size, nesting, alias expansion; control characters are refused by file and line."""

from __future__ import annotations

import pytest

from engine.config.yaml_lines import load_yaml
from engine.errors import ConfigError, Problem
from engine.input_limits import MAX_YAML_CHARS


def problems_of(text: str) -> list[Problem]:
    with pytest.raises(ConfigError) as caught:
        load_yaml(text, "crm_model/entities/x.yaml")
    return caught.value.problems


@pytest.mark.parametrize(
    ("char", "code"), [("\x00", "0000"), ("\x07", "0007"), ("\x1b", "001B"), ("\x7f", "007F"), ("\ud800", "D800")]
)
def test_control_characters_are_refused_with_file_line_and_column(char: str, code: str) -> None:
    [problem] = problems_of(f"entity: X\nlabel: {{en: 'A{char}B'}}\n")
    assert (problem.file, problem.line) == ("crm_model/entities/x.yaml", 2)
    assert problem.message == f"control character U+{code} at column 15: YAML files may hold only printable text"


def test_tabs_line_breaks_and_unicode_text_are_fine() -> None:
    assert load_yaml("a:\r\n  b: 'x\ty'\n  c: Привет 👋\n", "f.yaml") == {"a": {"b": "x\ty", "c": "Привет 👋"}}


@pytest.mark.parametrize(
    "text", ["[" * 100_000, "a: " + "[" * 5000, "a:\n" + "".join(f"{'  ' * i}k{i}:\n" for i in range(1, 80))]
)
def test_nesting_deeper_than_64_levels_is_refused_not_a_crash(text: str) -> None:
    [problem] = problems_of(text)
    assert problem.message == "YAML value too large: nested deeper than 64 levels"
    assert problem.line is not None


def test_sixty_four_levels_are_fine() -> None:
    assert load_yaml("[" * 63 + "]" * 63, "f.yaml") is not None


def test_an_alias_bomb_is_refused_at_the_line_where_it_expands_past_the_limit() -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]" for i in range(8)]
    [problem] = problems_of("\n".join(lines))
    assert problem.line == 6  # f: ten copies of e, 111,111 values each
    assert "expands to more than 200000 values (aliases count as copies)" in problem.message


def test_a_few_aliases_are_fine() -> None:
    data = load_yaml("base: &base {type: string}\nname: *base\ntitle: {<<: *base, max_length: 5}\n", "f.yaml")
    assert data["title"] == {"type": "string", "max_length": 5}


def test_a_file_over_the_size_limit_is_refused_before_parsing() -> None:
    [problem] = problems_of("#" * (MAX_YAML_CHARS + 1))
    assert problem.message == f"the file is {MAX_YAML_CHARS + 1} characters; at most {MAX_YAML_CHARS} are read"
