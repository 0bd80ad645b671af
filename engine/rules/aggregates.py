"""`let:` aggregates: count/sum/min/max over the records whose reference field points at a record."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from engine.config.automation import Aggregate
from engine.config.model import Bundle, Entity
from engine.rules.expressions import Amount, RuleError, amount, field_names, is_true
from engine.store.filter_spec import Filter
from engine.store.models import RecordRow
from engine.store.uow import UnitOfWork

OWNER = "owner"  # not a field, yet every expression may read it: the record owner's username or None


def record_names(uow: UnitOfWork, entity: Entity, record: RecordRow,
                 owners: dict[int, str | None] | None = None) -> dict[str, Any]:
    """What an expression about a record sees: its fields (None when empty) and `owner` (`owners`: login names
    by user id, filled as they are read, for a batch of records)."""
    return {**field_names(entity, record.data), OWNER: owner_name(uow, record, owners)}


def owner_name(uow: UnitOfWork, record: RecordRow, owners: dict[int, str | None] | None = None) -> str | None:
    """The login name of a record's owner (None without one); `owners` as record_names takes it."""
    if record.owner_id and owners is not None and record.owner_id in owners:
        return owners[record.owner_id]
    if not record.owner_id:
        return None
    owner = uow.users.get(record.owner_id)
    name = owner.username if owner else None
    if owners is not None:
        owners[record.owner_id] = name
    return name


def _entity(bundle: Bundle, name: str, rule: str) -> Entity:
    entity = bundle.entities.get(name)
    if entity is None:
        raise RuleError(rule, f"aggregates over unknown entity {name!r}")
    return entity


def _values(rows: Sequence[RecordRow], field: str, field_type: str) -> list[Any]:
    raw = [row.data.get(field) for row in rows]
    if field_type in ("decimal", "money"):
        return [v for v in (amount(x) for x in raw) if v is not None]
    return [v for v in raw if v is not None]


def aggregate(function: str, values: list[Any], field_type: str) -> Any:
    """count/sum/min/max of the values of one field: exact sums of decimals, None for min/max of nothing."""
    if function == "count":
        return len(values)
    if function == "sum":
        if field_type in ("decimal", "money"):
            return Amount(sum(values, Decimal(0)))
        return sum(values, 0)
    if not values:
        return None
    pick = max if function == "max" else min
    if field_type == "date":
        return pick(values, key=lambda text: date.fromisoformat(str(text)[:10]))
    if field_type == "datetime":  # offsets differ: compare the instants, keep the stored text
        return pick(values, key=lambda text: datetime.fromisoformat(str(text)))
    return pick(values)


def compute_aggregates(uow: UnitOfWork, bundle: Bundle, record: RecordRow, aggregates: Sequence[Aggregate], *,
                       rule: str, now: datetime) -> dict[str, Any]:
    """The value of every `let:` name for one record, reading each (entity, via) set of records once. A `where`
    expression is evaluated per linked record; a `where` filter by one SQL query over them (the list compiler)."""
    found: dict[tuple[str, str], list[RecordRow]] = {}
    result: dict[str, Any] = {}
    today = now.date()
    for item in aggregates:
        entity = _entity(bundle, item.of, rule)
        key = (item.of, item.via)
        if key not in found:
            found[key] = uow.records.referencing(record.id, item.of, item.via)
        rows = found[key]
        if item.where:
            rows = [r for r in rows if is_true(item.where, record_names(uow, entity, r), rule=rule, today=today)]
        if item.filter is not None:
            matching = uow.find.matching(Filter(item.of, item.filter), now, [r.id for r in rows])
            rows = [r for r in rows if r.id in matching]
        result[item.name] = aggregate_of(bundle, item, rows, rule=rule)
    return result


def aggregate_of(bundle: Bundle, item: Aggregate, rows: Sequence[RecordRow], *, rule: str) -> Any:
    """The value of a `let` name over the linked records that pass its `where`."""
    if item.function == "count":
        return len(rows)
    entity = _entity(bundle, item.of, rule)
    if item.field is None or item.field not in entity.fields:
        raise RuleError(rule, f"let {item.name}: {item.function} needs a field of {item.of}")
    field_type = entity.fields[item.field].type
    try:
        return aggregate(item.function, _values(rows, item.field, field_type), field_type)
    except (TypeError, ValueError) as exc:
        raise RuleError(rule, f"let {item.name}: {item.function} of {item.of}.{item.field}: {exc}") from exc
