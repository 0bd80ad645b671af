"""The handler table: what happens after each kind of write, answered in one place.

The record-writing core (engine.services.records.write_fields / insert_record), the services and the rules
publish domain events (engine.store.events) in the unit of work; it hands each to these handlers, in order,
inside the same transaction. A handler's writes publish more events: a rule cascade is events one level deeper,
stopped at engine.rules.dispatch.MAX_DEPTH with the same error as before."""

from __future__ import annotations

from engine.processes.deployed import active_bundle
from engine.quality.checks import on_fields_changed
from engine.rules.dispatch import on_record_changed, on_record_created, on_task_completed
from engine.search.index import refresh_record
from engine.services.instances import start_on_create, start_requested
from engine.services.records import give_to_creator
from engine.store.events import (
    FieldsChanged,
    InstanceMoved,
    ProcessStartRequested,
    RecordChanged,
    RecordCreated,
    TaskCompleted,
)
from engine.store.uow import Handlers, UnitOfWork


def refresh_search_keys(uow: UnitOfWork, event: FieldsChanged) -> None:
    """Handler: rewrite the record's search keys when a field the header search reads changed."""
    bundle, _ = active_bundle(uow)
    entity = bundle.entities.get(event.record.entity)
    if entity is not None:
        refresh_record(uow, entity, event.record, event.changes, bundle.settings.default_region, created=event.created)


HANDLERS: Handlers = {
    FieldsChanged: [refresh_search_keys, on_fields_changed],  # search keys; match keys, then the entity's
    # duplicate policy (warn, link, block)
    RecordCreated: [on_record_created, give_to_creator, start_on_create],  # rules on created / linked_created,
    # then (the rules may have named an owner) its creator's, then the processes that start on create
    RecordChanged: [on_record_changed],  # rules on changed / linked_changed (edits, rule actions, imports)
    TaskCompleted: [on_task_completed],  # rules on the fields a task form wrote
    InstanceMoved: [on_record_changed],  # rules on the fields a process step's set.* or compute.* wrote
    ProcessStartRequested: [start_requested],  # a rule's start_process action: the instance, in this transaction
}
