"""Cross-check processes/labels.yaml against the BPMN. Warnings, naming the file, line and element: a process or
a named flow node without a label in one of the bundle's locales, and labels of a process or an element the BPMN
does not have (they are not shown anywhere)."""

from __future__ import annotations

from engine.config.model import Bundle
from engine.config.process_labels import LABELS_FILE
from engine.errors import Problem
from engine.messages import Message
from engine.processes.spiff import ProcessDefinition


def _unused(bundle: Bundle, definitions: dict[str, ProcessDefinition]) -> list[Problem]:
    found = []
    for process_id, labels in bundle.process_labels.items():
        definition = definitions.get(process_id)
        if definition is None:
            known = ", ".join(sorted(definitions)) or "none"
            found.append(Problem(LABELS_FILE, labels.line, process_id,
                                 Message("config.labels_unknown_process", process=repr(process_id), known=known)))
            continue
        found += [Problem(LABELS_FILE, labels.element_lines.get(element_id), element_id,
                          Message("config.labels_unknown_element", process=repr(process_id),
                                  element=repr(element_id), file=definition.file))
                  for element_id in labels.elements if element_id not in definition.elements]
    return found


def _missing(bundle: Bundle, definition: ProcessDefinition) -> list[Problem]:
    locales = bundle.settings.locales
    labels = bundle.process_labels.get(definition.process_id)
    found = []
    missing = [x for x in locales if labels is None or not labels.label.get(x)]
    if missing:
        found.append(Problem(definition.file, definition.line, definition.process_id,
                             Message("config.process_label_missing", name=repr(definition.name),
                                     locales=", ".join(missing), file=LABELS_FILE)))
    for element in definition.elements.values():
        if not element.name:  # every named flow node, gateways too, shows in an instance's steps
            continue
        label = labels.elements.get(element.id, {}) if labels is not None else {}
        missing = [x for x in locales if not label.get(x)]
        if missing:
            found.append(Problem(definition.file, element.line, element.id,
                                 Message("config.element_label_missing", kind=element.kind,
                                         name=repr(element.name), locales=", ".join(missing), file=LABELS_FILE)))
    return found


def label_warnings(bundle: Bundle, definitions: dict[str, ProcessDefinition]) -> list[Problem]:
    """What `flowcrm check` says about the labels. Without a labels file, a bundle of several locales gets one
    warning (its process and step names are shown as the BPMN has them in every locale), not one per element."""
    if LABELS_FILE not in bundle.files:
        if not definitions or len(bundle.settings.locales) < 2:
            return []
        return [Problem(LABELS_FILE, None, None,
                        Message("config.labels_file_missing", count=len(definitions),
                                locales=", ".join(bundle.settings.locales)))]
    warnings = _unused(bundle, definitions)
    for _, definition in sorted(definitions.items()):
        warnings += _missing(bundle, definition)
    return warnings
