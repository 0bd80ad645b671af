"""Expression indexes on record.data for the fields an entity marks `searchable: true`, made at deploy.

Each index is partial (WHERE entity = '<Entity>') and indexes exactly the expression the filter compiler emits
for that field (engine/store/filter_sql.py), so both SQLite and PostgreSQL can use it. The model does not declare
these per-configuration indexes, nor the PostgreSQL-only GIN index of migration 0005: `declared_in_model` keeps
them out of Alembic's comparisons."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import BigInteger, Column, Index, Integer, MetaData, String, Table, cast, func, select, text
from sqlalchemy.orm import Session
from sqlalchemy.schema import CreateIndex

from engine.store.json_fields import identifier, numeric_value, raw_value
from engine.store.models import JsonType

FIELD_INDEX_PREFIX = "ix_rf_"
DATA_GIN_INDEX = "ix_record_data_gin"
_UNDECLARED = re.compile(rf"{FIELD_INDEX_PREFIX}\w+|{DATA_GIN_INDEX}")
_NUMERIC = ("integer", "decimal", "money")
_MAX_NAME = 63  # PostgreSQL's identifier limit

# A stand-in for the record table in its own MetaData: indexes built on it never join the model's metadata.
_RECORD = Table("record", MetaData(), Column("id", Integer, primary_key=True), Column("entity", String(100)),
                Column("data", JsonType))


_STATISTICS = Table("pg_statistic_ext", MetaData(), Column("stxname", String))


def declared_in_model(name: str | None, type_: str, parent_names: Any) -> bool:
    """Alembic include_name hook: False for the indexes made at deploy or only on PostgreSQL."""
    return not (type_ == "index" and name is not None and _UNDECLARED.fullmatch(name))


def field_index_name(entity: str, field: str) -> str:
    """ix_rf_<entity>_<field> in lower case, shortened with a hash past PostgreSQL's 63 characters."""
    name = f"{FIELD_INDEX_PREFIX}{identifier(entity)}_{identifier(field)}".lower()
    if len(name) <= _MAX_NAME:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[:_MAX_NAME - 9]}_{digest}"


def field_index(dialect: str, entity: str, field: str, field_type: str) -> Index:
    """The partial expression index of one searchable field, as the compiler's expression for that type."""
    if field_type in _NUMERIC:
        expression: Any = numeric_value(dialect, _RECORD.c.data, field)
    elif field_type == "reference" and dialect == "postgresql":
        expression = cast(raw_value(dialect, _RECORD.c.data, field), BigInteger)
    else:  # text, codes, dates; datetimes as their ISO text (the compiler's range prefilter uses it)
        expression = raw_value(dialect, _RECORD.c.data, field)
    only = _RECORD.c.entity == identifier(entity)
    return Index(field_index_name(entity, field), expression, sqlite_where=only, postgresql_where=only)


def _ensure_statistics(session: Session, index: Index) -> bool:
    """PostgreSQL ignores the statistics of partial indexes when it estimates rows: give the planner statistics
    on the same expression (CREATE STATISTICS, PostgreSQL 14+). True when they had to be created."""
    name = f"st_{str(index.name)[3:]}"  # ix_rf_deal_stage -> st_rf_deal_stage
    known = session.scalar(select(func.count()).select_from(_STATISTICS).where(_STATISTICS.c.stxname == name))
    if known:
        return False
    expression: Any = next(iter(index.expressions))
    dialect = session.get_bind().dialect
    compiled = expression.compile(dialect=dialect, compile_kwargs={"literal_binds": True, "include_table": False})
    # no DDL construct exists for CREATE STATISTICS; the name and the expression come from checked identifiers
    session.execute(text(f"CREATE STATISTICS IF NOT EXISTS {identifier(name)} ON ({compiled}) FROM record"))
    return True


def ensure_field_indexes(session: Session, fields: Iterable[tuple[str, str, str]]) -> list[str]:
    """CREATE INDEX IF NOT EXISTS for each (entity, field, type) (and planner statistics on PostgreSQL);
    returns the index names."""
    dialect = session.get_bind().dialect.name
    names = []
    new_statistics = False
    for entity, field, field_type in fields:
        index = field_index(dialect, entity, field, field_type)
        session.execute(CreateIndex(index, if_not_exists=True))
        if dialect == "postgresql":
            new_statistics = _ensure_statistics(session, index) or new_statistics
        names.append(str(index.name))
    if new_statistics:
        session.execute(text("ANALYZE record (data)"))  # a sample of rows: about a second even on millions
    return names
