"""Inbound events (crm_model/events.yaml): correlate to instances waiting for a BPMN message, or create a record
and start its processes. Every event, accepted or rejected, is kept in inbound_event."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.config.events_loader import BUSINESS_KEY, RECORD_ID
from engine.config.model import Bundle, InboundEvent
from engine.errors import ConflictError, FlowError, NotFound, ValidationError
from engine.processes.deployed import active_bundle
from engine.records.schema import validate_record
from engine.services.access import require_permission
from engine.services.instances import advance, load_runtime, start_version
from engine.services.records import entity_of, insert_record
from engine.services.views import Actor
from engine.store.models import InboundEventRow, InstanceEventRow, InstanceRow, MessageWaitRow
from engine.store.uow import UnitOfWork

# Integrations post with a token of a technical user; admins and designers set those up and try events out,
# sellers and their heads may replay one by hand. Auditors change nothing.


@dataclass(frozen=True)
class EventView:
    """What the engine did with an inbound event."""

    id: int
    name: str
    outcome: str  # correlated | started
    detail: str
    received_at: datetime
    record_id: int | None = None
    instance_ids: list[int] = field(default_factory=list)


def _payload(business_key: str | None, data: Any) -> dict[str, Any]:
    return {"business_key": business_key, "data": data}


def log_rejected(
    uow: UnitOfWork, actor: Actor, name: str, business_key: str | None, data: Any, reason: str, now: datetime
) -> None:
    """Keep a refused event with its reason, in a transaction of its own."""
    with uow:
        uow.events.add(
            InboundEventRow(
                received_at=now,
                source=actor.username[:200],
                name=name[:200],
                business_key=business_key[:200] if business_key else None,
                payload=_payload(business_key, data),
                outcome="rejected",
                detail=reason,
            )
        )
        uow.commit()


def _value_at(path: str, business_key: str | None, data: dict[str, Any]) -> Any:
    """The payload value at `data.a.b` (None when absent), or the business key."""
    if path == BUSINESS_KEY:
        return business_key
    current: Any = data
    for part in path.split(".")[1:]:
        current = current.get(part) if isinstance(current, dict) else None
    return current


def _new_record(
    uow: UnitOfWork,
    actor: Actor,
    bundle: Bundle,
    event: InboundEvent,
    business_key: str | None,
    data: dict[str, Any],
    now: datetime,
) -> tuple[str, int, list[int]]:
    entity = entity_of(bundle, event.entity or "")
    values = {name: _value_at(path, business_key, data) for name, path in event.fields.items()}
    try:
        clean = validate_record(entity, bundle, {k: v for k, v in values.items() if v not in (None, "")})
    except ValidationError as exc:  # name the payload paths the sender knows, not our field names
        raise ValidationError({event.fields.get(k, k): v for k, v in exc.errors.items()}) from exc
    version = None
    if event.process:
        version = uow.config.latest_process(event.process)
        if version is None:
            raise NotFound(f"event {event.name}: process {event.process!r} is not deployed")
    row = insert_record(uow, actor, entity, clean, now, source=f"event {event.name}", start_processes=version is None)
    if version is not None:
        start_version(uow, actor, version, row, now)
    uow.flush()
    instances = [i.id for i in uow.instances.for_record(row.id)]
    started = f", started instance(s) {', '.join(map(str, instances))}" if instances else ""
    return f"created {entity.name} #{row.id}{started}", row.id, instances


def _matching_waits(uow: UnitOfWork, event: InboundEvent, business_key: str) -> list[MessageWaitRow]:
    """Waits for the event's message whose record matches the key (one per instance)."""
    message = event.message or ""
    if event.business_key == RECORD_ID:
        waits = uow.events.waits(message, business_key)
    else:  # a record field: read the records of the waiting instances (the field may have changed since)
        waits = uow.events.waiting_for(message)
        ids = {int(w.business_key) for w in waits if w.business_key and w.business_key.isdigit()}
        records = uow.records.by_ids(ids)
        wanted = event.business_key or ""

        def matches(wait: MessageWaitRow) -> bool:
            record = records.get(int(wait.business_key)) if wait.business_key and wait.business_key.isdigit() else None
            return record is not None and str(record.data.get(wanted)) == business_key

        waits = [w for w in waits if matches(w)]
    first: dict[int, MessageWaitRow] = {}
    for wait in waits:
        first.setdefault(wait.instance_id, wait)
    return list(first.values())


def deliver_message(
    uow: UnitOfWork, actor: Actor, wait: MessageWaitRow, data: dict[str, Any], noted: dict[str, Any], now: datetime
) -> InstanceRow:
    """Deliver a message with `data` to one waiting catch, note it in the instance's history (`noted`) and run
    the instance on, inside the caller's transaction."""
    instance, version, runtime = load_runtime(uow, wait.instance_id)
    steps = runtime.deliver_message(wait.task_id, data, wait.message)
    uow.history.add(
        InstanceEventRow(
            instance_id=instance.id, at=now, actor=actor.username, kind="message_received", element_id=None, data=noted
        )
    )
    advance(uow, instance, version, runtime, steps, actor.username, now)
    return instance


def _correlate(
    uow: UnitOfWork, actor: Actor, event: InboundEvent, business_key: str | None, data: dict[str, Any], now: datetime
) -> tuple[str, int | None, list[int]]:
    if business_key is None:
        raise ValidationError(
            {"business_key": [f"event {event.name} correlates by {event.business_key}: send business_key"]}
        )
    waits = _matching_waits(uow, event, business_key)
    if not waits:
        raise ConflictError(f"nothing waits for message {event.message!r} with {event.business_key} {business_key!r}")
    record_ids: set[int] = set()
    for wait in waits:
        instance = deliver_message(
            uow, actor, wait, data, {"event": event.name, "message": event.message, "data": data}, now
        )
        if instance.record_id is not None:
            record_ids.add(instance.record_id)
    instances = [w.instance_id for w in waits]
    detail = f"message {event.message!r} delivered to instance(s) {', '.join(map(str, instances))}"
    return detail, (min(record_ids) if len(record_ids) == 1 else None), instances


def receive_event(
    uow: UnitOfWork, actor: Actor, name: str, business_key: str | None, data: dict[str, Any], now: datetime
) -> EventView:
    """Act on an inbound event as crm_model/events.yaml says; a refused one is kept and its error raised."""
    try:
        require_permission(actor, "event.post", action="post events")
        bundle, _ = active_bundle(uow)
        event = bundle.events.get(name)
        if event is None:
            known = ", ".join(sorted(bundle.events)) or "none"
            raise NotFound(f"unknown event {name!r} (configured events: {known})")
        record_id: int | None
        with uow:
            if event.kind == "start":
                detail, record_id, instances = _new_record(uow, actor, bundle, event, business_key, data, now)
            else:
                detail, record_id, instances = _correlate(uow, actor, event, business_key, data, now)
            outcome = "started" if event.kind == "start" else "correlated"
            row = InboundEventRow(
                received_at=now,
                source=actor.username[:200],
                name=name,
                business_key=business_key[:200] if business_key else None,
                payload=_payload(business_key, data),
                outcome=outcome,
                detail=detail,
                instance_id=instances[0] if instances else None,
            )
            uow.events.add(row)
            uow.commit()
            return EventView(row.id, name, outcome, detail, now, record_id, instances)
    except FlowError as exc:
        log_rejected(uow, actor, name, business_key, data, f"{type(exc).__name__}: {exc}", now)
        raise
