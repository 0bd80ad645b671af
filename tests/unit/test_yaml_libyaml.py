"""Configuration YAML is read through libyaml's parser (engine/config/yaml_lines.py `_FastLineLoader`): the same
values, lines and problems as PyYAML's pure-Python loader for every YAML file in the repository, and a syntax error
still in PyYAML's own words (the catalogs translate its sentences)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.config import yaml_lines
from engine.config.yaml_lines import LineList, LineMap, load_yaml
from engine.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted(
    p for pattern in ("*.yaml", "*.yml") for p in ROOT.rglob(pattern) if not {".venv", "node_modules"} & set(p.parts)
)


def _with_lines(value: Any) -> Any:
    if isinstance(value, LineMap):
        return ["map", value.line, dict(value.key_lines), {k: _with_lines(v) for k, v in value.items()}]
    if isinstance(value, LineList):
        return ["list", value.line, list(value.item_lines), [_with_lines(v) for v in value]]
    return [type(value).__name__, value]


def _read(loader: type, text: str) -> tuple[Any, list[str]]:
    """The document with its lines and problems; a refused one (the broken fixtures) as 'refused' (load_yaml reads
    what libyaml refuses again through PyYAML, whose words name the error)."""
    reader = loader(text, "f.yaml")
    try:
        return _with_lines(reader.get_single_data()), [str(p) for p in reader.problems]
    except yaml.YAMLError:
        return "refused", []
    finally:
        reader.dispose()


def test_the_repository_holds_yaml_to_compare() -> None:
    assert len(FILES) > 100


def test_every_yaml_file_reads_the_same_through_libyaml() -> None:
    differ = [p for p in FILES if _read(yaml_lines._FastLineLoader, t := p.read_text("utf-8")) != _read(
        yaml_lines._LineLoader, t)]
    assert not differ


@pytest.mark.parametrize(
    "text",
    [
        "on: 1\nyes: 2\n'no': 3\n",  # a bare boolean key is the word; a quoted one too
        "a: &x [1, 2]\nb: *x\nc: {d: 2026-01-02, e: 1.5, f: ~}\n",
        "a: 1\na: 2\n3: x\n",  # a duplicate key and a key that is not text: problems, by line
        "- x\n-\n  - y\n  - {z: 1}\n",
    ],
)
def test_keys_aliases_dates_and_problems_read_the_same(text: str) -> None:
    assert _read(yaml_lines._FastLineLoader, text) == _read(yaml_lines._LineLoader, text)


def test_a_syntax_error_keeps_pyyamls_wording_and_line() -> None:
    with pytest.raises(ConfigError) as caught:
        load_yaml("entity: X\nfields: [a, b\nlabel: y\n", "crm_model/entities/x.yaml")
    [problem] = caught.value.problems
    assert (problem.file, problem.line) == ("crm_model/entities/x.yaml", 3)
    # libyaml would say "did not find expected ',' or ']'"
    assert "expected ',' or ']', but got" in str(problem.message)


def test_plain_safe_load_reads_every_file_as_pyyaml_does() -> None:
    for path in FILES:
        text = path.read_text("utf-8")
        try:
            expected = yaml.safe_load(text)
        except yaml.YAMLError:
            continue
        assert yaml_lines.safe_load(text) == expected, path


def test_plain_safe_load_raises_pyyamls_error() -> None:
    with pytest.raises(yaml.YAMLError, match=r"expected ',' or '\]', but got ':'"):
        yaml_lines.safe_load("fields: [a, b\nlabel: y\n")
