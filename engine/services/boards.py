"""Boards: the cards of a kanban (records by stage) with column totals, and moving a card to another column.

A move goes through the path a form would: a record in a pipeline on the board's stage field is advanced by
completing its open pipeline task (the task form's validation, the pipeline's order, on_enter and final actions,
then the process steps) or, with no such task, by the pipeline choice itself; any other record by the same edit
as its card (validation, rules). A column's `requires` fields must be filled first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from engine.config.automation import Pipeline
from engine.config.boards import Board
from engine.config.model import Bundle, label_text
from engine.errors import ConflictError, Forbidden, NotFound, ValidationError
from engine.filters.model import parse_filter
from engine.processes.deployed import active_bundle
from engine.records.schema import is_empty
from engine.services.access import reads_everything, require_permission
from engine.services.pipelines import apply_choice, pipeline_of, pipeline_property
from engine.services.records import (
    entity_of,
    load_visible,
    load_writable,
    record_view,
    update_record,
    visibility,
)
from engine.services.views import Actor, RecordView
from engine.store.events import RecordChanged
from engine.store.filter_spec import FieldRef, Filter
from engine.store.filter_sql import FindScope
from engine.store.uow import UnitOfWork

SCOPES = ("all", "mine", "team")
CARDS_PER_COLUMN = 50  # the newest changed cards of a column; the totals count every card


@dataclass(frozen=True)
class CardView:
    """One card: the record, its owner, amount, next open task and days in its current stage."""

    id: int
    title: str
    owner: str | None
    amount: str | None
    fields: dict[str, Any]
    due_task: str | None
    due_at: datetime | None
    overdue: bool
    age_days: int
    revision: int
    due_task_element: str | None = None  # that task's BPMN element id (or "rule <name>"): to name it in a language
    due_task_labels: dict[str, str] | None = None  # that task's title per locale, when its maker gave several


@dataclass(frozen=True)
class ColumnView:
    """A column: its stage code, the cards shown, how many match in all and the sum of their amounts."""

    code: str
    label: dict[str, str]
    count: int
    amount: str | None
    cards: list[CardView]
    requires: list[str]
    via: str | None


@dataclass(frozen=True)
class BoardView:
    """A board as the actor sees it under filters and a scope (all, mine, team)."""

    name: str
    label: dict[str, str]
    entity: str
    stage_field: str
    amount_field: str | None
    scope: str
    filters: dict[str, str]
    columns: list[ColumnView]


@dataclass(frozen=True)
class BoardSummary:
    """A board of the deployed bundle, for the list of boards."""

    name: str
    label: dict[str, str]
    entity: str


@dataclass(frozen=True)
class MoveView:
    """The record after a move, the column it is in now, and whether a final action closed it."""

    record: RecordView
    column: str | None
    final: bool


def _readers(actor: Actor) -> None:
    if not (reads_everything(actor) or actor.has("sales", "head_of_sales")):
        raise Forbidden(f"{actor.username} may not read records")


def board_of(bundle: Bundle, name: str) -> Board:
    """The board by name, or NotFound."""
    board = bundle.boards.get(name)
    if board is None:
        raise NotFound(f"unknown board {name!r} (known: {', '.join(sorted(bundle.boards)) or 'none'})")
    return board


def list_boards(uow: UnitOfWork, actor: Actor) -> list[BoardSummary]:
    """The boards of the deployed bundle."""
    _readers(actor)
    bundle, _ = active_bundle(uow)
    return [BoardSummary(b.name, dict(b.label), b.entity) for b in bundle.boards.values()]


def _scope_condition(uow: UnitOfWork, actor: Actor, scope: str) -> dict[str, Any] | None:
    if scope not in SCOPES:
        raise ValidationError({"scope": [f"must be one of: {', '.join(SCOPES)}"]})
    if scope == "all":
        return None
    ids = uow.users.team_member_ids(actor.team) if scope == "team" and actor.team else []
    names = {actor.username, *(u.username for i in ids if (u := uow.users.get(i)) is not None)}
    return {"field": "owner", "op": "in", "value": sorted(names)}


def _filter(bundle: Bundle, board: Board, conditions: list[dict[str, Any]]) -> Filter:
    where = {"all": conditions} if conditions else None
    return parse_filter(bundle, {"entity": board.entity, **({"where": where} if where else {}),
                                 "sort": [{"field": "updated_at", "dir": "desc"}]})


def _money(value: Any) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    return format(Decimal(str(value)).quantize(Decimal("0.01")), "f")  # sums on SQLite are floats


def board_view(uow: UnitOfWork, actor: Actor, name: str, now: datetime, *, filters: dict[str, str] | None = None,
               scope: str = "all", per_column: int = CARDS_PER_COLUMN) -> BoardView:
    """The board's columns with the cards the actor may see under `filters` ({field: code} of the board's
    filter fields) and `scope`: every card, only the actor's (mine) or their team's (team)."""
    _readers(actor)
    bundle, _ = active_bundle(uow)
    board = board_of(bundle, name)
    entity = entity_of(bundle, board.entity)
    chosen = {k: v for k, v in (filters or {}).items() if v not in (None, "")}
    unknown = [k for k in chosen if k not in board.filters]
    if unknown:
        raise ValidationError({k: [f"is not a filter of board {name} (filters: {', '.join(board.filters) or 'none'})"]
                               for k in unknown})
    codes = [c.code for c in board.columns]
    base: list[dict[str, Any]] = [{"field": board.stage_field, "op": "in", "value": codes},
            *({"field": k, "op": "eq", "value": v} for k, v in chosen.items())]
    with uow:
        owner = _scope_condition(uow, actor, scope)
        if owner is not None:
            base.append(owner)
        seen = visibility(uow, actor)
        find_scope = FindScope(seen.owner_ids, seen.include_unowned, seen.inbox_of)
        repo = uow.boards
        stage_ref = FieldRef(board.stage_field, "enum")
        amount_type = entity.fields[board.amount_field].type if board.amount_field else ""
        amount_ref = FieldRef(board.amount_field, amount_type) if board.amount_field else None
        totals = repo.totals(_filter(bundle, board, base), now, find_scope, stage_ref, amount_ref)
        per_code: dict[str, list[int]] = {}
        for code in codes:
            if totals.get(code, (0, None))[0]:
                flt = _filter(bundle, board, [*base, {"field": board.stage_field, "op": "eq", "value": code}])
                per_code[code] = repo.ids(flt, now, find_scope, limit=max(1, min(per_column, 500)), offset=0)
        all_ids = [i for ids in per_code.values() for i in ids]
        rows = {row.id: row for row in repo.rows(all_ids)}
        tasks = repo.next_tasks(all_ids)
        entered = repo.entered(all_ids, board.stage_field)
        owners = {i: u.username for i, u in uow.users.by_ids({r.owner_id for r in rows.values() if r.owner_id})
                  .items()}
        columns = []
        for column in board.columns:
            cards = []
            for record_id in per_code.get(column.code, []):
                row = rows[record_id]
                task = tasks.get(record_id)
                since = entered.get(record_id, row.created_at)
                cards.append(CardView(
                    row.id, row.title, owners.get(row.owner_id or 0),
                    _money(row.data.get(board.amount_field)) if board.amount_field else None,
                    {f: row.data.get(f) for f in board.card_fields if not is_empty(row.data.get(f))},
                    task.title if task else None, task.due_at if task else None,
                    bool(task and task.due_at and task.due_at < now), max(0, (now - since).days), row.revision,
                    task.spec_name if task else None, task.title_labels if task else None))
            count, amount = totals.get(column.code, (0, None))
            catalog = bundle.catalogs.get(entity.fields[board.stage_field].catalog or "")
            value = catalog.value(column.code) if catalog is not None else None
            columns.append(ColumnView(column.code, dict(value.label) if value else {}, count,
                                      _money(amount) if board.amount_field else None, cards, list(column.requires),
                                      column.via))
    return BoardView(board.name, dict(board.label), board.entity, board.stage_field, board.amount_field, scope,
                     chosen, columns)


def _pipeline_task(uow: UnitOfWork, bundle: Bundle, record_id: int) -> tuple[str, str, dict[str, Any]] | None:
    """(task id, pipeline property, the form's record values) of the record's open task whose form offers the
    pipeline's choices, if any."""
    for task in uow.boards.open_tasks(record_id):
        form = bundle.forms.get(task.form_key or "")
        prop = pipeline_property(form.schema) if form is not None else None
        if form is not None and prop is not None:
            record = uow.records.get(record_id)
            names = set(form.schema.get("properties") or {})
            values = {k: v for k, v in (record.data if record else {}).items() if k in names}
            return task.id, prop, values
    return None


def _choice_label(pipeline: Pipeline, code: str, locale: str) -> str:
    stage, final = pipeline.stage(code), pipeline.final_action(code)
    found = stage.label if stage is not None else final.label if final is not None else {}
    return label_text(found, locale, code)


def move_card(uow: UnitOfWork, actor: Actor, name: str, record_id: int, to: str, now: datetime, *,
              expected_revision: int | None = None) -> MoveView:
    """Move a card to the column `to` through the path a form would take (see the module docstring); a refused
    move raises ValidationError (keyed by field) or ConflictError and changes nothing."""
    require_permission(actor, "record.write", action="move cards")
    bundle, _ = active_bundle(uow)
    board = board_of(bundle, name)
    column = board.column(to)
    if column is None:
        raise ValidationError({"to": [f"{to!r} is not a column of board {name} "
                                      f"(columns: {', '.join(c.code for c in board.columns)})"]})
    entity = entity_of(bundle, board.entity)
    catalog = bundle.catalogs.get(entity.fields[board.stage_field].catalog or "")
    value = catalog.value(to) if catalog is not None else None
    column_label = label_text(value.label, actor.locale, to) if value else to
    with uow:
        row = load_writable(uow, actor, record_id)
        if row.entity != board.entity:
            raise NotFound(f"record {record_id} is not a {board.entity}, so it is not on board {name}")
        if expected_revision is not None and expected_revision != row.revision:
            raise ConflictError(f"record {record_id} was changed by someone else (revision {row.revision}, "
                                f"you saw {expected_revision}); reload the board")
        if row.data.get(board.stage_field) == to:
            return MoveView(record_view(uow, row), to, False)
        missing = [f for f in column.requires if is_empty(row.data.get(f))]
        if missing:
            raise ValidationError({f: [f"must be filled in before moving to {column_label}"] for f in missing})
        pipeline = pipeline_of(bundle, row)
        if pipeline is not None and pipeline.stage_field == board.stage_field:
            choice = column.via or to
            allowed = pipeline.next_choices(row.data.get(board.stage_field))
            if choice not in allowed:
                shown = ", ".join(_choice_label(pipeline, code, actor.locale) for code in allowed) or "—"
                raise ValidationError({board.stage_field: [f"the pipeline moves on only to: {shown}"]})
            task = _pipeline_task(uow, bundle, record_id)
            if task is None:
                final, changed = apply_choice(uow, bundle, row, choice, field=board.stage_field, actor=actor,
                                              now=now)
                uow.publish(RecordChanged(row, changed, now))  # the rules the move triggers
                uow.commit()
                return MoveView(record_view(uow, row), row.data.get(board.stage_field), final)
        elif column.via is not None:
            raise ValidationError({board.stage_field: [f"moving to {column_label} runs the final action "
                                                       f"{column.via} of a pipeline, and this record has none"]})
        else:
            task = None
    if task is not None:
        from engine.services.tasks import complete_task  # late: tasks build on the pipelines and records

        task_id, prop, values = task
        try:
            complete_task(uow, actor, task_id, {**values, prop: choice}, now)
        except ValidationError as exc:  # the choice is the board's column: name the stage field, not the form's
            raise ValidationError({board.stage_field if k == prop else k: v for k, v in exc.errors.items()}) from exc
    else:
        update_record(uow, actor, record_id, {board.stage_field: to}, now, expected_revision=expected_revision)
    with uow:
        view = record_view(uow, load_visible(uow, actor, record_id))
    return MoveView(view, view.data.get(board.stage_field), column.via is not None)
