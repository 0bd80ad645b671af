"""The task inbox: my tasks, the pool, claim, unclaim, complete."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.config.model import Bundle, Form
from engine.errors import ConflictError, Forbidden, NotFound, ValidationError
from engine.processes.deployed import active_bundle
from engine.records.schema import resolve_form_schema, split_form_data, validate_form
from engine.services.access import WORKERS, reads_everything, require_permission
from engine.services.instances import advance, load_runtime, process_data
from engine.services.pipelines import (
    ADVANCE,
    ADVANCE_PROPERTY,
    apply_choice,
    element_property,
    form_with_choices,
    pipeline_property,
)
from engine.services.records import can_see, entity_of, load_visible, write_fields
from engine.services.task_pages import Paging, in_order
from engine.services.views import Actor, TaskDetail, TaskView
from engine.store.events import TaskCompleted
from engine.store.inbox_query import SORTS
from engine.store.inbox_query import TaskFilter as TaskFilter  # re-exported: the edges build one
from engine.store.models import RecordRow, TaskRow
from engine.store.uow import UnitOfWork
from engine.store.work_repos import COUNTED, TaskFields, TaskQuery

UNFILTERED = TaskFilter()

SCOPES = ("mine", "pool", "overdue", "team", "all")
NO_PROCESS = "—"  # the process name shown for a standalone task (made by a rule, outside any process)


def task_view(r: TaskRow | TaskFields, record_title: str | None, assignee: str | None,
              process: str | None = None, assignee_name: str | None = None) -> TaskView:
    """One task row as a view, given its record's title, its assignee's username, its process's name and its
    assignee's display name."""
    return TaskView(r.id, r.instance_id, r.record_id, record_title, r.spec_name, r.title, r.form_key,
                    tuple(x for x in r.candidate_groups.split(",") if x),
                    tuple(x for x in r.candidate_users.split(",") if x), assignee, r.state, r.due_at,
                    r.created_at, r.completed_at, r.completed_by, process, r.title_labels, assignee_name)


def task_views(uow: UnitOfWork, rows: Sequence[TaskRow], known: Actor | None = None) -> list[TaskView]:
    """Task rows as views, with assignee names, record titles and process names (`known`: a user whose name
    needs no read)."""
    names = {known.id: (known.username, known.display_name)} if known is not None and known.id is not None else {}
    users = uow.users.by_ids(r.assignee_id for r in rows if r.assignee_id and r.assignee_id not in names)
    names.update({user_id: (user.username, user.display_name) for user_id, user in users.items()})
    titles = uow.records.titles(r.record_id for r in rows if r.record_id)
    processes = uow.instances.process_names(r.instance_id for r in rows if r.instance_id is not None)
    nobody = (None, None)
    return [task_view(r, titles.get(r.record_id) if r.record_id else None,
                      names.get(r.assignee_id or 0, nobody)[0],
                      processes.get(r.instance_id) if r.instance_id is not None else None,
                      names.get(r.assignee_id or 0, nobody)[1]) for r in rows]


def check_filter(flt: TaskFilter) -> None:
    """ValidationError keyed by column for a sort no column has or a due range that ends before it starts."""
    errors: dict[str, list[str]] = {}
    if flt.sort is not None and flt.sort not in SORTS:
        errors["sort"] = [f"must be one of: {', '.join(SORTS)}"]
    if flt.due_from is not None and flt.due_before is not None and flt.due_before <= flt.due_from:
        errors["due"] = ["the end of the due range must not be before its start"]
    if errors:
        raise ValidationError(errors)


def _scope_select(uow: UnitOfWork, actor: Actor, scope: str, paging: Paging,
                  now: datetime | None, flt: TaskFilter = UNFILTERED) -> TaskQuery | None:
    """The select of a scope's page of open tasks (None: nothing to list), after the scope's permission check;
    sorted and filtered by `flt` (docs/lists.md), else by the tab's own bounded index scans."""
    if scope not in SCOPES:
        raise ValidationError({"scope": [f"must be one of: {', '.join(SCOPES)}"]})
    if scope == "overdue" and now is None:
        raise ValidationError({"now": ["the overdue tasks need the current time"]})
    check_filter(flt)
    paging = paging.checked()
    limit, offset, keyset = paging.limit, paging.offset, (paging.direction, paging.cursor)
    if not flt.plain() or scope == "all":  # all: read by its index range scans (engine/store/inbox_segments.py)
        return _filtered_select(uow, actor, scope, paging, now, flt)
    if scope == "team":
        require_permission(actor, "task.read_team", action="see the team's tasks")
        members = uow.users.team_member_ids(actor.team) if actor.team else []
        return uow.tasks.assigned_query(sorted({*members, actor.id or 0}), limit, offset, *keyset)
    if scope == "mine":
        return uow.tasks.assigned_query([actor.id], limit, offset, *keyset) if actor.id else None
    if scope == "pool":
        return uow.tasks.pool_query(actor.groups, actor.username, limit, offset, *keyset)
    assert now is not None  # noqa: S101 - the overdue tab, checked above
    return uow.tasks.overdue_query(actor.id or 0, actor.groups, actor.username, now, limit, offset, *keyset)


def _filtered_select(uow: UnitOfWork, actor: Actor, scope: str, paging: Paging, now: datetime | None,
                     flt: TaskFilter) -> TaskQuery | None:
    user_ids: list[int] = [actor.id] if actor.id else []
    if scope == "team":
        require_permission(actor, "task.read_team", action="see the team's tasks")
        members = uow.users.team_member_ids(actor.team) if actor.team else []
        user_ids = sorted({*members, actor.id or 0})
    elif scope == "all" and not reads_everything(actor):
        raise Forbidden(f"{actor.username} may not see every task")
    if scope == "mine" and not user_ids:
        return None
    return uow.tasks.filtered_query(scope, user_ids, actor.groups, actor.username, now, flt, paging.limit,
                                    paging.offset, user_id=actor.id or 0, paging=paging.direction,
                                    cursor=paging.cursor)


def list_tasks(uow: UnitOfWork, actor: Actor, scope: str = "mine", *, limit: int = 50,
               offset: int = 0, now: datetime | None = None, flt: TaskFilter = UNFILTERED,
               after: str | None = None, before: str | None = None) -> list[TaskView]:
    """Open tasks: assigned to me, claimable by me, of my team (head of sales), all (read-all roles), or mine and
    claimable ones past their due time (`overdue`, which needs `now`); sorted and filtered by `flt`; from
    `offset`, or the page after / before the task `after` / `before` (keyset)."""
    paging = Paging(limit, offset, after, before)
    with uow.reading():  # on its own: one statement, no transaction around it (the task page)
        query = _scope_select(uow, actor, scope, paging, now, flt)
        if query is None:
            return []
        rows, _, _ = uow.tasks.named(query)  # with each task's record title and assignee: one statement
        return in_order(uow, [task_view(*row) for row in rows], paging)


COUNT_CAP = 99  # tab counts are exact up to this; beyond it the tab says "99+" (a badge, not a report)


def inbox_counts(uow: UnitOfWork, actor: Actor, now: datetime, cap: int = COUNT_CAP) -> dict[str, int]:
    """How many tasks the actor has on the mine, pool and overdue tabs, each exact up to `cap` (a value above
    `cap` means "more than cap"), read by one statement."""
    with uow.reading():
        return uow.tasks.inbox_counts(actor.id or 0, actor.groups, actor.username, now, cap)


@dataclass(frozen=True)
class InboxPage:
    """One page of an inbox tab and the tab counts (empty for roles without mine/pool tabs)."""

    tasks: list[TaskView]
    counts: dict[str, int]
    people: dict[str, str] = field(default_factory=dict)  # display names of the candidate users, by login


def inbox_page(uow: UnitOfWork, actor: Actor, scope: str, now: datetime, *, limit: int = 50, offset: int = 0,
               cap: int = COUNT_CAP, flt: TaskFilter = UNFILTERED, after: str | None = None,
               before: str | None = None) -> InboxPage:
    """`list_tasks` of a scope and, for workers, `inbox_counts` under the same column filters — read together in
    one statement (the page with each task's record title, assignee and process, the counts as columns)."""
    paging = Paging(limit, offset, after, before)
    with uow.reading():  # on its own: one statement, no transaction around it (the task page)
        query = _scope_select(uow, actor, scope, paging, now, flt)
        counted = actor.has(*WORKERS)
        columns = uow.tasks.filtered_count_columns(actor.id or 0, actor.groups, actor.username, now, cap, flt) \
            if counted else None
        if query is None:
            values = uow.tasks.named_counts(columns) if columns is not None else []
            return InboxPage([], dict(zip(COUNTED, values, strict=True)) if counted else {})
        rows, counts, people = uow.tasks.named(query, columns, people=True)
        return InboxPage(in_order(uow, [task_view(*row) for row in rows], paging),
                         dict(zip(COUNTED, counts, strict=True)) if counted else {}, people)


def _is_candidate(actor: Actor, row: TaskRow) -> bool:
    return bool(set(row.candidate_groups.split(",")) & actor.groups) or \
        actor.username in row.candidate_users.split(",")


def _permissions(uow: UnitOfWork, actor: Actor, row: TaskRow) -> tuple[bool, bool, bool]:
    """(can claim, can unclaim, can complete) for an open task."""
    if row.state != "open" or not actor.has(*WORKERS):
        return False, False, False
    candidate = _is_candidate(actor, row)
    head = actor.has("head_of_sales")
    mine = row.assignee_id == actor.id
    team_task = False
    if head and row.assignee_id and actor.team:
        team_task = row.assignee_id in uow.users.team_member_ids(actor.team)
    can_claim = row.assignee_id is None and (candidate or head)
    pooled = bool(row.candidate_groups or row.candidate_users)
    can_unclaim = row.assignee_id is not None and (mine or team_task) and pooled
    can_complete = mine or team_task or can_claim
    return can_claim, can_unclaim, can_complete


def task_readable(uow: UnitOfWork, actor: Actor, row: TaskRow) -> bool:
    """Whether the actor may read a task: read-all roles, its assignee and candidates, whoever may work on it,
    and the readers of its record."""
    if reads_everything(actor) or row.assignee_id == actor.id or (actor.has(*WORKERS) and _is_candidate(actor, row)):
        return True  # candidates see the task even once taken, so a lost race reads as a conflict
    record = uow.records.get(row.record_id) if row.record_id else None
    return any(_permissions(uow, actor, row)) or (record is not None and can_see(uow, actor, record))


def _load_task(uow: UnitOfWork, actor: Actor, task_id: str) -> TaskRow:
    row = uow.tasks.get(task_id)
    if row is None or not task_readable(uow, actor, row):
        raise NotFound(f"task {task_id} not found")
    return row


def _form_of(bundle: Bundle, row: TaskRow, record: RecordRow | None) -> Form | None:
    """The task's form with run-time choices (the record's pipeline) filled in; None for a task without one."""
    form = bundle.forms.get(row.form_key or "")
    if row.form_key and form is None:
        raise NotFound(f"form {row.form_key!r} is not in the deployed configuration")
    return form_with_choices(form, bundle, record) if form is not None else None


def get_task(uow: UnitOfWork, actor: Actor, task_id: str) -> TaskDetail:
    """A task with its resolved form schema and the values to pre-fill."""
    with uow:
        context = uow.tasks.load_with_context(task_id)  # held: one read for the rows below and the config key
        bundle, _ = active_bundle(uow, uow.tasks.config_key(context))
        row = _load_task(uow, actor, task_id)
        version_name = NO_PROCESS
        instance = uow.instances.get(row.instance_id) if row.instance_id is not None else None
        if instance is not None:
            version = uow.config.process_version(instance.process_version_id)
            version_name = version.name if version else ""
        schema, ui, values = None, {}, {}
        record = uow.records.get(row.record_id) if row.record_id else None
        form = bundle.forms.get(row.form_key or "")
        if form is not None:
            form = form_with_choices(form, bundle, record)
            schema, ui = resolve_form_schema(form, bundle), dict(form.ui)
            if record is not None:
                values = {k: v for k, v in record.data.items() if k in schema.get("properties", {})}
        claim, unclaim, complete = _permissions(uow, actor, row)
        return TaskDetail(task_views(uow, [row])[0], schema, ui, values, version_name, claim, unclaim, complete)


def record_tasks(uow: UnitOfWork, actor: Actor, record_id: int) -> list[TaskView]:
    """Every task on a record, of its processes and standalone ones: open first, then newest first."""
    with uow:
        load_visible(uow, actor, record_id)
        rows = uow.tasks.for_record(record_id)
        return sorted(task_views(uow, rows), key=lambda x: x.state != "open")


def _task_event(uow: UnitOfWork, row: TaskRow, now: datetime, actor: str, kind: str) -> None:
    """A claim or give-back in the instance's history (standalone tasks have no instance history)."""
    if row.instance_id is not None:
        # a Core insert (as a step's events are), not an ORM object flushed at the commit; no element type and
        # no data: those columns stay SQL NULL, as before
        uow.history.add_many([{"instance_id": row.instance_id, "at": now, "actor": actor, "kind": kind,
                               "task_id": row.id, "element_id": row.spec_name, "element_name": row.title}])


def _take(uow: UnitOfWork, actor: Actor, row: TaskRow, now: datetime) -> None:
    """Assign a pooled task race-safely; whoever takes the first task on an unowned record owns it."""
    if actor.id is None or not uow.tasks.try_claim(row.id, actor.id):
        raise ConflictError(f"task {row.id} was claimed or changed by someone else a moment ago; try again")
    uow.tasks.set_pooled(row.id, False)
    _task_event(uow, row, now, actor.username, "claimed")
    record = uow.records.get(row.record_id) if row.record_id else None
    if record is not None and record.owner_id is None:
        record.owner_id = actor.id
        record.updated_at = now
        uow.records.add_changes([{"record_id": record.id, "at": now, "actor": actor.username, "source": "claim",
                                  "field": "owner", "old_value": None, "new_value": actor.username}])


def claim_task(uow: UnitOfWork, actor: Actor, task_id: str, now: datetime) -> TaskView:
    """Take a pooled task; exactly one of two racing claimers wins, the other gets ConflictError."""
    require_permission(actor, "task.work", action="claim tasks")
    with uow:
        context = uow.tasks.load_with_context(task_id)  # noqa: F841 - held: the record is read with the task
        row = _load_task(uow, actor, task_id)
        if row.state != "open":
            raise ConflictError(f"task {task_id} is already {row.state}")
        if row.assignee_id is not None:
            raise ConflictError(f"task {task_id} was already claimed")
        can_claim, _, _ = _permissions(uow, actor, row)
        if not can_claim or actor.id is None:
            raise Forbidden(f"{actor.username} may not claim task {task_id}")
        _take(uow, actor, row, now)
        view = task_views(uow, [row], known=actor)[0]  # before the commit: in this transaction
        uow.commit()
        return view


def unclaim_task(uow: UnitOfWork, actor: Actor, task_id: str, now: datetime) -> TaskView:
    """Give a claimed task back to its pool."""
    require_permission(actor, "task.work", action="give tasks back")
    with uow:
        row = _load_task(uow, actor, task_id)
        _, can_unclaim, _ = _permissions(uow, actor, row)
        if row.state != "open" or row.assignee_id is None:
            raise ConflictError(f"task {task_id} is not claimed")
        if not (row.candidate_groups or row.candidate_users):
            raise ConflictError(f"task {task_id} has no pool to go back to (it was assigned, not claimed)")
        if not can_unclaim:
            raise Forbidden(f"{actor.username} may not give back task {task_id}")
        row.assignee_id = None
        uow.tasks.set_pooled(task_id, True)
        _task_event(uow, row, now, actor.username, "unclaimed")
        uow.commit()
        return task_views(uow, [row])[0]


def _record_written(uow: UnitOfWork, task: TaskRow, record: RecordRow, changed: dict[str, tuple[Any, Any]],
                    now: datetime) -> None:
    """Let the rules react to fields a task changed."""
    if changed:
        uow.publish(TaskCompleted(task, record, changed, now))


def _finish(uow: UnitOfWork, actor: Actor, row: TaskRow, now: datetime) -> None:
    # a task leaves the pool when it gets an assignee (`_take` here, or its claim or assignment before), so its
    # candidate rows need no write of their own now
    if row.assignee_id is None:
        _take(uow, actor, row, now)
    uow.tasks.finish(row, "completed", now, actor.username)


def complete_task(uow: UnitOfWork, actor: Actor, task_id: str, data: dict[str, Any], now: datetime) -> TaskView:
    """Validate a form submission, write record fields, apply a pipeline choice, run the process on (a standalone
    task just completes); one of two racers wins."""
    require_permission(actor, "task.work", action="complete tasks")
    with uow:
        # one read for the task, its instance, version, record and owner, and the active configuration's key;
        # held, as the session keeps rows only while something refers to them. The permission checks come next,
        # on these rows.
        context = uow.tasks.load_with_context(task_id)
        bundle, _ = active_bundle(uow, uow.tasks.config_key(context))  # in the step's transaction
        row = _load_task(uow, actor, task_id)
        if row.state != "open":
            raise ConflictError(f"task {task_id} is already {row.state}")
        _, _, can_complete = _permissions(uow, actor, row)
        if not can_complete:
            raise Forbidden(f"{actor.username} may not complete task {task_id}")
        record = uow.records.get(row.record_id) if row.record_id else None
        form = _form_of(bundle, row, record)
        clean = validate_form(form, bundle, data) if form is not None else {}
        record_values, variables = split_form_data(form, bundle, clean) if form is not None else ({}, {})
        if row.instance_id is None:
            _complete_standalone(uow, actor, row, record, record_values, now, bundle)
        else:  # the form's field history and its step's (set.*) in one INSERT
            with uow.one_history_insert():
                _complete_in_process(uow, actor, row, form, clean, (record_values, variables), now, bundle)
        view = task_views(uow, [row], known=actor)[0]
        uow.commit()
        return view


def _complete_standalone(uow: UnitOfWork, actor: Actor, row: TaskRow, record: RecordRow | None,
                         record_values: dict[str, Any], now: datetime, bundle: Bundle) -> None:
    if record is not None and record_values:
        changed = write_fields(uow, record, record_values, actor=actor.username, now=now,
                               entity=entity_of(bundle, record.entity), source=f"task {row.title}")
        _record_written(uow, row, record, changed, now)
    _finish(uow, actor, row, now)


def _complete_in_process(uow: UnitOfWork, actor: Actor, row: TaskRow, form: Form | None, clean: dict[str, Any],
                         split: tuple[dict[str, Any], dict[str, Any]], now: datetime, bundle: Bundle) -> None:
    record_values, variables = split
    assert row.instance_id is not None  # noqa: S101 - the caller checked
    instance, version, runtime = load_runtime(uow, row.instance_id)
    record = uow.records.get(instance.record_id) if instance.record_id else None
    changed: dict[str, tuple[Any, Any]] = {}
    if record is not None and record_values:
        changed = write_fields(uow, record, record_values, actor=actor.username, now=now,
                               entity=entity_of(bundle, record.entity),
                               source=f"process {version.process_id} v{version.version} / {row.spec_name}")
    pipeline_data: dict[str, Any] = {}
    if element_property(runtime.elements.get(row.spec_name), ADVANCE_PROPERTY) == ADVANCE:
        field = pipeline_property(form.schema) if form is not None else None
        chosen = clean.get(field) if field else None
        final = False
        if record is not None and field and isinstance(chosen, str):
            final, moved = apply_choice(uow, bundle, record, chosen, field=field, actor=actor, now=now)
            changed.update(moved)
        pipeline_data["pipeline_final"] = final
    if record is not None:
        _record_written(uow, row, record, changed, now)
    step_data = {**variables, **record_values, **process_data(uow, record), **pipeline_data,
                 f"{row.spec_name}_completed_by": actor.username, "last_completed_by": actor.username}
    steps = runtime.complete(row.id, step_data)
    _finish(uow, actor, row, now)
    advance(uow, instance, version, runtime, steps, actor.username, now, submitted=clean)
