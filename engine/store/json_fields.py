"""Field values of record.data as SQL on SQLite (JSON, json_extract) and PostgreSQL (JSONB, ->>).

Entity names and JSON keys are identifiers checked here and rendered inline, so that the expression indexes of
searchable fields (engine/store/field_indexes.py) match the filter compiler's expressions exactly."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import ColumnElement, Float, Numeric, String, bindparam, cast, func

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
Expr = ColumnElement[Any]


def identifier(name: str) -> str:
    """An entity or field name checked to be a plain identifier before it is rendered into SQL."""
    if not _NAME.fullmatch(name):
        raise ValueError(f"not an identifier: {name!r}")
    return name


def literal_name(name: str) -> Any:
    """A checked identifier as an inline literal: index expressions and partial-index predicates must match it."""
    return bindparam(None, identifier(name), type_=String, literal_execute=True)


def raw_value(dialect: str, data: Any, name: str) -> Expr:
    """The field's JSON value as SQL: text on PostgreSQL (->>), the JSON scalar on SQLite (json_extract)."""
    if dialect == "postgresql":
        return data.op("->>", return_type=String)(literal_name(name))  # type: ignore[no-any-return]
    path = bindparam(None, f"$.{identifier(name)}", type_=String, literal_execute=True)
    return func.json_extract(data, path, type_=String)


def numeric_value(dialect: str, data: Any, name: str) -> Expr:
    """A number or money field as a number (money is stored as decimal text)."""
    kind = Numeric() if dialect == "postgresql" else Float()
    return cast(raw_value(dialect, data, name), kind)
