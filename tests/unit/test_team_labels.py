"""A team of the bundle's settings may carry a label ({name, label}); the UI shows a team by it, so a business
names its teams in its own languages without a line of Python or a UI catalog entry."""

from __future__ import annotations

import pytest

from engine.config.loader import load_bundle
from engine.errors import ConfigError
from tests.unit.test_config_loader import CATALOG, ENTITY, FORM

FILES = {"crm_model/entities/item.yaml": ENTITY, "crm_model/catalogs/color.yaml": CATALOG, "forms/pick.json": FORM}


def test_teams_may_be_plain_names_or_labelled() -> None:
    settings = load_bundle({**FILES, "crm_model/settings.yaml": (
        "teams:\n"
        "  - north\n"
        "  - name: moscow\n"
        "    label: {en: Moscow team, ru: Московская команда}\n")}).settings
    assert settings.teams == ("north", "moscow")
    assert settings.team_labels == {"moscow": {"en": "Moscow team", "ru": "Московская команда"}}


def test_a_team_label_missing_a_configured_locale_is_refused_at_its_line() -> None:
    with pytest.raises(ConfigError) as caught:
        load_bundle({**FILES, "crm_model/settings.yaml": (
            "teams:\n"
            "  - name: moscow\n"
            "    label: {en: Moscow team}\n")})
    [problem] = [p for p in caught.value.problems if p.file == "crm_model/settings.yaml"]
    assert (problem.line, problem.element) == (3, "teams")
    assert "ru" in problem.message


def test_a_team_without_a_name_is_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        load_bundle({**FILES, "crm_model/settings.yaml": "teams:\n  - label: {en: A, ru: Б}\n"})
    assert any(p.file == "crm_model/settings.yaml" and p.element == "teams" for p in caught.value.problems)
