"""OpenAPI part: pipeline boards (web/blueprints/api/boards.py, docs/boards.md)."""

from __future__ import annotations

from typing import Any

from web.openapi import _TIME_OR_NULL, Schema, _body, _errors, _nullable, _object, _ok, _op, _param, _ref

TAGS = ("boards",)

_LABEL: Schema = {"type": "object", "additionalProperties": {"type": "string"}, "description": "locale -> text"}
_AMOUNT = _nullable("string", description="a decimal as text; null when the board has no amount field")

SCHEMAS: dict[str, Schema] = {
    "BoardSummary": _object({"name": {"type": "string"}, "label": _LABEL, "entity": {"type": "string"}}),
    "BoardCard": _object({
        "id": {"type": "integer", "description": "the record id"}, "title": {"type": "string"},
        "owner": _nullable("string"), "amount": _AMOUNT,
        "fields": {"type": "object", "description": "the board's card fields that are filled in"},
        "due_task": _nullable("string", description="the record's open task due first"),
        "due_task_element": _nullable("string", description="that task's BPMN element id, or \"rule <name>\""),
        "due_task_labels": _nullable("object", description="that task's title per locale ({en, ru}) when its maker "
                                                           "gave several"),
        "due_at": _TIME_OR_NULL, "overdue": {"type": "boolean"},
        "age_days": {"type": "integer", "description": "whole days since the card entered its column"},
        "revision": {"type": "integer", "description": "send back as expected_revision when moving it"}}),
    "BoardColumn": _object({
        "code": {"type": "string"}, "label": _LABEL,
        "count": {"type": "integer", "description": "every matching card, not only those listed"},
        "amount": _AMOUNT, "cards": {"type": "array", "items": _ref("BoardCard")},
        "requires": {"type": "array", "items": {"type": "string"},
                     "description": "fields that must be filled before a card may enter"},
        "via": _nullable("string", description="the pipeline final action entering this column runs")}),
    "Board": _object({
        "name": {"type": "string"}, "label": _LABEL, "entity": {"type": "string"},
        "stage_field": {"type": "string"}, "amount_field": _nullable("string"),
        "scope": {"enum": ["all", "mine", "team"]},
        "filters": {"type": "object", "additionalProperties": {"type": "string"}},
        "columns": {"type": "array", "items": _ref("BoardColumn")}}),
    "BoardMove": _object({
        "record_id": {"type": "integer", "minimum": 1},
        "to": {"type": "string", "description": "the code of the column to move the card to"},
        "expected_revision": _nullable("integer", description="the card's revision; a stale one is 409")},
        required=["record_id", "to"]),
    "BoardMoved": _object({
        "record": _ref("Record"), "column": _nullable("string", description="the column the card is in now"),
        "final": {"type": "boolean", "description": "a pipeline final action ran (the won/lost columns)"}}),
}

_NAME = _param("name", "path", {"type": "string"}, "the board's name (crm_model/boards/<name>.yaml)")

PATHS: dict[str, Any] = {
    "/boards": {"get": _op("The boards of the configuration", "listBoards", "boards",
                           {**_ok("Boards", _object({"items": {"type": "array", "items": _ref("BoardSummary")}})),
                            **_errors(403)})},
    "/boards/{name}": {"get": _op(
        "A board: columns with their cards and totals", "getBoard", "boards",
        {**_ok("The board", _ref("Board")), **_errors(400, 403, 404, 422)},
        parameters=[_NAME,
                    _param("scope", "query", {"enum": ["all", "mine", "team"], "default": "all"},
                           "every card the token holder may see, only theirs, or their team's"),
                    _param("per_column", "query", {"type": "integer", "minimum": 1, "maximum": 500, "default": 50},
                           "cards listed per column (the most recently changed); counts and sums cover all")],
        description="Any other query parameter `<field>=<code>` filters by one of the board's filter fields (an "
                    "unknown one is 422). Cards are the records the token holder may see.")},
    "/boards/{name}/moves": {"post": _op(
        "Move a card to another column", "moveCard", "boards",
        {**_ok("The record after the move", _ref("BoardMoved")), **_errors(400, 403, 404, 409, 422)},
        parameters=[_NAME], requestBody=_body(_ref("BoardMove"), "the card and the column"),
        description="The move takes the path a form would: a record in a pipeline on the board's stage field "
                    "completes its open pipeline task with the column as the choice (or applies the pipeline "
                    "choice), anything else is the record edit. A refused move (a required field, a stage the "
                    "pipeline does not allow, a rule) is 422 with the fields and changes nothing.")},
}
