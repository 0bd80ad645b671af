"""Check crm_model/events.yaml: inbound events that correlate to a waiting BPMN message or start a record."""

from __future__ import annotations

import re

from engine.config.checking import SNAKE_NAME, Checker, Say
from engine.config.model import InboundEvent
from engine.config.yaml_lines import LineMap

EVENTS_FILE = "crm_model/events.yaml"
RECORD_ID = "record_id"
BUSINESS_KEY = "business_key"  # a payload path: the event's business_key
_CORRELATE_KEYS = ("message", "business_key")
_START_KEYS = ("entity", "fields", "process")
_PATH = re.compile(r"data(?:\.[A-Za-z_][A-Za-z0-9_]*)+")
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


def _keys(say: Say, spec: LineMap, allowed: tuple[str, ...]) -> None:
    for key in spec:
        if key not in allowed:
            say(spec.line_of(key), f"unknown key '{key}'; expected: {', '.join(allowed)}")


def _correlate(checker: Checker, say: Say, name: str, spec: LineMap, facts: Processes) -> InboundEvent | None:
    # a message nothing waits for yet is no mistake: processes may come later; such an event answers 409
    _keys(say, spec, _CORRELATE_KEYS)
    message, key = spec.get("message"), spec.get("business_key", RECORD_ID)
    if not isinstance(message, str) or not message:
        say(spec.line_of("message"), "correlate needs message: <the name of a bpmn:message>")
        return None
    fields = {f for entity in checker.entities.values() for f in entity.fields}
    if not isinstance(key, str) or (key != RECORD_ID and key not in fields and not checker.unreadable):
        say(spec.line_of("business_key"), f"business_key {key!r} must be record_id or a field of an entity")
        return None
    return InboundEvent(name, "correlate", message=message, business_key=key, file=EVENTS_FILE, line=spec.line)


def _start(checker: Checker, say: Say, name: str, spec: LineMap, facts: Processes) -> InboundEvent | None:
    _keys(say, spec, _START_KEYS)
    entity_name, mapping, process = spec.get("entity"), spec.get("fields"), spec.get("process")
    entity = checker.entities.get(entity_name) if isinstance(entity_name, str) else None
    if entity is None:
        if entity_name not in checker.unreadable:
            known = ", ".join(sorted(checker.entities)) or "none"
            say(spec.line_of("entity"), f"start needs entity: <Name> of a known entity (known: {known})")
        return None
    if not isinstance(mapping, LineMap) or not mapping:
        say(spec.line_of("fields"), "fields must map record fields to payload paths, like title: data.subject")
        return None
    fields: dict[str, str] = {}
    for field_name, source in mapping.items():
        line = mapping.line_of(field_name)
        if field_name not in entity.fields:
            say(line, f"{entity.name} has no field {field_name!r}; fields: {', '.join(entity.fields)}")
        elif not isinstance(source, str) or not (_PATH.fullmatch(source) or source == BUSINESS_KEY):
            say(line, f"{field_name}: {source!r} must be a payload path like data.subject, or business_key")
        else:
            fields[field_name] = source
    for field in entity.fields.values():
        if field.required and field.default is None and field.name not in mapping:
            say(spec.line_of("fields"), f"{entity.name}.{field.name} is required: map it from the payload")
    if process is not None:
        if not isinstance(process, str) or not process:
            say(spec.line_of("process"), "process must be a process id")
        elif facts is not None and process not in facts:
            say(spec.line_of("process"), f"unknown process {process!r} (known: {', '.join(sorted(facts))})")
        elif facts is not None and facts[process] not in (None, entity.name):
            say(spec.line_of("process"), f"process {process} runs on {facts[process]}, not on {entity.name}")
    return InboundEvent(
        name,
        "start",
        entity=entity.name,
        fields=fields,
        process=process if isinstance(process, str) else None,
        file=EVENTS_FILE,
        line=spec.line,
    )


def load_events(checker: Checker) -> dict[str, InboundEvent]:
    """Check crm_model/events.yaml against the entities and BPMN messages; problems go to the checker."""
    data = checker.mapping(EVENTS_FILE, ("events",))
    if data is None:
        return {}
    specs = data.get("events")
    if not isinstance(specs, LineMap) or not specs:
        checker.sayer(EVENTS_FILE, None)(
            data.line_of("events") if "events" in data else data.line,
            "events must be a mapping of event name: {correlate: ...} or {start: ...}",
        )
        return {}
    facts = _process_entities(checker)
    events: dict[str, InboundEvent] = {}
    for name, spec in specs.items():
        say, line = checker.sayer(EVENTS_FILE, name), specs.line_of(name)
        if not SNAKE_NAME.fullmatch(name):
            say(line, "event names must be snake_case, like client_replied")
            continue
        kinds = [k for k in ("correlate", "start") if isinstance(spec, LineMap) and k in spec]
        if not isinstance(spec, LineMap) or len(kinds) != 1 or len(spec) != 1:
            say(line, "an event is either {correlate: {message, business_key}} or {start: {entity, fields}}")
            continue
        body = spec[kinds[0]]
        if not isinstance(body, LineMap):
            say(spec.line_of(kinds[0]), f"{kinds[0]} must be a mapping")
            continue
        build = _correlate if kinds[0] == "correlate" else _start
        event = build(checker, say, name, body, facts)
        if event is not None:
            events[name] = event
    return events
