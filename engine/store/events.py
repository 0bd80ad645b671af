"""Domain events: what a write did, recorded in the unit of work and handed to the handlers of
engine.services.handlers (rules, duplicate keys and checks) inside the same transaction.

The record-writing core publishes them instead of calling the handlers, so it imports none of them; a handler's
own writes publish more events, one cascade level deeper (`depth`/`chain` travel in the event)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.actors import Actor
from engine.store.models import InstanceRow, ProcessVersionRow, RecordRow, TaskRow

Changes = Mapping[str, tuple[Any, Any]]  # field -> (old, new)


@dataclass(frozen=True)
class FieldsChanged:
    """One write changed these fields of a record (every write of record fields goes through the core)."""

    record: RecordRow
    changes: Changes
    source: str
    actor: str
    now: datetime
    created: bool = False  # the record's first write, in the transaction that inserted it: it has no keys yet


@dataclass(frozen=True)
class RecordCreated:
    """A record was stored with these field values by `actor`; `start_processes`: start the processes that start
    on its creation; `creator_owns`: a creator who sees only their own records gets it when nothing gave it an
    owner."""

    record: RecordRow
    changes: Changes
    now: datetime
    depth: int = 0
    chain: tuple[str, ...] = ()
    actor: Actor | None = None
    source: str = "create"
    start_processes: bool = False
    creator_owns: bool = False


@dataclass(frozen=True)
class RecordChanged:
    """One logical change of a record ended (an edit, a rule's actions, a mass action, an import row): the fields
    it changed, for the rules they trigger."""

    record: RecordRow
    changes: Changes
    now: datetime
    depth: int = 0
    chain: tuple[str, ...] = ()


@dataclass(frozen=True)
class TaskCompleted:
    """A user task was completed; `changes` are the fields of its record the form wrote."""

    task: TaskRow
    record: RecordRow
    changes: Changes
    now: datetime


@dataclass(frozen=True)
class InstanceMoved:
    """A process instance passed a step whose `set.*` or `compute.*` settings changed fields of its record."""

    instance: InstanceRow
    record: RecordRow
    changes: Changes
    now: datetime
    depth: int = 0
    chain: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProcessStartRequested:
    """A rule's `start_process` action asks for an instance of this process version on the record, one cascade
    level deeper (`depth`/`chain` as the rule's own run has them, plus one)."""

    version: ProcessVersionRow
    record: RecordRow
    actor: Actor
    now: datetime
    depth: int = 0
    chain: tuple[str, ...] = ()


Event = FieldsChanged | RecordCreated | RecordChanged | TaskCompleted | InstanceMoved | ProcessStartRequested
