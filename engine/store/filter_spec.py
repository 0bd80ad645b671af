"""Plain definitions of a validated filter (docs/filters.md): what the filter model (engine.filters.model) builds
from a filter document and the SQL compiler (engine.store.filter_sql) and the board totals read. Beside them,
the value types the compiler extracts fields as."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

TEXT_TYPES = ("string", "text", "email", "phone", "url", "user")
NUMERIC_TYPES = ("integer", "decimal", "money")


@dataclass(frozen=True)
class FieldRef:
    """A field of an entity or a system field, with the value type the compiler extracts it as."""

    name: str
    type: str  # a field type, or for system fields: integer (id), string, owner, timestamp
    system: bool = False


@dataclass(frozen=True)
class FieldCondition:
    """`field op value`; value is coerced (Decimal, ISO date text, aware datetime, tuple for lists)."""

    field: FieldRef
    op: str
    value: Any = None


@dataclass(frozen=True)
class AllOf:
    """Every condition holds."""

    items: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    """At least one condition holds."""

    items: tuple[Condition, ...]


@dataclass(frozen=True)
class NotOf:
    """The condition does not hold."""

    item: Condition


@dataclass(frozen=True)
class LinkedCondition:
    """A condition over linked records: by a reference field pointing here (incoming), by a reference field of
    this record (outgoing), or by manual links of a kind in either direction (manual)."""

    direction: str  # incoming | outgoing | manual
    entity: str  # the entity of the linked records
    via: str | None
    link_kind: str | None
    where: Condition | None
    aggregate: str
    field: FieldRef | None = None  # sum/min/max/last
    order_by: FieldRef | None = None  # last
    op: str | None = None  # compared with the aggregate (not for exists/none)
    value: Any = None


Condition = Union[FieldCondition, AllOf, AnyOf, NotOf, LinkedCondition]  # noqa: UP007 - used at run time


@dataclass(frozen=True)
class SortKey:
    """One sort key; ties are broken by record id."""

    field: FieldRef
    descending: bool = False


@dataclass(frozen=True)
class Filter:
    """A validated filter over the records of one entity."""

    entity: str
    where: Condition | None = None
    sort: tuple[SortKey, ...] = ()
