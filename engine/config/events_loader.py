"""Check crm_model/events.yaml: inbound events that correlate to a waiting BPMN message or start a record."""

from __future__ import annotations

from typing import Any

from engine.config.checking import Checker, Path_, Say, names_or_none
from engine.config.model import InboundEvent
from engine.config.yaml_lines import LineMap
from engine.messages import Message

EVENTS_FILE = "crm_model/events.yaml"
RECORD_ID = "record_id"
BUSINESS_KEY = "business_key"  # a payload path: the event's business_key
_CORRELATE_KEYS = ("message", "business_key")
_START_KEYS = ("entity", "fields", "process")
Processes = dict[str, str | None] | None  # process id -> its entity; None when the BPMN could not be read


def _process_entities(checker: Checker) -> Processes:
    """Process id -> flowcrm.entity of the bundle's BPMN files; None when one cannot be read (the process
    checks report it)."""
    from lxml import etree

    from engine.processes.definitions import NS

    processes: dict[str, str | None] = {}
    for path, text in checker.files.items():
        if not (path.startswith("processes/") and path.endswith(".bpmn")):
            continue
        try:
            tree = etree.fromstring(text.encode())
        except etree.XMLSyntaxError:
            return None
        for process in tree.findall("./bpmn:process", NS):
            entity = process.find(
                "./bpmn:extensionElements/camunda:properties/camunda:property[@name='flowcrm.entity']", NS
            )
            processes[process.get("id") or ""] = entity.get("value") if entity is not None else None
    return processes


def _event_element(data: Any, where: list[Any]) -> str | None:
    """The element an events.yaml problem names: the event, else none."""
    return str(where[1]) if len(where) > 1 and where[0] == "events" else None


def _correlate(checker: Checker, say: Say, name: str, spec: LineMap, bad: set[Path_]) -> InboundEvent | None:
    # a message nothing waits for yet is no mistake: processes may come later; such an event answers 409
    message, key = spec.get("message"), spec.get("business_key", RECORD_ID)
    fields = {f for entity in checker.entities.values() for f in entity.fields}
    if ("message",) in bad or ("business_key",) in bad:
        return None
    if key != RECORD_ID and key not in fields and not checker.unreadable:
        say(spec.line_of("business_key"), Message("config.business_key", key=repr(key)))
        return None
    return InboundEvent(name, "correlate", message=message, business_key=key, file=EVENTS_FILE, line=spec.line)


def _start(
    checker: Checker, say: Say, name: str, spec: LineMap, facts: Processes, bad: set[Path_]
) -> InboundEvent | None:
    """A start event; `bad`: the paths in `spec` its schema found bad (reported already)."""
    entity_name, mapping, process = spec.get("entity"), spec.get("fields"), spec.get("process")
    entity = checker.entities.get(entity_name) if isinstance(entity_name, str) else None
    if entity is None:
        if not isinstance(entity_name, str) or entity_name not in checker.unreadable:
            known = names_or_none(sorted(checker.entities))
            say(spec.line_of("entity"), Message("config.event_entity", known=known))
        return None
    if not isinstance(mapping, LineMap) or ("fields",) in bad or ("process",) in bad:
        return None
    fields: dict[str, str] = {}
    for field_name, source in mapping.items():
        if field_name not in entity.fields:
            say(mapping.line_of(field_name), Message("config.no_such_field", entity=entity.name,
                                                     field=repr(field_name), fields=", ".join(entity.fields)))
        elif ("fields", field_name) not in bad:
            fields[field_name] = source
    for field in entity.fields.values():
        if field.required and field.default is None and field.name not in mapping:
            say(spec.line_of("fields"), Message("config.event_required_field", entity=entity.name, field=field.name))
    if process is not None:
        if facts is not None and process not in facts:
            say(spec.line_of("process"), Message("config.process_unknown", process=repr(process),
                                                 known=", ".join(sorted(facts))))
        elif facts is not None and facts[process] not in (None, entity.name):
            say(spec.line_of("process"), Message("config.process_entity", process=process, runs_on=facts[process],
                                                 entity=entity.name))
    return InboundEvent(
        name, "start", entity=entity.name, fields=fields, process=process, file=EVENTS_FILE, line=spec.line
    )


def load_events(checker: Checker) -> dict[str, InboundEvent]:
    """Check crm_model/events.yaml: its structure by its schema, then against the entities and BPMN processes."""
    data, bad = checker.document(EVENTS_FILE, _event_element)
    if data is None or any(where[:1] == ("events",) and len(where) < 2 for where in bad):
        return {}
    facts = _process_entities(checker)
    events: dict[str, InboundEvent] = {}
    for name, spec in data.get("events", {}).items():
        mine = {where[3:] for where in bad if where[:2] == ("events", name)}
        if any(len(where) < 1 for where in mine):
            continue  # its shape is reported
        kind = next(iter(spec))
        say = checker.sayer(EVENTS_FILE, name)
        event = (
            _correlate(checker, say, name, spec[kind], mine)
            if kind == "correlate"
            else _start(checker, say, name, spec[kind], facts, mine)
        )
        if event is not None:
            events[name] = event
    return events
