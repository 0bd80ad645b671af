"""A `where` of a configuration file (a report, a report measure, a rule) checked as a filter condition.

One condition model: the parser of engine/filters/model.py validates it (the operators, system fields and linked
conditions of entity lists and segments), and each problem is reported at its line with its JSON path in the file
(`measures.won.where.all[1].value: ...`). The old report syntax without `op` still loads as `eq`, with a warning
(reports only: rules never had it)."""

from __future__ import annotations

import re
from typing import Any

from engine.config.checking import Checker
from engine.config.model import Bundle, Entity
from engine.config.yaml_lines import LineList, LineMap, line_of_path, plain
from engine.errors import Problem, ValidationError
from engine.filters.model import parse_filter
from engine.messages import Message, sentence
from engine.store.filter_spec import AllOf, AnyOf, Condition, FieldCondition, NotOf

_STEP = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")


def _steps(path: str) -> list[str | int]:
    """ "where.all[1].value" → ["where", "all", 1, "value"]."""
    return [int(index) if index else name for name, index in _STEP.findall(path)]


def _upgraded(checker: Checker, file: str, element: str, spec: Any, path: str) -> Any:
    """`spec` with the old report syntax `{field, value}` (no op) read as `op: eq`, warning at each such line."""
    if isinstance(spec, LineList):
        return [_upgraded(checker, file, element, item, f"{path}[{i}]") for i, item in enumerate(spec)]
    if not isinstance(spec, LineMap):
        return plain(spec)
    # old report conditions had no linked records: what is inside `linked` is read as written
    built = {
        key: plain(value) if key == "linked" else _upgraded(checker, file, element, value, f"{path}.{key}")
        for key, value in spec.items()
    }
    if "field" in spec and "op" not in spec:
        built["op"] = "eq"
        checker.warnings.append(
            Problem(file, spec.line, element, Message("config.condition_without_op", path=path))
        )
    return built


def load_condition(
    checker: Checker,
    file: str,
    element: str,
    entity: Entity,
    spec: Any,
    path: str,
    line: int | None,
    *,
    old_syntax: bool = False,
) -> Condition | None:
    """The filter condition `spec` over `entity`'s records, found at JSON path `path` of `file` (its key on `line`);
    None after reporting every problem of it at its line. `old_syntax`: a report's where, in which a condition
    without op still means eq (with a warning); elsewhere op is required, as in every filter."""
    upgraded = _upgraded(checker, file, element, spec, path) if old_syntax else plain(spec)
    model = Bundle({}, checker.entities, checker.catalogs, settings=checker.settings)  # what the parser reads
    try:
        parsed = parse_filter(model, {"entity": entity.name, "where": upgraded})
    except ValidationError as exc:
        say = checker.sayer(file, element)
        for key, messages in exc.errors.items():
            inner = _steps(key)[1:]  # the parser's paths start at its own "where"
            shown = path + key.removeprefix("where")
            for message in messages:
                say(line_of_path(spec, inner, line), Message("config.condition_problem", path=shown,
                                                                     problem=sentence(message, "value")))
        return None
    return parsed.where


def filtered_fields(condition: Condition | None) -> set[str]:
    """The fields of the record itself a condition tests (not those of linked records)."""
    if isinstance(condition, AllOf | AnyOf):
        return set().union(*(filtered_fields(item) for item in condition.items))
    if isinstance(condition, NotOf):
        return filtered_fields(condition.item)
    if isinstance(condition, FieldCondition):
        return {condition.field.name}
    return set()
