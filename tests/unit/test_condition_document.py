"""A parsed filter condition turns back into its JSON form (what the configuration page shows for a rule's `where`),
and that form parses into the same condition: every condition of the filter tests, over the shipped CRM."""

from __future__ import annotations

from pathlib import Path

from engine.config.loader import load_bundle, read_bundle_dir
from engine.filters.model import condition_document, parse_filter
from tests.integration.test_find import AGGREGATE_CASES, FIELD_CASES

ROOT = Path(__file__).resolve().parents[2]


def test_every_condition_reads_back_as_the_same_condition() -> None:
    bundle = load_bundle(read_bundle_dir(ROOT))
    cases = [*((entity, c) for entity, c, _ in FIELD_CASES), *(("Contact", c) for c, _ in AGGREGATE_CASES)]
    differing = []
    for entity, condition in cases:
        parsed = parse_filter(bundle, {"entity": entity, "where": condition}).where
        assert parsed is not None
        again = parse_filter(bundle, {"entity": entity, "where": condition_document(parsed)}).where
        if again != parsed:
            differing.append(condition)
    assert differing == []
    amount = parse_filter(
        bundle, {"entity": "Deal", "where": {"field": "amount", "op": "between", "value": [650, "800.5"]}}
    ).where
    assert amount is not None
    assert condition_document(amount) == {"field": "amount", "op": "between", "value": ["650", "800.5"]}
