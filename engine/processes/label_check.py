"""Cross-check processes/labels.yaml against the BPMN: labels of unknown processes or elements are problems; a
process or named element without a label in one of the bundle's locales is a warning naming it."""

from __future__ import annotations

from engine.config.model import Bundle
from engine.config.process_labels import LABELS_FILE
from engine.errors import Problem
from engine.processes.spiff import ProcessDefinition


def label_problems(bundle: Bundle, definitions: dict[str, ProcessDefinition]) -> list[Problem]:
    """Labels naming a process or an element the BPMN does not have."""
    problems = []
    for process_id, labels in bundle.process_labels.items():
        definition = definitions.get(process_id)
        if definition is None:
            known = ", ".join(sorted(definitions)) or "none"
            problems.append(Problem(LABELS_FILE, labels.line, process_id,
                                    f"no process {process_id!r} in processes/*.bpmn (known: {known})"))
            continue
        for element_id in labels.elements:
            if element_id not in definition.elements:
                problems.append(Problem(LABELS_FILE, labels.element_lines.get(element_id), element_id,
                                        f"process {process_id!r} has no element {element_id!r} ({definition.file})"))
    return problems


def label_warnings(bundle: Bundle, definitions: dict[str, ProcessDefinition]) -> list[Problem]:
    """Each process, and each named flow node (people see them in an instance's steps), lacking a label in one
    of the bundle's locales: named by its BPMN file, line and id."""
    warnings = []
    locales = bundle.settings.locales
    for process_id, definition in sorted(definitions.items()):
        labels = bundle.process_labels.get(process_id)
        missing = [x for x in locales if labels is None or not labels.label.get(x)]
        if missing:
            warnings.append(Problem(definition.file, definition.line, process_id,
                                    f"process {definition.name!r} has no {', '.join(missing)} label "
                                    f"(add it to {LABELS_FILE})"))
        for element in definition.elements.values():
            if not element.name:  # every named flow node, gateways too, shows in an instance's steps
                continue
            label = labels.elements.get(element.id, {}) if labels is not None else {}
            missing = [x for x in locales if not label.get(x)]
            if missing:
                warnings.append(Problem(definition.file, element.line, element.id,
                                        f"{element.kind} {element.name!r} has no {', '.join(missing)} label "
                                        f"(add it to {LABELS_FILE})"))
    return warnings
