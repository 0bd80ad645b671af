"""Modeler files of the Camunda 7 corpus (tests/fixtures/camunda7/refused) that SpiffWorkflow cannot run as Camunda
does: `flowcrm check` refuses each with its line, its element and what to change, instead of running it wrongly."""

from __future__ import annotations

import pytest

from engine.errors import ConfigError
from engine.processes.spiff import parse_definitions
from tests.conftest import ROOT

REFUSED = ROOT / "tests" / "fixtures" / "camunda7" / "refused"

# file -> (line, element, start of the message) of each problem
EXPECTED = {
    "link_event": [
        (11, "to_shipping", "bpmn:linkEventDefinition on bpmn:intermediateThrowEvent: a link event cannot run here"),
        (15, "from_order", "bpmn:linkEventDefinition on bpmn:intermediateCatchEvent: a link event cannot run here"),
    ],
    "compensation": [
        (11, "undo_booking", "bpmn:compensateEventDefinition on bpmn:boundaryEvent: compensation cannot run here"),
        (14, "cancel_hotel", "isForCompensation on bpmn:userTask: compensation cannot run here"),
        (27, "end_undone", "bpmn:compensateEventDefinition on bpmn:endEvent: compensation cannot run here"),
    ],
}


def test_every_refused_file_has_its_expected_problems() -> None:
    assert sorted(p.stem for p in REFUSED.glob("*.bpmn")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", EXPECTED)
def test_check_refuses_the_modeler_file_naming_line_element_and_what_to_change(name: str) -> None:
    path = f"processes/{name}.bpmn"

    with pytest.raises(ConfigError) as caught:
        parse_definitions({path: (REFUSED / f"{name}.bpmn").read_text()}, {})

    found = [(p.line, p.element, p.message) for p in caught.value.problems]
    assert [(line, element) for line, element, _ in found] == [(line, el) for line, el, _ in EXPECTED[name]]
    for (_, _, message), (_, _, start) in zip(found, EXPECTED[name], strict=True):
        assert message.startswith(start), message
        assert "instead" in message or "draw" in message or "model" in message  # says what to change
