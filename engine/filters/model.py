"""The filter model: parse and validate a filter document against the deployed bundle into typed conditions.

Every problem is collected and raised at once as a ValidationError keyed by the JSON path of the offending part
("where.all[1].value"). The compiler (engine/store/filter_sql.py) turns a Filter into SQL."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from engine.config.model import FALLBACK_LINK_KIND, Bundle, Catalog, Entity
from engine.errors import ValidationError
from engine.filters.values import (
    CHOICE_TYPES,
    EQUALITY_OPS,
    ORDERED_TYPES,
    SET_OPS,
    BadValue,
    coerce_operand,
    ops_for,
    with_descendants,
)
from engine.store.filter_spec import (
    NUMERIC_TYPES,
    AllOf,
    AnyOf,
    Condition,
    FieldCondition,
    FieldRef,
    Filter,
    LinkedCondition,
    NotOf,
    SortKey,
)

SYSTEM_FIELDS: Mapping[str, str] = {
    "id": "integer",
    "title": "string",
    "owner": "owner",
    "created_at": "timestamp",
    "updated_at": "timestamp",
    "created_by": "string",
}
AGGREGATES = ("count", "sum", "min", "max", "exists", "none", "last")
MAX_LINK_DEPTH = 3  # linked inside linked inside linked
MAX_NESTING = 12  # all/any/not levels
MAX_CONDITIONS = 200  # leaves and groups in one filter
MAX_VALUES = 1000  # values of one in / not_in / has_any / has_all list
MAX_SORT = 5
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_FIELD_KEYS = {"field", "op", "value", "descendants"}
_LINKED_KEYS = {"entity", "via", "link_kind", "where", "aggregate", "field", "order_by", "op", "value"}


class _Parser:
    def __init__(self, bundle: Bundle) -> None:
        self.bundle = bundle
        self.errors: dict[str, list[str]] = {}
        self.count = 0

    def say(self, path: str, message: str) -> None:
        self.errors.setdefault(path, []).append(message)

    def keys(self, data: Mapping[str, Any], allowed: set[str], path: str) -> None:
        for key in sorted(str(k) for k in data if k not in allowed):
            self.say(f"{path}.{key}", f"unknown key; expected one of: {', '.join(sorted(allowed))}")

    def ref(self, entity: Entity, name: Any, path: str) -> FieldRef | None:
        if not isinstance(name, str) or not name:
            self.say(path, "must be a field name")
            return None
        field = entity.fields.get(name)
        if field is not None:
            return FieldRef(name, field.type)
        if name in SYSTEM_FIELDS:
            return FieldRef(name, SYSTEM_FIELDS[name], system=True)
        known = ", ".join([*entity.fields, *SYSTEM_FIELDS])
        self.say(path, f"{name!r} is not a field of {entity.name}; known: {known}")
        return None

    def catalog_of(self, entity: Entity, ref: FieldRef) -> Catalog | None:
        field = entity.fields.get(ref.name) if not ref.system else None
        return self.bundle.catalogs.get(field.catalog) if field is not None and field.catalog else None

    def operand(self, entity: Entity, ref: FieldRef, op: Any, value: Any, path: str) -> tuple[str, Any] | None:
        allowed = ops_for(ref.type)
        if op not in allowed:
            self.say(f"{path}.op", f"{op!r} is not an operator for {ref.name} ({ref.type}); use: {', '.join(allowed)}")
            return None
        try:
            return str(op), coerce_operand(ref.type, op, value, self.catalog_of(entity, ref), MAX_VALUES)
        except BadValue as exc:
            self.say(f"{path}.value", str(exc))
            return None

    def condition(self, entity: Entity, data: Any, path: str, depth: int, nesting: int) -> Condition | None:
        self.count += 1
        if self.count == MAX_CONDITIONS + 1:
            self.say(path, f"a filter may have at most {MAX_CONDITIONS} conditions")
        if self.count > MAX_CONDITIONS:
            return None
        if nesting > MAX_NESTING:
            self.say(path, f"conditions may be nested at most {MAX_NESTING} levels deep")
            return None
        if not isinstance(data, Mapping):
            self.say(path, "must be a condition object: all, any, not, field or linked")
            return None
        for group in ("all", "any"):
            if group in data:
                return self.group(entity, data, group, path, depth, nesting)
        if "not" in data:
            self.keys(data, {"not"}, path)
            inner = self.condition(entity, data["not"], f"{path}.not", depth, nesting + 1)
            return NotOf(inner) if inner is not None else None
        if "linked" in data:
            self.keys(data, {"linked"}, path)
            return self.linked(entity, data["linked"], f"{path}.linked", depth, nesting)
        if "field" in data:
            return self.field_condition(entity, data, path)
        self.say(path, "must be a condition object: all, any, not, field or linked")
        return None

    def group(self, entity: Entity, data: Mapping[str, Any], group: str, path: str, depth: int,
              nesting: int) -> Condition | None:
        self.keys(data, {group}, path)
        items = data[group]
        if not isinstance(items, list) or not items:
            self.say(f"{path}.{group}", "must be a non-empty list of conditions")
            return None
        parsed = [self.condition(entity, item, f"{path}.{group}[{i}]", depth, nesting + 1)
                  for i, item in enumerate(items)]
        kept = tuple(c for c in parsed if c is not None)
        if len(kept) != len(parsed):
            return None
        return AllOf(kept) if group == "all" else AnyOf(kept)

    def field_condition(self, entity: Entity, data: Mapping[str, Any], path: str) -> FieldCondition | None:
        self.keys(data, _FIELD_KEYS, path)
        ref = self.ref(entity, data.get("field"), f"{path}.field")
        if ref is None:
            return None
        if "op" not in data:
            self.say(f"{path}.op", "is required")
            return None
        parsed = self.operand(entity, ref, data["op"], data.get("value"), path)
        if parsed is None:
            return None
        op, value = parsed
        descendants = data.get("descendants", False)
        if not isinstance(descendants, bool):
            self.say(f"{path}.descendants", "must be true or false")
            return None
        if descendants:
            catalog = self.catalog_of(entity, ref)
            if ref.type not in CHOICE_TYPES or op not in (*EQUALITY_OPS, *SET_OPS) or catalog is None:
                self.say(f"{path}.descendants", "applies only to eq, ne, in, not_in, has_any of catalog fields")
                return None
            codes = with_descendants(catalog, value if isinstance(value, tuple) else (value,))
            op = {"eq": "in", "ne": "not_in", "has_all": "has_any"}.get(op, op)
            value = codes
        return FieldCondition(ref, op, value)

    def linked(self, entity: Entity, data: Any, path: str, depth: int, nesting: int) -> LinkedCondition | None:
        if not isinstance(data, Mapping):
            self.say(path, "must be an object with entity, via or link_kind, where, aggregate")
            return None
        self.keys(data, _LINKED_KEYS, path)
        if depth >= MAX_LINK_DEPTH:
            self.say(path, f"linked conditions may be nested at most {MAX_LINK_DEPTH} deep")
            return None
        target = self.link_target(entity, data, path)
        aggregate = data.get("aggregate", "exists")
        if aggregate not in AGGREGATES:
            self.say(f"{path}.aggregate", f"must be one of: {', '.join(AGGREGATES)}")
            return None
        if target is None:
            return None
        direction, other = target
        where = None
        if data.get("where") is not None:
            where = self.condition(other, data["where"], f"{path}.where", depth + 1, nesting + 1)
            if where is None:
                return None
        built = LinkedCondition(direction, other.name, data.get("via"), data.get("link_kind"), where, aggregate)
        return self.aggregate(other, built, data, path)

    def link_target(self, entity: Entity, data: Mapping[str, Any], path: str) -> tuple[str, Entity] | None:
        name, via, kind = data.get("entity"), data.get("via"), data.get("link_kind")
        other = self.bundle.entities.get(name) if isinstance(name, str) else None
        if name is not None and other is None:
            self.say(f"{path}.entity", f"unknown entity {name!r}; known: {', '.join(sorted(self.bundle.entities))}")
            return None
        if (via is None) == (kind is None):
            self.say(path, "needs exactly one of via (a reference field) or link_kind (a manual link kind)")
            return None
        if kind is not None:
            catalog = self.bundle.catalogs.get(self.bundle.settings.link_catalog)
            kinds = catalog.codes() if catalog is not None else (FALLBACK_LINK_KIND,)
            if kind not in kinds:
                self.say(f"{path}.link_kind", f"must be one of: {', '.join(kinds)}")
                return None
            if other is None:
                self.say(f"{path}.entity", "is required with link_kind")
                return None
            return "manual", other
        holder = other if other is not None else entity
        field = holder.fields.get(via) if isinstance(via, str) else None
        if field is None or field.type != "reference":
            refs = [n for n, f in holder.fields.items() if f.type == "reference"]
            self.say(f"{path}.via", f"must be a reference field of {holder.name}: {', '.join(refs) or 'none'}")
            return None
        if other is None:
            target = self.bundle.entities.get(field.entity or "")
            return ("outgoing", target) if target is not None else None
        if field.entity != entity.name:
            self.say(f"{path}.via", f"{other.name}.{via} refers to {field.entity}, not {entity.name}")
            return None
        return "incoming", other

    def aggregate(self, other: Entity, built: LinkedCondition, data: Mapping[str, Any],
                  path: str) -> LinkedCondition | None:
        aggregate = built.aggregate
        if aggregate in ("exists", "none"):
            for key in ("field", "order_by", "op", "value"):
                if key in data:
                    self.say(f"{path}.{key}", f"does not apply to aggregate {aggregate}")
            return built
        ref: FieldRef | None = None
        if aggregate != "count":
            ref = self.ref(other, data.get("field"), f"{path}.field")
            if ref is None:
                return None
            kinds = NUMERIC_TYPES if aggregate == "sum" else ORDERED_TYPES
            if aggregate != "last" and ref.type not in kinds:
                self.say(f"{path}.field", f"{aggregate} needs a field of type {', '.join(kinds)}")
                return None
            if ref.type == "multi_enum":
                self.say(f"{path}.field", "last cannot compare a multi_enum field")
                return None
        order_by = None
        if aggregate == "last":
            order_by = self.ref(other, data.get("order_by"), f"{path}.order_by")
            if order_by is None:
                return None
        elif "order_by" in data:
            self.say(f"{path}.order_by", "applies only to aggregate last")
        if "op" not in data:
            self.say(f"{path}.op", f"is required with aggregate {aggregate}")
            return None
        compared = ref if ref is not None and aggregate != "sum" else FieldRef(aggregate, "decimal")
        if aggregate == "count":
            compared = FieldRef("count", "integer")
        parsed = self.operand(other, compared, data["op"], data.get("value"), path)
        if parsed is None:
            return None
        return LinkedCondition(built.direction, built.entity, built.via, built.link_kind, built.where, aggregate,
                               ref, order_by, parsed[0], parsed[1])

    def sort(self, entity: Entity, data: Any) -> tuple[SortKey, ...]:
        if data is None:
            return ()
        if not isinstance(data, list) or len(data) > MAX_SORT:
            self.say("sort", f"must be a list of at most {MAX_SORT} {{field, dir}} objects")
            return ()
        keys: list[SortKey] = []
        for i, item in enumerate(data):
            path = f"sort[{i}]"
            if not isinstance(item, Mapping):
                self.say(path, "must be an object {field, dir}")
                continue
            self.keys(item, {"field", "dir"}, path)
            ref = self.ref(entity, item.get("field"), f"{path}.field")
            direction = item.get("dir", "asc")
            if direction not in ("asc", "desc"):
                self.say(f"{path}.dir", "must be asc or desc")
            elif ref is not None and ref.type == "multi_enum":
                self.say(f"{path}.field", "a multi_enum field cannot be sorted by")
            elif ref is not None:
                keys.append(SortKey(ref, direction == "desc"))
        return tuple(keys)


def parse_filter(bundle: Bundle, data: Any) -> Filter:
    """A validated Filter from its JSON form; ValidationError lists every problem keyed by JSON path."""
    parser = _Parser(bundle)
    if not isinstance(data, Mapping):
        raise ValidationError({"": ["a filter must be an object {entity, where, sort}"]})
    parser.keys(data, {"entity", "where", "sort"}, "")
    parser.errors = {key.lstrip("."): messages for key, messages in parser.errors.items()}
    name = data.get("entity")
    entity = bundle.entities.get(name) if isinstance(name, str) else None
    if entity is None:
        known = ", ".join(sorted(bundle.entities))
        parser.say("entity", f"unknown entity {name!r}; known: {known}" if name else f"is required; known: {known}")
        raise ValidationError(parser.errors)
    where = parser.condition(entity, data["where"], "where", 0, 0) if data.get("where") is not None else None
    sort = parser.sort(entity, data.get("sort"))
    if parser.errors:
        raise ValidationError(parser.errors)
    return Filter(entity.name, where, sort)


def _plain_value(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain_value(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def condition_document(condition: Condition) -> dict[str, Any]:
    """A parsed condition back in its JSON form (values as text where they were coerced; `descendants` already
    expanded into the codes it stands for), for showing what a configuration's `where` means."""
    if isinstance(condition, AllOf | AnyOf):
        return {"all" if isinstance(condition, AllOf) else "any": [condition_document(c) for c in condition.items]}
    if isinstance(condition, NotOf):
        return {"not": condition_document(condition.item)}
    if isinstance(condition, FieldCondition):
        shown = {"field": condition.field.name, "op": condition.op}
        return shown if condition.value is None else {**shown, "value": _plain_value(condition.value)}
    linked: dict[str, Any] = {"entity": condition.entity}
    linked.update({key: value for key, value in (("via", condition.via), ("link_kind", condition.link_kind))
                   if value is not None})
    if condition.where is not None:
        linked["where"] = condition_document(condition.where)
    linked["aggregate"] = condition.aggregate
    for key, ref in (("field", condition.field), ("order_by", condition.order_by)):
        if ref is not None:
            linked[key] = ref.name
    if condition.op is not None:
        linked.update({"op": condition.op, "value": _plain_value(condition.value)})
    return {"linked": linked}


def linked_entities(condition: Condition | None) -> set[str]:
    """Entities a condition reaches through linked conditions (for documentation and checks)."""
    if isinstance(condition, AllOf | AnyOf):
        return set().union(*(linked_entities(item) for item in condition.items))
    if isinstance(condition, NotOf):
        return linked_entities(condition.item)
    if isinstance(condition, LinkedCondition):
        return {condition.entity} | linked_entities(condition.where)
    return set()


def searchable_fields(bundle: Bundle) -> list[tuple[str, str, str]]:
    """(entity, field, type) of every field marked `searchable: true`, for the deploy to index."""
    return [(entity.name, field.name, field.type) for entity in bundle.entities.values()
            for field in entity.fields.values() if field.searchable]
