"""Record and form validation: JSON Schema from entities, normalization, and human-readable messages."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from engine.config.loader import load_bundle, read_bundle_dir
from engine.config.model import Bundle, Catalog, CatalogValue, Entity, Field, Form
from engine.errors import ValidationError
from engine.records import schema as schema_module
from engine.records.schema import (
    entity_json_schema,
    resolve_form_schema,
    split_form_data,
    validate_form,
    validate_record,
)

ROOT = Path(__file__).parents[2]
RELATIONSHIPS = "client, potential_client, target_client, not_client, other"


@pytest.fixture(scope="module")
def bundle() -> Bundle:
    return load_bundle(read_bundle_dir(ROOT))


def errors_of(call: Any, *args: Any, **kwargs: Any) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        call(*args, **kwargs)
    return caught.value.errors


def lead_errors(bundle: Bundle, data: dict[str, Any], *, partial: bool = False) -> dict[str, list[str]]:
    return errors_of(validate_record, bundle.entities["Lead"], bundle, data, partial=partial)


def test_new_lead_gets_defaults_and_drops_empty_optional_fields(bundle: Bundle) -> None:
    clean = validate_record(
        bundle.entities["Lead"], bundle, {"title": "Website order", "company": "", "budget": None}
    )
    assert clean == {"title": "Website order", "status": "new"}


def test_every_field_error_is_reported_at_once(bundle: Bundle) -> None:
    errors = lead_errors(
        bundle,
        {
            "title": "",
            "email": "not-an-email",
            "budget": "a lot",
            "relationship": "friend",
            "next_contact_on": "01.05.2026",
            "phone": "12345",
            "colour": "red",
        },
    )
    assert errors == {
        "colour": ["is not a field of Lead"],
        "title": ["is required"],
        "email": ["must be an email address like name@example.com"],
        "budget": ["must be a number like 1200.50"],
        "relationship": [f"must be one of: {RELATIONSHIPS}"],
        "next_contact_on": ["must be a date YYYY-MM-DD"],
        "phone": ["is not a valid phone number"],
    }


@pytest.mark.parametrize(
    ("given", "stored"),
    [("1200.50", "1200.50"), (1200, "1200"), (1200.5, "1200.5"), ("0", "0"), (Decimal("99.90"), "99.90")],
)
def test_money_is_stored_as_canonical_decimal_text(bundle: Bundle, given: Any, stored: str) -> None:
    clean = validate_record(bundle.entities["Lead"], bundle, {"title": "t", "budget": given})
    assert clean["budget"] == stored


def test_money_below_its_minimum_is_rejected(bundle: Bundle) -> None:
    assert lead_errors(bundle, {"title": "t", "budget": "-5"}) == {"budget": ["must be at least 0"]}


@pytest.mark.parametrize("phone", ["8 (912) 345-67-89", "+7 912 345-67-89", "+44 20 7946 0958"])
def test_valid_phone_is_kept_as_typed(bundle: Bundle, phone: str) -> None:
    assert (
        validate_record(bundle.entities["Contact"], bundle, {"full_name": "Ann", "phone": phone})["phone"]
        == phone
    )


@pytest.mark.parametrize("phone", ["12345", "phone me", "+7 000"])
def test_invalid_phone_is_rejected(bundle: Bundle, phone: str) -> None:
    errors = errors_of(
        validate_record, bundle.entities["Contact"], bundle, {"full_name": "Ann", "phone": phone}
    )
    assert errors == {"phone": ["is not a valid phone number"]}


@pytest.mark.parametrize("day", ["2026-02-30", "2026-13-01", "2026-5-1", "tomorrow", 20260501])
def test_impossible_or_malformed_date_is_rejected(bundle: Bundle, day: Any) -> None:
    assert lead_errors(bundle, {"title": "t", "next_contact_on": day}) == {
        "next_contact_on": ["must be a date YYYY-MM-DD"]
    }


def test_multi_enum_accepts_unique_catalog_codes(bundle: Bundle) -> None:
    clean = validate_record(
        bundle.entities["Contact"], bundle, {"full_name": "Ann", "tags": ["vip", "partner"]}
    )
    assert clean["tags"] == ["vip", "partner"]
    assert clean["relationship"] == "potential_client"


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        (["vip", "vip"], "must not repeat a value"),
        (["gold"], "must be one of: vip, wholesale, retail, partner"),
        ("vip", "must be a list"),
    ],
)
def test_multi_enum_rejects_bad_values(bundle: Bundle, tags: Any, message: str) -> None:
    errors = errors_of(
        validate_record, bundle.entities["Contact"], bundle, {"full_name": "Ann", "tags": tags}
    )
    assert errors == {"tags": [message]}


@pytest.mark.parametrize("ref", [0, -3, "12", 1.5, True])
def test_reference_must_be_a_positive_record_id(bundle: Bundle, ref: Any) -> None:
    assert lead_errors(bundle, {"title": "t", "contact": ref}) == {
        "contact": ["must be the id of a Contact record"]
    }


def test_partial_update_checks_only_given_fields_and_clears_empty_ones(bundle: Bundle) -> None:
    clean = validate_record(bundle.entities["Lead"], bundle, {"company": "", "budget": 10}, partial=True)
    assert clean == {"company": None, "budget": "10"}


def test_partial_update_cannot_clear_a_required_field(bundle: Bundle) -> None:
    assert lead_errors(bundle, {"title": "  "}, partial=True) == {"title": ["is required"]}


def test_record_that_is_not_an_object_is_rejected(bundle: Bundle) -> None:
    assert errors_of(validate_record, bundle.entities["Lead"], bundle, ["title"]) == {
        "": ["must be an object"]
    }


def test_text_longer_than_max_length_is_rejected(bundle: Bundle) -> None:
    assert lead_errors(bundle, {"title": "x" * 201}) == {"title": ["must be at most 200 characters"]}


def test_url_must_start_with_http(bundle: Bundle) -> None:
    org = bundle.entities["Organization"]
    assert validate_record(org, bundle, {"name": "Acme", "website": "https://acme.example"})["website"]
    errors = errors_of(validate_record, org, bundle, {"name": "Acme", "website": "acme.example"})
    assert errors == {"website": ["must be a web address starting with http:// or https://"]}


def typed_bundle() -> tuple[Entity, Bundle]:
    """A bundle with one entity holding the field types the shipped CRM does not use."""
    fields = {
        "count": Field("count", "integer", min=Decimal(1), max=Decimal(10)),
        "ratio": Field("ratio", "decimal", max=Decimal("0.5")),
        "done": Field("done", "boolean"),
        "at": Field("at", "datetime"),
        "size": Field("size", "enum", catalog="size", required=True),
    }
    sizes = Catalog("size", {"en": "Size"}, (CatalogValue("s", {"en": "S"}), CatalogValue("m", {"en": "M"})))
    entity = Entity("Box", {"en": "Box"}, "size", fields)
    return entity, Bundle({}, {"Box": entity}, {"size": sizes})


def test_integer_decimal_boolean_and_datetime_fields_are_checked() -> None:
    entity, box_bundle = typed_bundle()
    good = {"count": 3, "ratio": "0.25", "done": False, "at": "2026-05-01T10:00:00+03:00", "size": "s"}
    assert validate_record(entity, box_bundle, good) == good
    bad = {"count": 11, "ratio": 0.75, "done": "yes", "at": "2026-05-01T10:00:00", "size": "xl"}
    assert errors_of(validate_record, entity, box_bundle, bad) == {
        "count": ["must be at most 10"],
        "ratio": ["must be at most 0.5"],
        "done": ["must be true or false"],
        "at": ["must be a date and time with offset, like 2024-05-01T10:00:00+03:00"],
        "size": ["must be one of: s, m"],
    }


def test_entity_json_schema_accepts_validated_records(bundle: Bundle) -> None:
    schema = entity_json_schema(bundle.entities["Lead"], bundle)
    Draft202012Validator.check_schema(schema)
    clean = validate_record(bundle.entities["Lead"], bundle, {"title": "t", "budget": 5})
    assert list(Draft202012Validator(schema).iter_errors(clean)) == []
    assert schema["required"] == ["title"]
    assert schema["properties"]["status"]["enum"][0] == "new"
    assert schema["properties"]["status"]["x-enum-labels"]["new"] == {"en": "New", "ru": "Новый"}
    assert schema["properties"]["budget"]["x-label"] == {"en": "Budget", "ru": "Бюджет"}
    assert "title" not in schema["properties"]["budget"]  # one way to label a node: x-label
    assert list(Draft202012Validator(schema).iter_errors({"title": "t", "extra": 1}))


def test_form_schema_is_completed_from_the_entity(bundle: Bundle) -> None:
    schema = resolve_form_schema(bundle.forms["qualify_lead"], bundle)
    Draft202012Validator.check_schema(schema)
    props = schema["properties"]
    assert props["budget"]["x-label"] == {"en": "Budget", "ru": "Бюджет"}
    assert props["budget"]["x-field-type"] == "money"
    assert props["relationship"]["enum"] == RELATIONSHIPS.split(", ")
    assert props["relationship"]["x-enum-labels"]["client"]["ru"] == "Клиент"
    assert props["outcome"]["enum"] == ["convert", "nurture", "disqualify"]
    assert "x-field-type" not in props["comment"]
    meeting = resolve_form_schema(bundle.forms["arrange_meeting"], bundle)["properties"]["next_contact_on"]
    assert (meeting["x-label"], meeting["format"]) == ({"en": "Meeting date", "ru": "Дата встречи"}, "date")
    assert "title" not in meeting


def test_x_catalog_fills_enum_and_labels(bundle: Bundle) -> None:
    form = Form(
        "f", {"type": "object", "properties": {"tier": {"x-variable": True, "x-catalog": "tag"}}}, {}, None
    )
    prop = resolve_form_schema(form, bundle)["properties"]["tier"]
    assert prop["enum"] == ["vip", "wholesale", "retail", "partner"]
    assert prop["x-enum-labels"]["partner"] == {"en": "Partner", "ru": "Партнёр"}
    assert validate_form(form, bundle, {"tier": "vip"}) == {"tier": "vip"}


def test_disqualifying_requires_a_reason(bundle: Bundle) -> None:
    form = bundle.forms["qualify_lead"]
    assert errors_of(validate_form, form, bundle, {"outcome": "disqualify", "disqualify_reason": ""}) == {
        "disqualify_reason": ["is required"]
    }
    clean = validate_form(form, bundle, {"outcome": "disqualify", "disqualify_reason": "spam"})
    assert clean == {"outcome": "disqualify", "disqualify_reason": "spam"}
    assert validate_form(form, bundle, {"outcome": "nurture"}) == {"outcome": "nurture"}


def test_a_form_of_a_loaded_bundle_is_resolved_once_for_every_submission(
    bundle: Bundle, monkeypatch: pytest.MonkeyPatch
) -> None:
    form = bundle.forms["arrange_meeting"]
    resolved: list[str] = []
    resolve = schema_module.resolve_form_schema

    def counted(form: Form, bundle: Bundle) -> dict[str, Any]:
        resolved.append(form.key)
        return resolve(form, bundle)

    monkeypatch.setattr(schema_module, "resolve_form_schema", counted)
    for _ in range(3):
        assert validate_form(form, bundle, {"next_contact_on": "2026-03-10"}) == {"next_contact_on": "2026-03-10"}
        assert errors_of(validate_form, form, bundle, {"next_contact_on": "2026-02-30"}) == {
            "next_contact_on": ["must be a date YYYY-MM-DD"]
        }
    assert len(resolved) <= 1, resolved
    changed = dataclasses.replace(form, schema={**form.schema, "required": ["meeting_notes"]})
    assert errors_of(validate_form, changed, bundle, {"next_contact_on": "2026-03-10"}) == {  # not the bundle's
        "meeting_notes": ["is required"]
    }


def test_form_errors_are_all_reported_at_once(bundle: Bundle) -> None:
    data = {"budget": "lots", "channel": "tv", "next_contact_on": "2026-02-30", "csrf": "x"}
    assert errors_of(validate_form, bundle.forms["qualify_lead"], bundle, data) == {
        "csrf": ["is not a field of this form"],
        "outcome": ["is required"],
        "budget": ["must be a number like 1200.50"],
        "channel": ["must be one of: website, phone_call, email, referral, exhibition, advertising, social"],
        "next_contact_on": ["must be a date YYYY-MM-DD"],
    }


def test_html_form_strings_are_coerced(bundle: Bundle) -> None:
    clean = validate_form(
        bundle.forms["qualify_lead"],
        bundle,
        {"outcome": ["convert"], "budget": "1 200,50", "comment": "", "relationship": "client"},
    )
    assert clean == {"outcome": "convert", "budget": "1200.50", "relationship": "client"}


def test_html_form_booleans_integers_and_multi_selects_are_coerced(bundle: Bundle) -> None:
    properties = {
        "count": {"type": "integer", "x-variable": True},
        "urgent": {"type": "boolean", "x-variable": True},
        "share": {"type": "number", "x-variable": True},
        "tags": {},
    }
    form = Form("f", {"type": "object", "x-entity": "Contact", "properties": properties}, {}, "Contact")
    clean = validate_form(form, bundle, {"count": "123", "urgent": "on", "share": "0,5", "tags": "vip"})
    assert clean == {"count": 123, "urgent": True, "share": 0.5, "tags": ["vip"]}
    assert validate_form(form, bundle, {"urgent": "false", "tags": ["vip", "retail"]}) == {
        "urgent": False,
        "tags": ["vip", "retail"],
    }
    assert errors_of(validate_form, form, bundle, {"count": "12a"}) == {"count": ["must be a whole number"]}


def test_form_data_splits_into_record_fields_and_process_variables(bundle: Bundle) -> None:
    form = bundle.forms["qualify_lead"]
    clean = validate_form(form, bundle, {"outcome": "convert", "budget": 900, "comment": "call back"})
    record, variables = split_form_data(form, bundle, clean)
    assert record == {"budget": "900"}
    assert variables == {"outcome": "convert", "comment": "call back"}


def test_arrange_meeting_needs_a_date_and_keeps_notes_as_a_variable(bundle: Bundle) -> None:
    form = bundle.forms["arrange_meeting"]
    assert errors_of(validate_form, form, bundle, {"meeting_notes": "x"}) == {
        "next_contact_on": ["is required"]
    }
    clean = validate_form(form, bundle, {"next_contact_on": "2026-03-10", "meeting_notes": "office"})
    assert split_form_data(form, bundle, clean) == (
        {"next_contact_on": "2026-03-10"},
        {"meeting_notes": "office"},
    )


@pytest.mark.parametrize(("text", "where"), [("Acme\x00Ltd", "a NUL character at position 5"),
                                             ("Acme \ud83d", "a lone surrogate U+D83D at position 6")])
def test_text_with_nul_or_a_lone_surrogate_is_refused_naming_the_field(bundle: Bundle, text: str, where: str) -> None:
    assert lead_errors(bundle, {"title": "t", "company": text}) == {"company": [f"contains {where}"]}
    assert lead_errors(bundle, {"company": text}, partial=True) == {"company": [f"contains {where}"]}


def test_numbers_are_refused_beyond_what_both_databases_store(bundle: Bundle) -> None:
    huge = Field("huge", "integer")
    wide = Entity("Wide", {"en": "Wide"}, "huge", {"huge": huge, "ratio": Field("ratio", "decimal")})
    wide_bundle = Bundle({}, {"Wide": wide}, {})
    assert validate_record(wide, wide_bundle, {"huge": 2**63 - 1}) == {"huge": 2**63 - 1}
    assert errors_of(validate_record, wide, wide_bundle, {"huge": 2**63}) == {
        "huge": [f"must be at most {2**63 - 1}"]}
    assert errors_of(validate_record, wide, wide_bundle, {"huge": -(2**63) - 1}) == {
        "huge": [f"must be at least {-(2**63)}"]}
    assert errors_of(validate_record, wide, wide_bundle, {"ratio": "1" * 39}) == {
        "ratio": ["must have at most 38 digits"]}
    assert errors_of(validate_record, wide, wide_bundle, {"ratio": "0." + "1" * 39}) == {
        "ratio": ["must have at most 38 digits"]}
    assert lead_errors(bundle, {"title": "t", "contact": 2**31}) == {"contact": ["must be the id of a Contact record"]}


def test_form_variables_with_unstorable_text_are_refused_naming_the_variable(bundle: Bundle) -> None:
    form = bundle.forms["qualify_lead"]
    errors = errors_of(validate_form, form, bundle, {"outcome": "convert", "comment": "call\x00back"})
    assert errors == {"comment": ["contains a NUL character at position 5"]}


PROBES: list[Any] = [
    "", "x", "a" * 201, "a" * 10_001, "name@example.com", "name@", "https://example.com/a", "ftp://x",
    "2024-05-01", "2024-5-1", "2024-05-01T10:00:00+03:00", "1200.50", "12,5", "j.smith", "J Smith", "vip", "VIP",
    0, 1, -1, 2**63, 2.0, 2.5, True, False, None, ["vip"], ["vip", "vip"], ["nosuch"], [], [1], {"a": 1},
]


def test_the_plain_check_of_a_field_never_admits_a_value_its_schema_refuses(bundle: Bundle) -> None:
    """The fast path of validation (engine.records.plain_checks.passes) may only skip jsonschema for values it
    admits too: for every field of every shipped entity and a spread of values, admitted means valid."""
    from engine.records.plain_checks import passes
    from engine.records.schema import field_schema

    code_values = {code for catalog in bundle.catalogs.values() for code in catalog.codes()}
    probes = [*PROBES, *sorted(code_values)[:40], *([code] for code in sorted(code_values)[:20])]
    checked = 0
    for entity in bundle.entities.values():
        for field in entity.fields.values():
            schema = field_schema(field, bundle.catalogs)
            check = passes(schema)
            assert check is not None, (entity.name, field.name, schema)  # every shipped field type is compiled
            validator = Draft202012Validator(schema)
            for value in probes:
                if check(value):
                    assert validator.is_valid(value), (entity.name, field.name, value)
                    checked += 1
    assert checked > 100  # the probes do reach the admitting side
