"""`let:` aggregates: count/sum/min/max over the records whose reference field points at a record."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from engine.config.automation import Aggregate
from engine.config.model import Bundle, Entity
from engine.rules.expressions import Amount, RuleError, amount, field_names, is_true
from engine.store.filter_spec import Filter
from engine.store.models import LinkedRecord, RecordRow
from engine.store.uow import UnitOfWork

OWNER = "owner"  # not a field, yet every expression may read it: the record owner's username or None


def record_names(uow: UnitOfWork, entity: Entity, record: RecordRow | LinkedRecord,
                 owners: dict[int, str | None] | None = None) -> dict[str, Any]:
    """What an expression about a record sees: its fields (None when empty) and `owner` (`owners`: login names
    by user id, filled as they are read, for a batch of records)."""
    return {**field_names(entity, record.data), OWNER: owner_name(uow, record, owners)}


def owner_name(uow: UnitOfWork, record: RecordRow | LinkedRecord,
               owners: dict[int, str | None] | None = None) -> str | None:
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


def _value(raw: Any, field_type: str) -> Any:
    """A linked record's stored value as an aggregate takes it (None: left out)."""
    return amount(raw) if field_type in ("decimal", "money") else raw


def _key(field_type: str) -> Callable[[Any], Any] | None:
    if field_type == "date":
        return lambda text: date.fromisoformat(str(text)[:10])
    if field_type == "datetime":  # offsets differ: compare the instants, keep the stored text
        return lambda text: datetime.fromisoformat(str(text))
    return None


class Running:
    """count/sum/min/max of one field taken value by value: after each add, value() is what aggregate() gives for
    the values added so far in that order — aggregate() is this fold, so the two agree to the last digit, on the
    first of equal extremes and in the error a value raises (the comparisons min()/max() make, in their order)."""

    def __init__(self, function: str, field_type: str) -> None:
        self.function, self.field_type = function, field_type
        self.count = 0
        self.total: Any = Decimal(0) if field_type in ("decimal", "money") else 0
        self.best: Any = None
        self.best_key: Any = None
        self.key = _key(field_type)

    def add(self, value: Any) -> None:
        """Take one more value (not None)."""
        if self.function == "sum":
            self.total = self.total + value
        elif self.function in ("min", "max"):
            key = self.key(value) if self.key is not None else value
            if not self.count or (key > self.best_key if self.function == "max" else key < self.best_key):
                self.best, self.best_key = value, key
        self.count += 1

    def value(self) -> Any:
        """count/sum/min/max of the values added so far: exact sums of decimals, None for min/max of nothing."""
        if self.function == "count":
            return self.count
        if self.function == "sum":
            return Amount(self.total) if self.field_type in ("decimal", "money") else self.total
        return self.best


def aggregate(function: str, values: list[Any], field_type: str) -> Any:
    """count/sum/min/max of the values of one field: exact sums of decimals, None for min/max of nothing."""
    running = Running(function, field_type)
    for value in values:
        running.add(value)
    return running.value()


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


class RunningLet:
    """A `let` name over the linked records that pass its `where`, taken record by record (aggregate_of is this
    fold): value() after each add is what aggregate_of gives for the records added so far, in that order, and a
    record's value that cannot be aggregated raises the same RuleError when it is added."""

    def __init__(self, bundle: Bundle, item: Aggregate, *, rule: str) -> None:
        self.item, self.rule = item, rule
        self.field_type: str | None = None  # count counts records, not values
        if item.function != "count":
            entity = _entity(bundle, item.of, rule)
            if item.field is None or item.field not in entity.fields:
                raise RuleError(rule, f"let {item.name}: {item.function} needs a field of {item.of}")
            self.field_type = entity.fields[item.field].type
        self.running = Running(item.function, self.field_type or "")

    def add(self, row: RecordRow | LinkedRecord) -> None:
        """Take one more linked record."""
        if self.field_type is None:
            self.running.add(row)
            return
        item = self.item
        value = _value(row.data.get(str(item.field)), self.field_type)
        if value is None:
            return
        try:
            self.running.add(value)
        except (TypeError, ValueError) as exc:
            raise RuleError(self.rule, f"let {item.name}: {item.function} of {item.of}.{item.field}: {exc}") from exc

    def value(self) -> Any:
        """The `let` name's value over the records added so far."""
        return self.running.value()


def aggregate_of(bundle: Bundle, item: Aggregate, rows: Sequence[RecordRow | LinkedRecord], *, rule: str) -> Any:
    """The value of a `let` name over the linked records that pass its `where`."""
    running = RunningLet(bundle, item, rule=rule)
    for row in rows:
        running.add(row)
    return running.value()
