"""API: pipeline boards — the columns with their cards and totals, and moving a card (docs/boards.md)."""

from __future__ import annotations

from flask import Response, request
from werkzeug.exceptions import BadRequest

from engine.services import boards
from web import now, uow
from web.blueprints.api.base import actor, bp, id_value, json_body, only_keys, reply

_RESERVED = {"scope", "per_column"}


@bp.get("/boards")
def list_boards() -> Response:
    """The boards of the deployed configuration."""
    return reply({"items": boards.list_boards(uow(), actor())})


@bp.get("/boards/<name>")
def get_board(name: str) -> Response:
    """A board: ?scope=all|mine|team, ?per_column=N, any other parameter <field>=<code> filters by a board filter."""
    filters = {k: v for k, v in request.args.items() if k not in _RESERVED}
    raw = request.args.get("per_column", str(boards.CARDS_PER_COLUMN))
    if not raw.isdigit() or not 1 <= int(raw) <= 500:
        raise BadRequest(f"query parameter 'per_column' must be a whole number from 1 to 500, got {raw!r}")
    view = boards.board_view(uow(), actor(), name, now(), filters=filters,
                             scope=request.args.get("scope", "all"), per_column=int(raw))
    return reply(view)


@bp.post("/boards/<name>/moves")
def move_card(name: str) -> Response:
    """Move a card: `{"record_id": n, "to": "<column>", "expected_revision": n?}`; refused moves are 422/409."""
    body = json_body()
    only_keys(body, {"record_id", "to", "expected_revision"})
    record_id = id_value(body.get("record_id"), "record_id")
    to, expected = body.get("to"), body.get("expected_revision")
    if not isinstance(to, str):
        raise BadRequest("'to' must be the code of a column of the board")
    if expected is not None and (not isinstance(expected, int) or isinstance(expected, bool)):
        raise BadRequest("'expected_revision' must be an integer (the card's 'revision') or null")
    return reply(boards.move_card(uow(), actor(), name, record_id, to, now(), expected_revision=expected))

