"""read_bundle reads a content once per process: a deploy, `flowcrm check` and the first unit of work after a deploy
read the same files again (a test process deploys the same bundle to each of its databases), and each read cost
0.15-0.25 s of CPU. The same content gives what the first read gave; another content is read anew."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from engine.config.loader import read_bundle_dir
from engine.errors import Problem
from engine.processes import deployed
from tests.unit.bundle_helpers import changed
from tests.unit.test_form_labels import OLD_STYLE
from tests.unit.test_form_labels import PATH as FORM_PATH

ROOT = Path(__file__).resolve().parents[2]
KEPT = getattr(deployed, "_MAX_READ", 8)  # contents kept


@pytest.fixture(scope="module")
def shipped() -> dict[str, str]:
    return read_bundle_dir(ROOT)


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times the bundle's files were loaded (each load is one call of load_bundle), from an empty memo."""
    monkeypatch.setattr(deployed, "_READ", OrderedDict(), raising=False)
    calls: list[int] = []
    load = deployed.load_bundle

    def counted(files: dict[str, str], warnings: list[Problem] | None = None) -> Any:
        calls.append(1)
        return load(files, warnings)

    monkeypatch.setattr(deployed, "load_bundle", counted)
    return calls


def test_the_same_files_are_read_once_and_give_the_same_bundle_definitions_and_warnings(
    shipped: dict[str, str], loads: list[int]
) -> None:
    files = changed(shipped, {FORM_PATH: OLD_STYLE})  # loads, with three warnings
    first_warnings: list[Problem] = []
    bundle, definitions, problems = deployed.read_bundle(dict(files), first_warnings)
    again_warnings: list[Problem] = [Problem("earlier.yaml", 1, None, "a warning of the caller's own")]
    bundle_again, definitions_again, problems_again = deployed.read_bundle(dict(files), again_warnings)
    assert len(loads) == 1  # the code before read it twice
    assert bundle is not None
    assert bundle_again is bundle
    assert problems_again == problems == []
    assert definitions_again == definitions
    assert definitions_again is not definitions
    assert [w.line for w in first_warnings] == [2, 12, 17]
    assert again_warnings[1:] == first_warnings
    assert again_warnings[0].file == "earlier.yaml"
    assert deployed.read_bundle(dict(files))[0] is bundle  # without a warnings list too
    assert len(loads) == 1


def test_a_bundle_with_problems_is_read_again_and_gives_the_same_problems_in_a_list_of_the_callers_own(
    shipped: dict[str, str], loads: list[int]
) -> None:
    files = changed(shipped, {"crm_model/settings.yaml": "locales: [en, ru\n"})  # not YAML
    bundle, _, problems = deployed.read_bundle(files)
    assert bundle is None
    assert problems
    problems.append(Problem("x", 1, None, "added by the caller"))  # analyse() extends the list it is given
    bundle_again, _, problems_again = deployed.read_bundle(dict(files))
    assert bundle_again is None
    assert problems_again == problems[:-1]
    assert len(loads) == 2  # not kept: a problem may be a sandbox limit a loaded machine hit once


def test_other_sandbox_limits_read_the_same_files_again(
    shipped: dict[str, str], loads: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = deployed.read_bundle(dict(shipped))[0]
    tighter = replace(deployed.current_limits(), cpu_seconds=0.5)
    monkeypatch.setattr(deployed, "current_limits", lambda: tighter)
    assert deployed.read_bundle(dict(shipped))[0] is not bundle  # a constant timer may now hit a limit
    assert len(loads) == 2


def test_changed_files_are_read_anew_and_the_contents_used_last_are_kept(
    shipped: dict[str, str], loads: list[int]
) -> None:
    bundle, _, _ = deployed.read_bundle(dict(shipped))
    other = changed(shipped, {"crm_model/notes.txt": "a file no loader reads"})
    assert deployed.read_bundle(other)[0] is not bundle  # another content: another read
    assert len(loads) == 2
    for n in range(KEPT - 1):  # the shipped content stays the one used last but one...
        deployed.read_bundle(dict(shipped))
        deployed.read_bundle(changed(shipped, {"crm_model/notes.txt": f"note {n}"}))
    assert deployed.read_bundle(dict(shipped))[0] is bundle
    assert len(loads) == 2 + KEPT - 1
    deployed.read_bundle(other)  # ...while `other`, used least lately, was dropped
    assert len(loads) == 2 + KEPT
