"""forms/*.json label nodes with `x-label: {en, ru}` as YAML does; the old `title`/`x-title` load with a warning."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from engine.config.loader import load_bundle, read_bundle_dir
from engine.errors import Problem
from tests.unit.bundle_helpers import changed, only_problem

ROOT = Path(__file__).resolve().parents[2]
PATH = "forms/probe_labels.json"
OLD_STYLE = """{
  "title": "Qualify the lead",
  "x-title": {"ru": "Квалификация лида"},
  "type": "object",
  "x-entity": "Lead",
  "properties": {
    "outcome": {
      "x-variable": true,
      "type": "string",
      "enum": ["convert", "nurture", "disqualify"],
      "x-label": {"en": "Outcome", "ru": "Решение"},
      "title": "Result"
    },
    "comment": {
      "x-variable": true,
      "type": "string",
      "title": "Comment",
      "x-title": {"ru": "Комментарий"}
    }
  }
}
"""


@pytest.fixture(scope="module")
def shipped() -> dict[str, str]:
    return read_bundle_dir(ROOT)


def test_shipped_forms_use_x_label_only(shipped: dict[str, str]) -> None:
    warnings: list[Problem] = []
    forms = load_bundle(shipped, warnings).forms
    assert warnings == []
    assert forms["qualify_lead"].schema["x-label"] == {"en": "Qualify the lead", "ru": "Квалификация лида"}
    for path in [*ROOT.glob("forms/*.json"), *ROOT.glob("examples/*/forms/*.json")]:
        text = path.read_text(encoding="utf-8")
        assert '"title"' not in text, path
        assert '"x-title"' not in text, path


def test_old_title_and_x_title_load_with_a_warning_naming_file_pointer_and_the_x_label_to_write(
    shipped: dict[str, str],
) -> None:
    warnings: list[Problem] = []
    form = load_bundle(changed(shipped, {PATH: OLD_STYLE}), warnings).forms["probe_labels"]
    assert form.schema["properties"]["comment"]["title"] == "Comment"  # still loads as written
    found = [(w.file, w.line, w.element, w.message) for w in warnings]
    assert found == [
        (
            PATH,
            2,
            None,
            '#: "title" and "x-title" are deprecated; write "x-label": '
            '{"en": "Qualify the lead", "ru": "Квалификация лида"}',
        ),
        (PATH, 12, "outcome", '#/properties/outcome: "title" ignored: x-label wins; remove "title"'),
        (
            PATH,
            17,
            "comment",
            '#/properties/comment: "title" and "x-title" are deprecated; write "x-label": '
            '{"en": "Comment", "ru": "Комментарий"}',
        ),
    ]


def test_x_label_missing_a_configured_language_is_a_problem_at_its_line(shipped: dict[str, str]) -> None:
    text = json.dumps({"x-label": {"en": "Qualify"}, "type": "object", "x-entity": "Lead", "properties": {}}, indent=2)
    problem = only_problem(changed(shipped, {PATH: text}))
    assert (problem.file, problem.line, problem.element) == (PATH, 2, None)
    assert "ru" in problem.message


def test_flowcrm_check_warns_for_an_old_style_form_and_strict_refuses(tmp_path: Path) -> None:
    from click.testing import CliRunner

    import cli

    for part in ("crm_model", "forms", "processes", "templates"):
        shutil.copytree(ROOT / part, tmp_path / part)
    (tmp_path / PATH).write_text(OLD_STYLE, encoding="utf-8")
    result = CliRunner().invoke(cli.main, ["check", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (
        f'warning: {PATH}:17: [comment] #/properties/comment: "title" and "x-title" are deprecated; '
        'write "x-label": {"en": "Comment", "ru": "Комментарий"}'
    ) in result.output
    assert "3 warning(s)" in result.output
    strict = CliRunner().invoke(cli.main, ["check", "--strict", str(tmp_path)])
    assert strict.exit_code == 1
