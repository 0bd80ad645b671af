"""processes/labels.yaml: the names people see of each process and its elements, in every locale of the bundle.

    order_approval:                           # a process id
      label: {en: Order approval, ru: Согласование заказа}
      elements:                               # element id -> label
        check_order: {en: Check the order, ru: Проверить заказ}

The BPMN `name` stays the fallback. Labels live beside the BPMN, not in it, so a translation fixed later shows on
every version of a process, running instances included, and deploying one makes no new process version.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.config.model import Label, ProcessLabels
from engine.config.yaml_lines import LineMap, load_yaml
from engine.errors import ConfigError, Problem
from engine.messages import Message

LABELS_FILE = "processes/labels.yaml"
_KEYS = ("label", "elements")


def _label(value: Any, where: str, line: int | None, locales: tuple[str, ...], problems: list[Problem]) -> Label:
    if not isinstance(value, dict) or not all(isinstance(v, str) and v.strip() for v in value.values()):
        example = "{" + ", ".join(f"{x}: ..." for x in locales) + "}"
        problems.append(Problem(LABELS_FILE, line, where, Message("config.process_label_shape", example=example)))
        return {}
    unknown = sorted(set(value) - set(locales))
    if unknown:
        problems.append(Problem(LABELS_FILE, line, where, Message("config.process_label_locales",
                                                                  unknown=", ".join(map(str, unknown)),
                                                                  locales=", ".join(locales))))
    return {str(k): str(v).strip() for k, v in value.items() if k in locales}


def load_process_labels(files: Mapping[str, str], locales: tuple[str, ...],
                        ) -> tuple[dict[str, ProcessLabels], list[Problem]]:
    """The labels file read (empty when the bundle has none), and the problems of its shape."""
    if LABELS_FILE not in files:
        return {}, []
    try:
        data = load_yaml(files[LABELS_FILE], LABELS_FILE)
    except ConfigError as error:
        return {}, list(error.problems)
    if data is None:
        return {}, []
    if not isinstance(data, LineMap):
        return {}, [Problem(LABELS_FILE, 1, None, Message("config.process_labels_mapping"))]
    from engine.config.schemas import structure_problems  # late: the schemas import this module's keys

    problems: list[Problem] = []
    bad: set[tuple[Any, ...]] = set()
    for line, where, message in structure_problems("process_labels", data):
        problems.append(Problem(LABELS_FILE, line, str(where[0]) if where else None, message))
        bad.add(tuple(where[:2]))
    result: dict[str, ProcessLabels] = {}
    for process_id, spec in data.items():
        if (process_id,) in bad:
            continue
        label = _label(spec["label"], str(process_id), spec.line_of("label"), locales, problems) \
            if "label" in spec else {}
        elements: dict[str, Label] = {}
        lines: dict[str, int | None] = {}
        raw = LineMap(spec.line) if (process_id, "elements") in bad else spec.get("elements", LineMap(spec.line))
        for element_id, value in raw.items():
            lines[str(element_id)] = raw.line_of(element_id)
            elements[str(element_id)] = _label(value, str(element_id), raw.line_of(element_id), locales, problems)
        result[str(process_id)] = ProcessLabels(label, elements, data.line_of(process_id), lines)
    return result, problems


def label_in(labels: Mapping[str, ProcessLabels], process_id: str, element_id: str | None, locale: str,
             fallback: str) -> str:
    """The name of a process (element_id None) or of one of its elements in `locale`, else `fallback`."""
    found = labels.get(process_id)
    if found is None:
        return fallback
    label = found.label if element_id is None else found.elements.get(element_id) or {}
    return label.get(locale) or fallback
