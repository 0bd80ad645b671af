"""Where a change came from (field history, audit log), in the user's language: the engine stores English
phrases ("rule assign_north", "process lead_qualification v2 / qualify_lead"); process and step names come from
processes/labels.yaml, the rest from the `audit_sources` patterns of the message catalogs."""

from __future__ import annotations

import re

from engine.config.process_labels import label_in
from engine.errors import FlowError
from web import uow
from web.i18n import AUDIT_SOURCES, engine_message, get_locale, label
from web.present import bundle_of, process_labels

_STEP = re.compile(r"^(?:process )?(?P<process>[A-Za-z_][\w.-]*) v(?P<version>\d+)(?: / (?P<step>.+))?$")
_TASK = re.compile(r"^task (?P<name>.+)$")
_RULE = re.compile(r"^rule (?P<name>\w+)$")


def _step_name(process_id: str | None, step: str) -> str:
    """A step given by its id or its BPMN name, in the request's language (unchanged when no label has it)."""
    locale = get_locale()
    for pid, labels in process_labels().items():
        if process_id is not None and pid != process_id:
            continue
        if step in labels.elements:
            return label_in(process_labels(), pid, step, locale, step)
        for element_id, names in labels.elements.items():
            if step in names.values():
                return label_in(process_labels(), pid, element_id, locale, step)
    return step


def _rule_name(name: str) -> str:
    """A rule by its label in the request's language (its name when the deployed bundle has no such rule)."""
    try:
        rule = bundle_of(uow()).rules.get(name)
    except FlowError:  # nothing deployed
        return name
    return name if rule is None else label(rule.label, name)


def source_text(source: str | None) -> str:
    """A stored change source in the request's language."""
    if not source:
        return ""
    step = _STEP.match(source)
    if step:
        process_id = step["process"]
        name = label_in(process_labels(), process_id, None, get_locale(), process_id)
        if step["step"] is None:  # the instance itself: started, completed
            return f"{name} v{step['version']}"
        return f"{name} v{step['version']} / {_step_name(process_id, step['step'])}"
    task = _TASK.match(source)
    if task:
        source = f"task {_step_name(None, task['name'])}"
    rule = _RULE.match(source)
    if rule:
        source = f"rule {_rule_name(rule['name'])}"
    return engine_message(source, section=AUDIT_SOURCES)
