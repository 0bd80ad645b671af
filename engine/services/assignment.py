"""Routing and assignment: new user tasks go to a team (DMN) and a member (balance); mass reassignment;
redistributing a leaver's work."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.config.model import Bundle
from engine.errors import ConflictError, FlowError, NotFound, ValidationError
from engine.memo import held_for
from engine.processes.definitions import ElementMeta
from engine.processes.deployed import active_bundle
from engine.processes.dmn import decide
from engine.processes.spiff import ReadyTask
from engine.records.writing import refuse_merged
from engine.services.access import WORKERS, require_permission
from engine.services.views import Actor
from engine.store.models import FieldChangeRow, InstanceEventRow, RecordRow, TaskRow, UserRow
from engine.store.uow import UnitOfWork

ROUTING = "flowcrm.routing"  # id of a DMN decision whose output `team` (and optional `skill`) routes the task
BALANCE = "flowcrm.balance"  # how a team shares its tasks
STRATEGIES = ("round_robin", "fewest_open", "pool")
MAX_BATCH = 500


@dataclass(frozen=True)
class ReassignView:
    """What a mass reassignment or a redistribution changed."""

    to: tuple[str, ...]
    task_ids: tuple[str, ...]
    record_ids: tuple[int, ...]


# the file of each routing decision, per loaded bundle (engine.memo.held_for keeps the bundle beside it): finding it
# sorted and scanned every file of the bundle for every routed task
_DECISION_FILES: dict[Hashable, tuple[tuple[object, ...], Any]] = {}


def _decision_file(uow: UnitOfWork, decision_id: str) -> tuple[str, str]:
    # the parsed active bundle holds every file's text and is read once per unit of work (by content hash):
    # a routed task does not read the whole configuration row again
    bundle, _ = active_bundle(uow)
    found: tuple[str, str] = held_for(_DECISION_FILES, (id(bundle), decision_id), (bundle,),
                                      lambda: _find_decision_file(bundle, decision_id), 64)
    return found


def _find_decision_file(bundle: Bundle, decision_id: str) -> tuple[str, str]:
    marker = f'id="{decision_id}"'
    for path, text in bundle.dmn_files().items():
        if marker in text:
            return path, text
    raise FlowError(f"{ROUTING}: decision {decision_id!r} is not in the deployed configuration")


def _members(uow: UnitOfWork, team: str) -> list[UserRow]:
    """Who shares a team's tasks: its active users with a role that works tasks."""
    return uow.assignment.team_members(team, WORKERS)


def _next_in_rotation(members: Sequence[UserRow], last_user_id: int | None) -> UserRow:
    """The member after the last one served (by id), wrapping around; a departed last user is skipped."""
    for member in members:
        if last_user_id is None or member.id > last_user_id:
            return member
    return members[0]


def _event(uow: UnitOfWork, row: TaskRow, instance_id: int | None, now: datetime, actor: str, kind: str,
           data: dict[str, Any]) -> None:
    if instance_id is not None:
        uow.history.add(InstanceEventRow(instance_id=instance_id, at=now, actor=actor, kind=kind, task_id=row.id,
                                         element_id=row.spec_name, element_name=row.title, data=data))


def pick_member(uow: UnitOfWork, team: str, strategy: str, now: datetime) -> UserRow | None:
    """The team member who gets the next task; None when the team has no one active.

    Both strategies hold the team's cursor row lock until commit, so concurrent assignments in one team queue
    up: round-robin never hands two tasks to the same member out of turn, fewest-open counts committed work."""
    members = _members(uow, team)
    if not members:
        return None
    cursor = uow.assignment.lock_cursor(team, now)
    if strategy == "round_robin":
        chosen = _next_in_rotation(members, cursor.last_user_id)
    else:
        counts = uow.assignment.open_counts(m.id for m in members)
        chosen = min(members, key=lambda m: (counts.get(m.id, 0), m.id))
    cursor.last_user_id = chosen.id
    cursor.updated_at = now
    uow.flush()
    return chosen


def route_task(uow: UnitOfWork, instance_id: int, task: ReadyTask, meta: ElementMeta, now: datetime,
               groups: list[str], assignee_id: int | None,
               events: list[dict[str, Any]]) -> tuple[list[str], int | None]:
    """Candidate groups and assignee of a new user task after `flowcrm.routing` / `flowcrm.balance`.

    A task with an explicit assignee, or without routing, keeps what the BPMN says. The decision sees the
    record's fields and the task data; no matching rule leaves the task in its BPMN pool. The decision is
    appended to `events` (instance_event values, written by the caller with the step's others)."""
    decision_id = meta.properties.get(ROUTING)
    if not decision_id or assignee_id is not None:
        return groups, assignee_id
    strategy = meta.properties.get(BALANCE) or "pool"
    if strategy not in STRATEGIES:
        raise FlowError(f"{meta.id}: {BALANCE} must be one of {', '.join(STRATEGIES)}, not {strategy!r}")
    record = task.data.get("record")
    names = {**task.data, **(record if isinstance(record, dict) else {})}
    path, text = _decision_file(uow, decision_id)
    result = decide(path, text, decision_id, names)
    team = result.get("team")
    if not isinstance(team, str) or not team:
        return groups, assignee_id
    chosen = pick_member(uow, team, strategy, now) if strategy != "pool" else None
    data = {"team": team, "strategy": strategy, "user": chosen.username if chosen else None}
    if result.get("skill"):
        data["skill"] = result["skill"]
    events.append({"instance_id": instance_id, "at": now, "actor": "process", "kind": "assigned",
                   "task_id": task.task_id, "element_id": task.element_id, "element_name": task.title,
                   "element_type": None, "data": data})
    return [team], chosen.id if chosen else None


@dataclass(frozen=True)
class RedistributionPreview:
    """What `redistribute_user` would move, shown before it is confirmed."""

    username: str
    team: str | None
    active: bool
    open_tasks: int
    records: int
    members: tuple[str, ...]  # who would take over


def assignable_users(uow: UnitOfWork, actor: Actor) -> list[str]:
    """Whom the actor may reassign work to: their team's active task workers (a head of sales) or everyone's (admin)."""
    require_permission(actor, "record.assign", action="reassign work")
    with uow:
        if actor.has("admin"):
            teams = sorted({u.team for u in uow.users.all() if u.team})
        else:
            teams = [actor.team] if actor.team else []
        return sorted(u.username for team in teams for u in _members(uow, team))


def _leaver(uow: UnitOfWork, actor: Actor, username: str) -> UserRow:
    leaver = uow.users.by_username(username)
    if leaver is None:
        raise NotFound(f"user {username!r} not found")
    if not actor.has("admin") and (leaver.team is None or leaver.team != actor.team):
        raise ValidationError({"username": [f"{username} is not in your team"]})
    return leaver


def redistribution_preview(uow: UnitOfWork, actor: Actor, username: str) -> RedistributionPreview:
    """How many open tasks and records a user holds, and who in their team would take them over."""
    require_permission(actor, "work.redistribute", action="redistribute a user's work")
    with uow:
        leaver = _leaver(uow, actor, username)
        members = [m.username for m in _members(uow, leaver.team) if m.id != leaver.id] \
            if leaver.team else []
        return RedistributionPreview(leaver.username, leaver.team, leaver.active,
                                     len(uow.assignment.open_tasks_of(leaver.id)),
                                     len(uow.assignment.records_of(leaver.id)), tuple(members))


def assignee_target(uow: UnitOfWork, actor: Actor, username: str) -> UserRow:
    """The active working user `username` the actor may hand work to (own team unless admin)."""
    user = uow.users.by_username(username) if isinstance(username, str) else None
    if user is None or not user.active or not set(WORKERS) & set(user.roles.split(",")):
        raise ValidationError({"to": [f"{username!r} is not an active user who works tasks"]})
    if not actor.has("admin") and user.team != actor.team:
        raise ValidationError({"to": [f"{username} is not in your team"]})
    return user


def _check_batch(ids: Sequence[Any], field: str) -> None:
    if not ids:
        raise ValidationError({field: ["choose at least one"]})
    if len(ids) > MAX_BATCH:
        raise ValidationError({field: [f"at most {MAX_BATCH} per call, got {len(ids)}"]})


def _reassign_task(uow: UnitOfWork, row: TaskRow, to: UserRow, users: dict[int, UserRow], actor: str,
                   now: datetime, reason: str | None = None) -> None:
    old = users[row.assignee_id].username if row.assignee_id in users else None
    row.assignee_id = to.id
    uow.tasks.set_pooled(row.id, False)
    data: dict[str, Any] = {"from": old, "to": to.username}
    if reason:
        data["reason"] = reason
    _event(uow, row, row.instance_id, now, actor, "reassigned", data)


def give_record(uow: UnitOfWork, record: RecordRow, to: UserRow, users: dict[int, UserRow], actor: str,
                now: datetime, source: str) -> None:
    """Make `to` the record's owner, with a history row naming `source` (inside the caller's transaction)."""
    old = users[record.owner_id].username if record.owner_id in users else None
    record.owner_id, record.updated_at = to.id, now
    uow.records.add(FieldChangeRow(record_id=record.id, at=now, actor=actor, source=source, field="owner",
                                   old_value=old, new_value=to.username))


def reassign_tasks(uow: UnitOfWork, actor: Actor, task_ids: Sequence[str], to_username: str,
                   now: datetime) -> ReassignView:
    """Give open tasks to one person in one transaction: all of them or, with the bad ids listed, none."""
    require_permission(actor, "record.assign", action="reassign tasks")
    ids = list(dict.fromkeys(task_ids))
    _check_batch(ids, "task_ids")
    with uow:
        to = assignee_target(uow, actor, to_username)
        rows = uow.assignment.tasks(ids)
        users = uow.users.by_ids(r.assignee_id for r in rows.values() if r.assignee_id)
        team = set(uow.users.team_member_ids(actor.team)) if actor.team else set()

        def allowed(row: TaskRow) -> bool:
            if actor.has("admin"):
                return True
            groups = set(row.candidate_groups.split(","))
            return row.assignee_id in team if row.assignee_id else bool(actor.team and actor.team in groups)

        bad = [i for i in ids if i not in rows or rows[i].state != "open" or not allowed(rows[i])]
        if bad:
            raise ValidationError({"task_ids": [f"not found, not open or not yours to reassign: {', '.join(bad)}"]})
        for task_id in ids:
            _reassign_task(uow, rows[task_id], to, users, actor.username, now)
        uow.commit()
        return ReassignView((to.username,), tuple(ids), ())


def reassign_records(uow: UnitOfWork, actor: Actor, record_ids: Sequence[int], to_username: str,
                     now: datetime) -> ReassignView:
    """Make one person the owner of these records (field history `owner`); all or nothing."""
    require_permission(actor, "record.assign", action="reassign records")
    ids = list(dict.fromkeys(record_ids))
    _check_batch(ids, "record_ids")
    with uow:
        to = assignee_target(uow, actor, to_username)
        rows = uow.assignment.records(ids)
        users = uow.users.by_ids(r.owner_id for r in rows.values() if r.owner_id)
        team = set(uow.users.team_member_ids(actor.team)) if actor.team else set()
        bad = [str(i) for i in ids if i not in rows
               or not (actor.has("admin") or rows[i].owner_id is None or rows[i].owner_id in team)]
        if bad:
            raise ValidationError({"record_ids": [f"not found or not yours to reassign: {', '.join(bad)}"]})
        for record_id in ids:
            refuse_merged(rows[record_id])
        for record_id in ids:
            give_record(uow, rows[record_id], to, users, actor.username, now, "reassign")
        uow.commit()
        return ReassignView((to.username,), (), tuple(ids))


def redistribute_user(uow: UnitOfWork, actor: Actor, username: str, now: datetime,
                      strategy: str = "round_robin") -> ReassignView:
    """A manager leaves: deactivate them and spread their open tasks and owned records over their team."""
    require_permission(actor, "work.redistribute", action="redistribute a user's work")
    if strategy not in ("round_robin", "fewest_open"):
        raise ValidationError({"strategy": ["must be round_robin or fewest_open"]})
    with uow:
        leaver = _leaver(uow, actor, username)
        if leaver.id == actor.id:
            raise ConflictError("you cannot redistribute your own work")
        team = leaver.team
        members = [m for m in _members(uow, team) if m.id != leaver.id] if team else []
        if not members:
            raise ConflictError(f"no one is left in {username}'s team ({team or 'no team'}) to take over")
        leaver.active = False
        tasks, records = uow.assignment.open_tasks_of(leaver.id), uow.assignment.records_of(leaver.id)
        load = uow.assignment.open_counts(m.id for m in members)
        users = {leaver.id: leaver}
        order = {m.id: n for n, m in enumerate(members)}
        reason, turn = f"{username} left", 0

        def next_member() -> UserRow:
            nonlocal turn
            if strategy == "fewest_open":
                chosen = min(members, key=lambda m: (load.get(m.id, 0), order[m.id]))
            else:
                chosen, turn = members[turn % len(members)], turn + 1
            load[chosen.id] = load.get(chosen.id, 0) + 1
            return chosen

        given: set[str] = set()
        for row in tasks:
            chosen = next_member()
            given.add(chosen.username)
            _reassign_task(uow, row, chosen, users, actor.username, now, reason)
        for n, record in enumerate(records):
            chosen = members[n % len(members)]
            given.add(chosen.username)
            give_record(uow, record, chosen, users, actor.username, now, f"redistribute: {reason}")
        uow.commit()
        return ReassignView(tuple(sorted(given)), tuple(r.id for r in tasks), tuple(r.id for r in records))
