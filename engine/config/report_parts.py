"""Field paths and where conditions of report files (docs/reports.md), checked against the bundle's entities."""

from __future__ import annotations

from typing import Any

from engine.config.checking import Checker, Say
from engine.config.model import Entity
from engine.config.yaml_lines import LineList, LineMap, plain
from engine.store.report_spec import NUMERIC_TYPES, OPS, SYSTEM_FIELDS, TIME_TYPES, Condition, FieldPath


class ReportParts:
    """Checks of the parts every report kind uses; problems go to the bundle's checker."""

    def __init__(self, checker: Checker, path: str, name: str, data: LineMap) -> None:
        self.checker, self.path, self.name, self.data = checker, path, name, data
        self.say: Say = checker.sayer(path, name)

    def at(self, element: str) -> Say:
        """A reporter naming an element inside the report (`measures.rate`)."""
        return self.checker.sayer(self.path, f"{self.name}.{element}")

    def entity(self, value: Any, line: int, say: Say) -> Entity | None:
        """The entity named `value`, or None after reporting it (quietly when its own file was unreadable)."""
        found = self.checker.entities.get(value) if isinstance(value, str) else None
        if found is None and value not in self.checker.unreadable:
            known = ", ".join(sorted(self.checker.entities)) or "none"
            say(line, f"unknown entity {value!r} (known: {known})")
        return found

    def path_of(self, entity: Entity, value: Any, line: int, say: Say) -> FieldPath | None:
        """A field of `entity`, a system field, or `reference.field` through a reference field."""
        if not isinstance(value, str) or not value:
            say(line, f"a field name is required, e.g. one of: {', '.join(entity.fields)}")
            return None
        head, _, tail = value.partition(".")
        if tail:
            via = entity.fields.get(head)
            target = self.checker.entities.get(via.entity or "") if via and via.type == "reference" else None
            if via is None or via.type != "reference" or target is None:
                say(line, f"{value!r}: {head!r} must be a reference field of {entity.name}")
                return None
            inner = self.path_of(target, tail, line, say)
            if inner is None or inner.via is not None:
                if inner is not None:
                    say(line, f"{value!r}: only one reference step is supported")
                return None
            return FieldPath(value, inner.field, inner.type, head, inner.catalog, inner.entity)
        if head in SYSTEM_FIELDS:
            return FieldPath(value, head, SYSTEM_FIELDS[head])
        found = entity.fields.get(head)
        if found is None:
            fields = ", ".join([*entity.fields, *SYSTEM_FIELDS])
            say(line, f"{entity.name} has no field {head!r}; fields: {fields}")
            return None
        return FieldPath(value, head, found.type, None, found.catalog, found.entity)

    def condition(self, entity: Entity, spec: Any, line: int, where: str) -> Condition | None:
        """A where condition over `entity`'s fields (all/any/not/field-op-value)."""
        say = self.at(where)
        if not isinstance(spec, LineMap):
            say(line, "a condition is {field, op, value}, {all: [...]}, {any: [...]} or {not: {...}}")
            return None
        line = spec.line
        for group in ("all", "any"):
            if group in spec:
                items = spec[group]
                if len(spec) != 1 or not isinstance(items, LineList) or not items:
                    say(line, f"{group} must be the only key and hold a non-empty list of conditions")
                    return None
                parts = [self.condition(entity, item, items.line_at(i), where) for i, item in enumerate(items)]
                return None if None in parts else Condition(group, tuple(p for p in parts if p is not None))
        if "not" in spec:
            inner = self.condition(entity, spec["not"], spec.line_of("not"), where) if len(spec) == 1 else None
            if len(spec) != 1:
                say(line, "not must be the only key")
            return Condition("not", (inner,)) if inner is not None else None
        extra = sorted(set(spec) - {"field", "op", "value"})
        if extra:
            say(line, f"unknown key(s) {', '.join(extra)}; expected field, op, value")
        path = self.path_of(entity, spec.get("field"), spec.line_of("field"), say)
        op = spec.get("op", "eq")
        if op not in OPS:
            say(spec.line_of("op"), f"unknown op {op!r}; ops: {', '.join(OPS)}")
            return None
        if path is None:
            return None
        if path.via is not None:
            say(spec.line_of("field"), "a where condition names a field of the record itself")
            return None
        value = plain(spec.get("value"))
        if not self.value_fits(path, op, value, "value" in spec, spec.line_of("value"), say):
            return None
        return Condition("field", field=path.field, type=path.type, op=op, value=value)

    def value_fits(self, path: FieldPath, op: str, value: Any, given: bool, line: int, say: Say) -> bool:
        """Whether `value` suits `op` on the field; reports why not."""
        if op in ("is_empty", "is_not_empty"):
            if given:
                say(line, f"{op} takes no value")
            return not given
        values = value if op in ("in", "not_in") else [value]
        if not isinstance(values, list) or not values:
            say(line, f"{op} needs a non-empty list of values")
            return False
        if op in ("gt", "gte", "lt", "lte") and path.type not in (*NUMERIC_TYPES, *TIME_TYPES):
            say(line, f"{op} applies to number and date fields, not to {path.field} ({path.type})")
            return False
        for item in values:
            bad = item is None or isinstance(item, list | dict)
            if path.type in NUMERIC_TYPES and (isinstance(item, bool) or not isinstance(item, int | float | str)):
                bad = True
            if bad:
                say(line, f"{item!r} is not a value for {path.field} ({path.type})")
                return False
            catalog = self.checker.catalogs.get(path.catalog or "")
            if catalog is not None and str(item) not in catalog.codes():
                say(line, f"{item!r} is not a code of catalog {catalog.name}; codes: {', '.join(catalog.codes())}")
                return False
        return True
