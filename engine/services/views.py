"""Plain views the services return: never ORM rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.actors import SYSTEM, Actor
from engine.roles import ROLES

__all__ = ["ROLES", "SYSTEM", "Actor"]  # Actor lives in engine.actors; the services name it here too


@dataclass(frozen=True)
class UserView:
    id: int
    username: str
    display_name: str
    roles: tuple[str, ...]
    team: str | None
    locale: str
    active: bool
    timezone: str | None = None


@dataclass(frozen=True)
class TaskView:
    id: str
    instance_id: int | None
    record_id: int | None
    record_title: str | None
    element_id: str
    title: str
    form_key: str | None
    candidate_groups: tuple[str, ...]
    candidate_users: tuple[str, ...]
    assignee: str | None
    state: str
    due_at: datetime | None
    created_at: datetime
    completed_at: datetime | None
    completed_by: str | None
    process: str | None = None  # the process version's name (None: a standalone task, or not read)
    title_labels: dict[str, str] | None = None  # a standalone task's title per locale, when its maker gave several
    assignee_name: str | None = None  # the assignee's display name (pages show it; `assignee` is the login)

    def overdue(self, now: datetime) -> bool:
        """True if an open task is past its due date."""
        return self.state == "open" and self.due_at is not None and self.due_at < now


@dataclass(frozen=True)
class TaskDetail:
    task: TaskView
    form_schema: dict[str, Any] | None
    form_ui: dict[str, Any]
    values: dict[str, Any]
    process_name: str
    can_claim: bool
    can_unclaim: bool
    can_complete: bool


@dataclass(frozen=True)
class RecordView:
    id: int
    entity: str
    title: str
    data: dict[str, Any]
    owner: str | None
    created_at: datetime
    updated_at: datetime
    revision: int
    merged_into_id: int | None = None  # set when merged into that record: read-only, hidden from lists


@dataclass(frozen=True)
class FieldChangeView:
    at: datetime
    actor: str
    source: str
    field: str
    old_value: Any
    new_value: Any
    origin_id: int | None = None  # the record it was written on, when that record was merged into this one


@dataclass(frozen=True)
class StepView:
    at: datetime
    actor: str
    kind: str
    element_id: str | None
    element_name: str | None
    element_type: str | None
    data: dict[str, Any] | None


@dataclass(frozen=True)
class InstanceView:
    id: int
    process_id: str
    process_name: str
    version: int
    record_id: int | None
    status: str
    started_at: datetime
    started_by: str
    ended_at: datetime | None


@dataclass(frozen=True)
class InstanceDetail:
    instance: InstanceView
    steps: list[StepView]
    tasks: list[TaskView]


@dataclass(frozen=True)
class ProcessVersionView:
    id: int
    process_id: str
    name: str
    version: int
    file: str
    entity: str | None
    start_on: str | None
    deployed_at: datetime
    deployed_by: str
    running: int


@dataclass
class DeployReport:
    config_version_id: int
    config_changed: bool
    new_versions: list[ProcessVersionView] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
