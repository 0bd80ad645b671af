"""Which `set.<field>` texts are old expressions, and what replaces them."""

from __future__ import annotations

import pytest

from engine.processes.definitions import ElementMeta
from engine.processes.field_settings import old_expression, replacement


@pytest.mark.parametrize(
    "text",
    [
        "won",
        "100",
        "-5",
        "1500.50",
        "2026-12-31",
        "09:00",
        "in-progress",
        "true",
        "call back later",
        "not interested",
        "last_completed_by",
    ],
)
def test_words_numbers_dates_codes_and_plain_text_are_literals(text: str) -> None:
    assert not old_expression(text)


@pytest.mark.parametrize(
    "text",
    [
        "'won'",
        "'contract' if outcome == 'agreed' else 'lost'",
        "record.get('request_stage') or 'new'",
        "risk['risk'] + ': ' + risk['reason']",
        "amount * 2",
        "{'a': 'b'}.get(x)",
    ],
)
def test_quoted_texts_calls_conditions_and_operators_are_old_expressions(text: str) -> None:
    assert old_expression(text)


def test_a_quoted_constant_becomes_a_set_literal_and_anything_else_a_compute() -> None:
    assert replacement("stage", "'won'") == "set.stage = won"
    assert replacement("stage", "'a' if x else 'b'") == "compute.stage = 'a' if x else 'b'"
    assert replacement("stage", "'won'", yaml=True) == "set: {stage: won}"
    assert replacement("stage", "x or 'b'", yaml=True) == "compute: {stage: \"x or 'b'\"}"


def test_a_step_stored_before_compute_existed_reads_its_set_fields_as_expressions() -> None:
    stored = ElementMeta("won", "task", None, 3, set_fields={"stage": "'won'"}).to_dict()
    del stored["compute_fields"]  # as a process version deployed before compute.<field> wrote it

    meta = ElementMeta.from_dict(stored)

    assert (meta.set_fields, meta.compute_fields) == ({}, {"stage": "'won'"})
    assert ElementMeta.from_dict(meta.to_dict()) == meta
