"""Boards (kanban views) declared in crm_model/boards/<name>.yaml: one entity, its stage field as columns.

```yaml
board: orders
label: {en: Orders, ru: Заказы}
entity: Order
stage_field: stage            # an enum field: its catalog gives the columns
amount_field: amount          # optional money/decimal/integer field, summed per column
filters: [region]             # optional enum fields offered as filters
card_fields: [customer]       # optional fields shown on each card
columns:                      # optional: the columns shown and their order (default: every catalog code)
  - {code: cancelled, requires: [cancel_reason]}  # fields that must be filled before a card enters it
  - {code: done, via: close_order}                # entering it runs this final action of the record's pipeline
```"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.config.checking import Checker, Path_, Say, broken, names_or_none, stem, text_or_none
from engine.config.model import Entity, Label
from engine.config.yaml_lines import LineList, LineMap
from engine.messages import Message

BOARDS_FOLDER = "crm_model/boards"
_TOP = ("board", "label", "entity", "stage_field", "amount_field", "filters", "card_fields", "columns")
_COLUMN = ("code", "via", "requires")
AMOUNT_TYPES = ("money", "decimal", "integer")
FILTER_TYPES = ("enum",)


@dataclass(frozen=True)
class BoardColumn:
    """One column: a code of the stage field; `via` a pipeline final action entering it runs instead of a plain
    stage change; `requires` fields that must be filled before a card may enter it."""

    code: str
    via: str | None = None
    requires: tuple[str, ...] = ()


@dataclass(frozen=True)
class Board:
    """A kanban view of one entity by its stage field."""

    name: str
    label: Label
    entity: str
    stage_field: str
    columns: tuple[BoardColumn, ...]
    amount_field: str | None = None
    filters: tuple[str, ...] = ()
    card_fields: tuple[str, ...] = ()
    file: str = ""
    line: int | None = field(default=None, compare=False)

    def column(self, code: str) -> BoardColumn | None:
        """The column of this stage code."""
        return next((c for c in self.columns if c.code == code), None)


def _names(say: Say, data: LineMap, key: str, entity: Entity, types: tuple[str, ...] | None) -> tuple[str, ...]:
    """A list of field names of the entity (of `types` when given), reporting each wrong one; its shape was checked
    by the schema."""
    value = data.get(key, LineList(data.line))
    for name in value:
        found = entity.fields.get(name)
        if found is None:
            say(data.line_of(key), Message("config.no_such_field", entity=entity.name, field=repr(name),
                                           fields=", ".join(entity.fields)))
        elif types is not None and found.type not in types:
            say(data.line_of(key), Message("config.board_field_type", key=key, field=name, type=found.type,
                                           types=", ".join(types)))
    return tuple(value)


def _board_element(data: Any, where: list[Any]) -> str | None:
    """The element a board problem names: none for the name; board.columns.<code> inside a column with a code;
    else the board."""
    name = data.get("board")
    if not where or where[0] == "board" or not isinstance(name, str):
        return None
    if where[0] == "columns" and len(where) > 2 and isinstance(where[1], int):
        item = data["columns"][where[1]]
        code = item.get("code") if isinstance(item, dict) else None
        return f"{name}.columns.{code}" if isinstance(code, str) else name
    return name


class _BoardFile:
    def __init__(self, checker: Checker, path: str, data: LineMap, name: str, entity: Entity) -> None:
        self.checker, self.path, self.data, self.name, self.entity = checker, path, data, name, entity
        self.say = checker.sayer(path, name)

    def finals(self, stage_field: str) -> set[str]:
        """Final action codes of the pipelines of this entity that move this stage field."""
        return {final.code for p in self.checker.pipelines.values()
                if p.entity == self.entity.name and p.stage_field == stage_field for final in p.final_actions}

    def columns(self, stage_field: str, codes: tuple[str, ...], bad: set[Path_]) -> tuple[BoardColumn, ...]:
        """The columns; `bad`: the paths the schema found bad (reported already)."""
        items = self.data.get("columns")
        if items is None:
            return tuple(BoardColumn(code) for code in codes)
        if ("columns",) in bad:
            return ()
        finals, columns = self.finals(stage_field), list[BoardColumn]()
        for index, item in enumerate(items):
            line = items.line_at(index)
            if ("columns", index) in bad or ("columns", index, "code") in bad:
                continue
            code = item["code"]
            say = self.checker.sayer(self.path, f"{self.name}.columns.{code}")
            if code not in codes:
                say(line, Message("config.board_column_unknown", code=code, entity=self.entity.name,
                                  field=stage_field, values=", ".join(codes)))
            if code in {c.code for c in columns}:
                say(line, Message("config.board_column_twice", code=code))
                continue
            via = item.get("via")
            if via is not None and (not isinstance(via, str) or via not in finals):
                known = names_or_none(sorted(finals))
                say(item.line_of("via"), Message("config.board_via_unknown", via=repr(via), entity=self.entity.name,
                                                 field=stage_field, known=known))
            shaped = "requires" in item and not broken(bad, "columns", index, "requires")
            requires = _names(say, item, "requires", self.entity, None) if shaped else ()
            columns.append(BoardColumn(code, text_or_none(via), requires))
        return tuple(columns)


def load_board(checker: Checker, path: str, boards: dict[str, Board]) -> None:
    """Check crm_model/boards/<name>.yaml into `boards`."""
    data, bad = checker.document(path, _board_element)
    if data is None or ("board",) in bad or "board" not in data:
        return
    name, line = data["board"], data.line_of("board")
    say = checker.sayer(path, name)
    if name != stem(path, ".yaml"):
        say(line, Message("config.board_file", name=name, folder=BOARDS_FOLDER))
    label = checker.label(say, data.line_of("label"), data.get("label"))
    entity = checker.entities.get(text_or_none(data.get("entity")) or "")
    if entity is None:
        if not isinstance(data.get("entity"), str) or data["entity"] not in checker.unreadable:
            say(data.line_of("entity"), Message("config.board_entity_unknown", entity=repr(data.get("entity")),
                                                known=", ".join(sorted(checker.entities))))
        return
    stage_name = text_or_none(data.get("stage_field")) or ""
    stage = entity.fields.get(stage_name)
    catalog = checker.catalogs.get(stage.catalog or "") if stage is not None and stage.type == "enum" else None
    if catalog is None:
        say(data.line_of("stage_field"), Message("config.board_stage_field", field=repr(data.get("stage_field")),
                                                 entity=entity.name))
        return
    amount = data.get("amount_field")
    amount_field = entity.fields.get(text_or_none(amount) or "")
    if amount is not None and (amount_field is None or amount_field.type not in AMOUNT_TYPES):
        say(data.line_of("amount_field"), Message("config.board_amount_field", field=repr(amount),
                                                  types=", ".join(AMOUNT_TYPES), entity=entity.name))
    board_file = _BoardFile(checker, path, data, name, entity)
    columns = board_file.columns(stage_name, catalog.codes(), bad)
    filters = () if broken(bad, "filters") else _names(say, data, "filters", entity, FILTER_TYPES)
    card_fields = () if broken(bad, "card_fields") else _names(say, data, "card_fields", entity, None)
    boards[name] = Board(name, label, entity.name, stage_name, columns, text_or_none(amount), filters, card_fields,
                         path, data.line)
