"""Decisions as the evaluator runs them: compiled cells, hit policies, requirements."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.processes.dmn.feel import Test, Value

HIT_POLICIES = ("UNIQUE", "FIRST", "PRIORITY", "ANY", "COLLECT", "RULE ORDER", "OUTPUT ORDER")
AGGREGATIONS = ("SUM", "MIN", "MAX", "COUNT")
MULTI_HIT = ("COLLECT", "RULE ORDER", "OUTPUT ORDER")


@dataclass(frozen=True)
class InputClause:
    """One input column: how its value is read and converted."""

    label: str
    text: str
    type_ref: str | None
    read: Value


@dataclass(frozen=True)
class OutputClause:
    """One output column; `priorities` are its outputValues, highest priority first."""

    name: str
    type_ref: str | None
    priorities: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Rule:
    """One row; an output of None is an empty cell (Camunda leaves that entry out of the result)."""

    index: int  # 1-based, as the modeler numbers rows
    id: str
    tests: tuple[Test, ...]
    outputs: tuple[Value | None, ...]


@dataclass(frozen=True)
class Table:
    """A decision table."""

    hit_policy: str
    aggregation: str | None
    inputs: tuple[InputClause, ...]
    outputs: tuple[OutputClause, ...]
    rules: tuple[Rule, ...]

    @property
    def multi_hit(self) -> bool:
        """True when the table returns every matching rule (not one, not an aggregate)."""
        return self.hit_policy in MULTI_HIT and self.aggregation is None


@dataclass(frozen=True)
class Literal:
    """A decision literal expression: one value under one variable name."""

    name: str
    type_ref: str | None
    value: Value


@dataclass(frozen=True)
class Decision:
    """One decision of a DMN file: a table or a literal expression, and the decisions it requires."""

    id: str
    name: str
    file: str
    line: int | None
    logic: Table | Literal
    required: tuple[str, ...] = field(default=())
