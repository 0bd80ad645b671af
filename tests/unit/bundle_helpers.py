"""Helpers for tests that load small configuration bundles built as dicts of files."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from engine.config.loader import load_bundle
from engine.errors import ConfigError, Problem


def changed(base: Mapping[str, str], changes: Mapping[str, str | None] | None = None) -> dict[str, str]:
    """`base` with some files replaced, added or (None) removed."""
    files = dict(base)
    for path, text in (changes or {}).items():
        if text is None:
            files.pop(path, None)
        else:
            files[path] = text
    return files


def problems_of(files: dict[str, str]) -> list[Problem]:
    """Every problem load_bundle reports (it must report some)."""
    with pytest.raises(ConfigError) as caught:
        load_bundle(files)
    return caught.value.problems


def only_problem(files: dict[str, str]) -> Problem:
    """The single problem load_bundle reports."""
    problems = problems_of(files)
    assert len(problems) == 1, problems
    return problems[0]
