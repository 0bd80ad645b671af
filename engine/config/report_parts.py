"""Field paths and where conditions of report files (docs/reports.md), checked against the bundle's entities."""

from __future__ import annotations

from typing import Any

from engine.config.checking import Checker, Path_, Say, broken, names_or_none
from engine.config.conditions import load_condition
from engine.config.model import Entity
from engine.config.yaml_lines import LineMap
from engine.filters.model import SYSTEM_FIELDS
from engine.messages import Message
from engine.store.filter_spec import Condition
from engine.store.report_spec import FieldPath


class ReportParts:
    """Checks of the parts every report kind uses; problems go to the bundle's checker."""

    def __init__(self, checker: Checker, path: str, name: str, data: LineMap, bad: set[Path_]) -> None:
        self.checker, self.path, self.name, self.data, self.bad = checker, path, name, data, bad
        self.say: Say = checker.sayer(path, name)

    def broken(self, *where: Any, top: bool = False) -> bool:
        """Whether the schema found the value at `where` wrong (`top`: the value itself, not something inside)."""
        return where in self.bad if top else broken(self.bad, *where)

    def at(self, element: str) -> Say:
        """A reporter naming an element inside the report (`measures.rate`)."""
        return self.checker.sayer(self.path, f"{self.name}.{element}")

    def entity(self, value: Any, line: int, say: Say) -> Entity | None:
        """The entity named `value`, or None after reporting it (quietly when its own file was unreadable)."""
        found = self.checker.entities.get(value) if isinstance(value, str) else None
        if found is None and value not in self.checker.unreadable:
            known = names_or_none(sorted(self.checker.entities))
            say(line, Message("config.entity_unknown", entity=repr(value), known=known))
        return found

    def path_of(self, entity: Entity, value: Any, line: int, say: Say) -> FieldPath | None:
        """A field of `entity`, a system field of the filter model (docs/filters.md), or `reference.field` through a
        reference field."""
        if not isinstance(value, str) or not value:
            say(line, Message("config.field_name_needed", fields=", ".join(entity.fields)))
            return None
        head, _, tail = value.partition(".")
        if tail:
            via = entity.fields.get(head)
            target = self.checker.entities.get(via.entity or "") if via and via.type == "reference" else None
            if via is None or via.type != "reference" or target is None:
                say(line, Message("config.path_reference", value=repr(value), head=repr(head), entity=entity.name))
                return None
            inner = self.path_of(target, tail, line, say)
            if inner is None or inner.via is not None:
                if inner is not None:
                    say(line, Message("config.path_one_step", value=repr(value)))
                return None
            return FieldPath(value, inner.field, inner.type, head, inner.catalog, inner.entity)
        if head in SYSTEM_FIELDS:
            return FieldPath(value, head, SYSTEM_FIELDS[head])
        found = entity.fields.get(head)
        if found is None:
            fields = ", ".join([*entity.fields, *SYSTEM_FIELDS])
            say(line, Message("config.no_such_field", entity=entity.name, field=repr(head), fields=fields))
            return None
        return FieldPath(value, head, found.type, None, found.catalog, found.entity)

    def condition(self, entity: Entity, spec: Any, where: str, line: int) -> Condition | None:
        """A `where` over `entity`'s records at JSON path `where` (its key on `line`): a filter condition
        (docs/filters.md), checked by the filter model's parser, every problem at its line."""
        return load_condition(self.checker, self.path, self.name, entity, spec, where, line, old_syntax=True)
