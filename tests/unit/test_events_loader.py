"""crm_model/events.yaml: inbound events checked against the entities and processes, problems with file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config.loader import load_bundle, read_bundle_dir
from engine.errors import ConfigError, Problem

ROOT = Path(__file__).parents[2]
EVENTS = "crm_model/events.yaml"


def problems_of(events_yaml: str) -> list[Problem]:
    files = {**read_bundle_dir(ROOT), EVENTS: events_yaml}
    with pytest.raises(ConfigError) as caught:
        load_bundle(files)
    return [p for p in caught.value.problems if p.file == EVENTS]


def test_shipped_events_load() -> None:
    events = load_bundle(read_bundle_dir(ROOT)).events
    assert events["web_form_submitted"].kind == "start"
    assert events["web_form_submitted"].entity == "Lead"
    assert events["web_form_submitted"].fields["title"] == "data.subject"
    assert (events["invoice_paid"].kind, events["invoice_paid"].message) == ("correlate", "invoice_paid")
    assert events["invoice_paid"].business_key == "record_id"
    assert "client_replied" not in events  # no shipped process waits for client_reply


def test_a_bundle_without_events_yaml_has_no_events() -> None:
    files = {k: v for k, v in read_bundle_dir(ROOT).items() if k != EVENTS}
    assert load_bundle(files).events == {}


def test_mapping_is_checked_against_the_entity() -> None:
    found = problems_of(
        "events:\n"
        "  form:\n"
        "    start:\n"
        "      entity: Lead\n"
        "      fields:\n"
        "        title: data.subject\n"
        "        colour: data.colour\n"
        "        company: subject\n"
    )
    assert [(p.line, p.element) for p in found] == [(7, "form"), (8, "form")]
    assert "Lead has no field 'colour'" in found[0].message
    assert "must be a payload path like data.subject" in found[1].message


def test_a_required_field_must_be_mapped() -> None:
    found = problems_of("events:\n  form:\n    start:\n      entity: Lead\n      fields:\n        company: data.c\n")
    assert [(p.line, p.message) for p in found] == [(5, "Lead.title is required: map it from the payload")]


def test_unknown_entity_process_and_shape_are_reported() -> None:
    found = problems_of(
        "events:\n"
        "  a:\n"
        "    start: {entity: Nope, fields: {x: data.x}}\n"
        "  b:\n"
        "    start: {entity: Lead, fields: {title: data.t}, process: nope}\n"
        "  c:\n"
        "    correlate: {message: m}\n"
        "    start: {entity: Lead}\n"
        "  Bad-Name:\n"
        "    correlate: {message: m}\n"
        "  d:\n"
        "    correlate: {business_key: record_id}\n"
        "  e:\n"
        "    correlate: {message: m, business_key: no_such_field, extra: 1}\n"
    )
    by_element = {p.element: p for p in found}
    assert "known entity" in by_element["a"].message
    assert "unknown process 'nope'" in by_element["b"].message
    assert by_element["b"].line == 5
    assert "either" in by_element["c"].message
    assert "snake_case" in by_element["Bad-Name"].message
    assert "needs message" in by_element["d"].message
    messages = sorted(p.message for p in found if p.element == "e")
    assert messages[0].startswith("business_key 'no_such_field'")
    assert messages[1].startswith("unknown key 'extra'")


def test_events_must_be_a_mapping() -> None:
    found = problems_of("events: [a, b]\n")
    assert [p.line for p in found] == [1]
