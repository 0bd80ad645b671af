"""Plain definitions of report parts (docs/reports.md): what the loader builds and the SQL layer reads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.store.filter_spec import Condition

Label = Mapping[str, str]

REPORT_KINDS = ("grouped", "funnel", "activity")
BUCKETS = ("month", "quarter", "year")
CHART_TYPES = ("bar", "stacked", "line", "funnel")
FORMATS = ("number", "money", "percent", "duration")
# System columns of every record, usable as a field name: name -> field type
NUMERIC_TYPES = ("integer", "decimal", "money")
TIME_TYPES = ("date", "datetime", "timestamp")  # timestamp: created_at, updated_at (engine/filters/model.py)


@dataclass(frozen=True)
class FieldPath:
    """A field of the report's entity, or (`via` set) a field of the record its reference field `via` names."""

    name: str  # as written: "channel", "product.category", "created_at"
    field: str  # the final field
    type: str  # its type
    via: str | None = None
    catalog: str | None = None  # enum/multi_enum: labels come from this catalog
    entity: str | None = None  # reference: the referenced entity


@dataclass(frozen=True)
class Dimension:
    """A group-by column: a field's value (a reference shows the record's title) or its time bucket."""

    path: FieldPath
    label: Label
    bucket: bool = False  # group by the period bucket (month/quarter/year) of a date/datetime field


@dataclass(frozen=True)
class Linked:
    """Records of `entity` whose reference field `via` points at the grouped record."""

    entity: str
    via: str


@dataclass(frozen=True)
class Measure:
    """A column computed per group: an aggregate over records, or arithmetic of two other measures."""

    name: str
    label: Label
    function: str  # count | count_distinct | sum | avg | ratio | difference
    field: str | None = None  # count_distinct/sum/avg: the field
    field_type: str = "string"
    where: Condition | None = None
    linked: Linked | None = None
    operands: tuple[str, ...] = ()  # ratio / difference: two measure names
    format: str = "number"
    line: int | None = None


@dataclass(frozen=True)
class Chart:
    """How the web draws the result: a chart type and the measures it shows."""

    type: str
    measures: tuple[str, ...]


@dataclass(frozen=True)
class FunnelSpec:
    """Stages of `stage_field` in order (per value of `split_by` when stages come from pipelines)."""

    stage_field: str
    split_by: str | None
    stages: tuple[str, ...] = ()  # an explicit order; empty = from the split value's pipeline
    stage_catalog: str | None = None
    split_catalog: str | None = None
    exclude: tuple[str, ...] = ()  # stages left out of the funnel (e.g. a "lost" final stage)


@dataclass(frozen=True)
class ActivityMeasure:
    """A per-user count: records created/owned, claims of records, tasks done or overdue, or a ratio."""

    name: str
    label: Label
    source: str  # records | claims | tasks_done | tasks_overdue | ratio
    entity: str | None = None
    by: str = "owner"  # records: owner | created_by
    where: Condition | None = None
    operands: tuple[str, ...] = ()
    format: str = "number"


@dataclass(frozen=True)
class Report:
    """One report of crm_model/reports/<name>.yaml."""

    name: str
    label: Label
    kind: str
    entity: str | None = None
    description: Label = field(default_factory=dict)
    period: FieldPath | None = None  # the date/datetime field the from/to parameters filter on
    where: Condition | None = None
    dimensions: tuple[Dimension, ...] = ()
    measures: tuple[Measure, ...] = ()
    activity: tuple[ActivityMeasure, ...] = ()
    funnel: FunnelSpec | None = None
    chart: Chart | None = None
    file: str = ""
    line: int | None = None

    def column_names(self) -> tuple[str, ...]:
        """The measure names of the report, in order."""
        return tuple(m.name for m in self.measures) + tuple(m.name for m in self.activity)
