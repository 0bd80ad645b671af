"""Pipeline boards: /boards lists them, /boards/<name> shows one (filters, mine / my team), and a card is moved by
dragging it (static/boards.js posts JSON) or with its move menu (a plain form, no script needed)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import parse_qsl

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for

from engine.config.boards import Board
from engine.config.model import Bundle, Entity
from engine.errors import FlowError, ValidationError
from engine.services import boards
from engine.services.access import READ_ALL, RECORD_WRITERS, WORKERS, require_permission
from web import STATUS, nav, now, uow
from web.auth import actor, login_required
from web.i18n import engine_message, error_message, get_locale, label, t
from web.present import bundle_of, field_label, reference_values, remember_titles

bp = Blueprint("boards", __name__, url_prefix="/boards")
nav.add("boards.index", "nav.boards", *WORKERS, *READ_ALL)


def refusal(exc: FlowError, entity: Entity | None) -> str:
    """A refused move as one sentence in the request's language: "Loss reason: must be filled in …"."""
    if isinstance(exc, ValidationError):
        return "; ".join(f"{field_label(entity, name)}: {engine_message(m)}" if name else engine_message(m)
                         for name, messages in exc.errors.items() for m in messages)
    return error_message(str(exc))


@bp.get("")
@login_required
def index() -> Any:
    """The boards of the deployed configuration."""
    found = boards.list_boards(uow(), actor())
    if len(found) == 1:
        return redirect(url_for("boards.board", name=found[0].name))
    return render_template("boards/index.html", boards=found)


@bp.get("/<name>")
@login_required
def board(name: str) -> Any:
    """One board under ?scope=all|mine|team and ?<filter field>=<code>."""
    bundle = bundle_of(uow())
    found = boards.board_of(bundle, name)
    filters = {f: request.args.get(f, "") for f in found.filters}
    scope = request.args.get("scope", "all")
    view = boards.board_view(uow(), actor(), name, now(), filters=filters, scope=scope)
    entity = bundle.entities[found.entity]
    catalogs = {f: bundle.catalogs[entity.fields[f].catalog or ""] for f in found.filters}
    filter_options = {f: [(v.code, label(v.label, v.code)) for v in c.values] for f, c in catalogs.items()}
    remember_titles([i for column in view.columns for card in column.cards
                     for i in reference_values(entity, card.fields)])  # the cards' reference fields, one query
    return render_template("boards/board.html", board=view, entity=entity, bundle=bundle,
                           filter_options=filter_options, can_move=actor().has(*RECORD_WRITERS),
                           scopes=boards.SCOPES, boards=boards.list_boards(uow(), actor()))


@bp.post("/<name>/move")
@login_required
def move(name: str) -> Any:
    """Move a card: JSON `{record_id, to, revision?}` from the drag (answers JSON), or the move menu's form
    (answers with the board again, the outcome flashed)."""
    require_permission(actor(), "record.write", action="move cards")
    wants_json = request.is_json
    posted = request.get_json(silent=True) if wants_json else request.form.to_dict()
    body: dict[str, Any] = posted if isinstance(posted, dict) else {}
    bundle = bundle_of(uow())
    found = boards.board_of(bundle, name)
    entity = bundle.entities.get(found.entity)
    try:
        record_id = int(body.get("record_id", ""))
        revision_text = body.get("revision")
        revision = int(revision_text) if revision_text not in (None, "") else None
    except (TypeError, ValueError):
        return _answer(wants_json, name, 400, t("boards.bad_move"), None)
    to = str(body.get("to", ""))
    try:
        moved = boards.move_card(uow(), replace(actor(), locale=get_locale()), name, record_id, to, now(),
                                 expected_revision=revision)
    except FlowError as exc:  # refused: by a rule, a required field, the pipeline, a race, or the role
        status = next((code for cls, code in STATUS.items() if isinstance(exc, cls)), 422)
        return _answer(wants_json, name, status, refusal(exc, entity), record_id)
    message = t("boards.moved", title=moved.record.title, column=_column_label(bundle, found, moved.column))
    return _answer(wants_json, name, 200, message, record_id, moved.column)


def _column_label(bundle: Bundle, board: Board, code: str | None) -> str:
    entity = bundle.entities.get(board.entity)
    field = entity.fields.get(board.stage_field) if entity is not None else None
    catalog = bundle.catalogs.get(field.catalog or "") if field is not None else None
    value = catalog.value(code) if catalog is not None and code else None
    return label(value.label, code or "") if value is not None else (code or "—")


def _answer(wants_json: bool, name: str, status: int, message: str, record_id: int | None,
            column: str | None = None) -> Any:
    if wants_json:
        if status == 200:
            flash(message, "success")  # the board reloads after a drag and shows it
        return jsonify({"ok": status == 200, "message": message, "record_id": record_id, "column": column}), status
    flash(message, "success" if status == 200 else "error")
    back = dict(parse_qsl(request.form.get("back", "")))  # the board's filters and scope, never another address
    back.pop("name", None)
    return redirect(url_for("boards.board", name=name, **back))  # type: ignore[arg-type]
