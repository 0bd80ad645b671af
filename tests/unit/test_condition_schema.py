"""The published schemas of reports and rules describe `where` as the filter model: every filter the filter tests
use passes them, and what the filter model refuses by its shape is flagged by them too."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator

from engine.config.schemas import schema_of
from tests.integration.find_data import IDLE_ORGANIZATIONS, PHONE_BUYERS, PROBABLE_UNANSWERED
from tests.integration.test_find import AGGREGATE_CASES, FIELD_CASES

CONDITIONS = [
    *(condition for _, condition, _ in FIELD_CASES),
    *(condition for condition, _ in AGGREGATE_CASES),
    *(flt["where"] for flt in (PHONE_BUYERS, IDLE_ORGANIZATIONS, PROBABLE_UNANSWERED)),
]


def report(where: Any) -> dict[str, Any]:
    return {
        "report": "probe",
        "label": {"en": "P", "ru": "П"},
        "kind": "grouped",
        "entity": "Deal",
        "where": where,
        "group_by": ["stage"],
        "measures": {"n": {"label": {"en": "N", "ru": "N"}, "count": True, "where": where}},
    }


def rule(where: Any) -> dict[str, Any]:
    return {
        "rule": "probe",
        "label": {"en": "P", "ru": "П"},
        "entity": "Deal",
        "on": ["created"],
        "where": where,
        "actions": [{"set": {"status": "x"}}],
    }


def errors(kind: str, document: dict[str, Any]) -> list[str]:
    return [error.message for error in Draft202012Validator(schema_of(kind)).iter_errors(document)]


def test_every_filter_of_the_filter_tests_passes_the_report_and_rule_schemas() -> None:
    assert len(CONDITIONS) > 60
    failing = {
        str(c): errors(kind, build(c))
        for c in CONDITIONS
        for kind, build in (("report", report), ("rule", rule))
        if errors(kind, build(c))
    }
    assert failing == {}


@pytest.mark.parametrize(
    "where",
    [
        {"field": "stage", "op": "like", "value": "won"},
        {"field": "stage", "op": "eq", "value": "won", "colour": "red"},
        {"all": []},
        {"any": [{"field": "stage", "op": "eq", "value": "won"}], "all": [{"field": "stage", "op": "is_empty"}]},
        {"not": "stage == 'won'"},
        {"linked": {"entity": "Deal", "via": "client", "aggregate": "average"}},
        "stage == 'won'",
    ],
)
def test_what_the_filter_model_refuses_by_shape_the_schemas_flag(where: Any) -> None:
    assert errors("report", report(where))
    assert errors("rule", rule(where))
