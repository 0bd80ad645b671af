"""A form's plain check (engine.records.plain_checks.form_check) admits only what the form's validator admits, and
a valid submission of a shipped form is checked without jsonschema."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from engine.config.loader import load_bundle, read_bundle_dir
from engine.config.model import Bundle
from engine.records import schema as schema_module
from engine.records.plain_checks import form_check
from engine.records.schema import resolve_form_schema, validate_form

ROOT = Path(__file__).parents[2]
BUNDLES = [ROOT, *sorted(p for p in (ROOT / "examples").iterdir() if (p / "crm_model").is_dir())]
# values of every JSON kind, a few of each, so a property sees ones its schema admits and ones it refuses
SAMPLES: tuple[Any, ...] = (
    "",
    "convert",
    "disqualify",
    "2026-03-10",
    "x" * 5000,
    "1200.50",
    0,
    7,
    -3,
    2.5,
    True,
    False,
    ["vip"],
    ["vip", "vip"],
    [],
    {"a": 1},
    None,
)


@pytest.fixture(scope="module", params=BUNDLES, ids=lambda p: p.name)
def bundle(request: pytest.FixtureRequest) -> Bundle:
    return load_bundle(read_bundle_dir(request.param))


def _submissions(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """Objects over the form's properties: each property alone with every sample, and pairs of the enum values
    and consts the schema names (which decide an if/then)."""
    names = list(schema.get("properties", {}))
    named = {
        value
        for prop in schema.get("properties", {}).values()
        if isinstance(prop, dict)
        for value in (*prop.get("enum", []), *([prop["const"]] if "const" in prop else []))
    }
    found: list[dict[str, Any]] = [{}]
    found += [{name: value} for name in names for value in SAMPLES]
    found += [
        {a: x, b: y}
        for a, b in itertools.permutations(names, 2)
        for x, y in itertools.product([*named, "2026-03-10"], repeat=2)
    ][:4000]
    return found


def test_a_plain_form_check_admits_only_what_the_validator_admits(bundle: Bundle) -> None:
    checked = 0
    for form in bundle.forms.values():
        schema = resolve_form_schema(form, bundle)
        plain = form_check(schema)
        if plain is None:
            continue
        validator = Draft202012Validator(schema)
        for values in _submissions(schema):
            if plain(values):
                assert validator.is_valid(values), (form.key, values)
                checked += 1
    assert checked > 0


def test_the_lead_forms_have_a_plain_check_that_takes_the_if_then_branch(bundle: Bundle) -> None:
    if "qualify_lead" not in bundle.forms:
        pytest.skip("not the shipped CRM")
    plain = form_check(resolve_form_schema(bundle.forms["qualify_lead"], bundle))
    assert plain is not None
    assert plain({"outcome": "convert"})
    assert not plain({"outcome": "disqualify"})  # then: disqualify_reason is required
    assert plain(
        {
            "outcome": "disqualify",
            "disqualify_reason": next(
                iter(
                    resolve_form_schema(bundle.forms["qualify_lead"], bundle)["properties"]["disqualify_reason"]["enum"]
                )
            ),
        }
    )
    assert not plain({})  # outcome is required
    assert form_check({"type": "object", "allOf": [{"required": ["a"]}]}) is None  # a keyword it does not know
    assert form_check({"type": "object", "if": {"properties": {"a": {"minLength": 2}}}, "then": {}}) is None


def test_a_valid_submission_of_a_shipped_form_is_checked_without_jsonschema(
    bundle: Bundle, monkeypatch: pytest.MonkeyPatch
) -> None:
    if "qualify_lead" not in bundle.forms:
        pytest.skip("not the shipped CRM")
    runs: list[str] = []
    errors = schema_module._schema_errors

    def counted(schema: Any, instance: Any) -> dict[str, list[str]]:
        runs.append(str(sorted(instance)))
        return errors(schema, instance)

    monkeypatch.setattr(schema_module, "_schema_errors", counted)
    assert validate_form(bundle.forms["qualify_lead"], bundle, {"outcome": "convert", "budget": "5000"}) == {
        "outcome": "convert",
        "budget": "5000",
    }
    assert validate_form(bundle.forms["arrange_meeting"], bundle, {"next_contact_on": "2026-03-10"}) == {
        "next_contact_on": "2026-03-10"
    }
    assert runs == []  # 2 on the code before: every submission went through the validator
    with pytest.raises(schema_module.ValidationError) as caught:  # a refused one still gets the validator's words
        validate_form(bundle.forms["qualify_lead"], bundle, {"outcome": "disqualify"})
    assert caught.value.errors == {"disqualify_reason": ["is required"]}
    assert len(runs) == 1
