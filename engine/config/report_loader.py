"""Check crm_model/reports/<name>.yaml into Report definitions (docs/reports.md); every problem with its line."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from engine.config.checking import SNAKE_NAME, Checker, Say, stem
from engine.config.model import Entity
from engine.config.report_parts import ReportParts
from engine.config.yaml_lines import LineList, LineMap, plain
from engine.messages import Message
from engine.store.report_spec import (
    NUMERIC_TYPES,
    TIME_TYPES,
    ActivityMeasure,
    Chart,
    Dimension,
    FieldPath,
    FunnelSpec,
    Linked,
    Measure,
    Report,
)

REPORTS_FOLDER = "crm_model/reports"
_COMMON = ("report", "label", "description", "kind", "chart")
REPORT_KEYS = {
    "grouped": (*_COMMON, "entity", "period", "where", "group_by", "measures"),
    "funnel": (*_COMMON, "entity", "period", "where", "stage_field", "split_by", "stages", "exclude"),
    "activity": (*_COMMON, "measures"),
}
AGGREGATE_MEASURES = ("count", "count_distinct", "sum", "avg")
ARITHMETIC = ("ratio", "difference")
MEASURE_KEYS = ("label", "where", "linked", "format", *AGGREGATE_MEASURES, *ARITHMETIC)
ACTIVITY_SOURCES = ("records", "claims", "tasks", "ratio")
ACTIVITY_KEYS = ("label", "by", "where", "format", *ACTIVITY_SOURCES)
_PERIOD_LABEL = {"en": "Period", "ru": "Период"}


class _ReportChecker(ReportParts):
    """The checks of one report file by kind; problems go to the bundle's checker."""

    def chart(self, measures: tuple[str, ...]) -> Chart | None:
        """The chart: a type and measures of this report (default: a bar chart of the first measure)."""
        spec = self.data.get("chart")
        if spec is None:
            return Chart("bar", measures[:1]) if measures else None
        if self.broken("chart"):
            return None
        shown = spec.get("measures", list(measures[:1]))
        if not shown or any(m not in measures for m in shown):
            self.at("chart")(spec.line_of("measures"), Message("config.chart_measures", measures=", ".join(measures)))
            return None
        return Chart(str(spec.get("type", "bar")), tuple(shown))

    def operands(self, spec: LineMap, key: str, earlier: list[str], say: Say) -> tuple[str, ...] | None:
        """The two measure names of a ratio/difference, each defined above it."""
        value = spec[key]
        if len(value) != 2 or any(v not in earlier for v in value):
            say(spec.line_of(key), Message("config.measures_needed", key=key, example=", ".join(earlier[:2])))
            return None
        return (str(value[0]), str(value[1]))

    def measure_specs(self) -> list[tuple[str, LineMap]]:
        """(name, spec) of each measure whose shape the schema found good."""
        specs = self.data.get("measures")
        if self.broken("measures", top=True) or not isinstance(specs, LineMap):
            return []
        return [(name, spec) for name, spec in specs.items() if not self.broken("measures", name)]

    def measure(self, entity: Entity, spec: LineMap, name: str, earlier: list[str]) -> Measure | None:
        """One measure of a grouped report."""
        say = self.at(f"measures.{name}")
        label = self.checker.label(say, spec.line_of("label"), spec.get("label"))
        function = next(k for k in (*AGGREGATE_MEASURES, *ARITHMETIC) if k in spec)
        if function in ARITHMETIC:
            operands = self.operands(spec, function, earlier, say)
            fmt = spec.get("format", "percent" if function == "ratio" else "number")
            return Measure(name, label, function, operands=operands, format=fmt) if operands else None
        target: Entity | None = entity
        linked = None
        if "linked" in spec:
            linked = self.linked(entity, spec["linked"], say)
            target = self.checker.entities.get(linked.entity) if linked else None
        if target is None:
            return None
        where = self.condition(target, spec["where"], f"measures.{name}.where", spec.line_of("where")) \
            if "where" in spec else None
        if "where" in spec and where is None:
            return None
        field, field_type = None, "string"
        if function != "count":
            path = self.path_of(target, spec[function], spec.line_of(function), say)
            if path is None:
                return None
            if path.via is not None:
                say(spec.line_of(function), Message("config.measure_own_field", function=function))
                return None
            if function in ("sum", "avg") and path.type not in NUMERIC_TYPES:
                say(spec.line_of(function), Message("config.measure_number", function=function, field=path.field,
                                                    type=path.type))
                return None
            field, field_type = path.field, path.type
        fmt = spec.get("format", "money" if field_type == "money" else "number")
        return Measure(name, label, function, field, field_type, where, linked, (), fmt, spec.line)

    def linked(self, entity: Entity, spec: LineMap, say: Say) -> Linked | None:
        """{entity, via}: records of another entity whose reference field `via` points at the grouped record."""
        other = self.entity(spec.get("entity"), spec.line_of("entity"), say)
        if other is None:
            return None
        via = other.fields.get(str(spec.get("via")))
        if via is None or via.type != "reference" or via.entity != entity.name:
            say(spec.line_of("via"), Message("config.via_reference", via=repr(spec.get("via")), entity=other.name,
                                             target=entity.name))
            return None
        return Linked(other.name, via.name)

    def grouped(self, entity: Entity) -> Report | None:
        """A grouped report: group_by dimensions and measures."""
        dimensions = self.dimensions(entity)
        measures: list[Measure] = []
        for name, spec in self.measure_specs():
            built = self.measure(entity, spec, name, [m.name for m in measures])
            if built is not None:
                measures.append(built)
        chart = self.chart(tuple(m.name for m in measures))
        return Report(self.name, {}, "grouped", entity.name, dimensions=dimensions, measures=tuple(measures),
                      chart=chart)

    def dimensions(self, entity: Entity) -> tuple[Dimension, ...]:
        """The group_by list: field names or {field, bucket: true, label}."""
        items, say = self.data.get("group_by"), self.at("group_by")
        if self.broken("group_by", top=True) or not isinstance(items, LineList):
            return ()
        built: list[Dimension] = []
        for index, item in enumerate(items):
            if self.broken("group_by", index):
                continue
            line = items.line_at(index)
            spec = item if isinstance(item, LineMap) else LineMap(line)
            name = item.get("field") if isinstance(item, LineMap) else item
            path = self.path_of(entity, name, line, say)
            if path is None:
                continue
            bucket = spec.get("bucket", False) is True
            if bucket and path.type not in TIME_TYPES:
                say(line, Message("config.bucket_field", field=path.name, type=path.type))
                continue
            if path.type == "multi_enum":
                say(line, Message("config.group_multi", field=path.name))
                continue
            label = spec.get("label")
            if label is not None:
                label = self.checker.label(say, spec.line_of("label"), label)
            built.append(Dimension(path, label or self.default_label(entity, path, bucket), bucket))
        return tuple(built)

    def default_label(self, entity: Entity, path: FieldPath, bucket: bool) -> dict[str, str]:
        """The label of a dimension without one: the field's own label (Period for buckets)."""
        if bucket:
            return dict(_PERIOD_LABEL)
        owner = entity.fields.get(path.via) if path.via else None
        target = self.checker.entities.get(owner.entity or "") if owner else entity
        found = target.fields.get(path.field) if target else None
        return dict(found.label) if found else {"en": path.field, "ru": path.field}

    def funnel(self, entity: Entity) -> Report | None:
        """A funnel: stages of a stage field in order, optionally per value of a split field."""
        say = self.say
        stage = self.path_of(entity, self.data.get("stage_field"), self.data.line_of("stage_field"), say)
        if stage is not None and (stage.via is not None or stage.type not in ("enum", "string")):
            say(self.data.line_of("stage_field"), Message("config.funnel_stage_field"))
            stage = None
        split = None
        if "split_by" in self.data:
            split = self.path_of(entity, self.data.get("split_by"), self.data.line_of("split_by"), say)
            if split is not None and (split.via is not None or split.type != "enum"):
                say(self.data.line_of("split_by"), Message("config.funnel_split_by"))
                split = None
        if stage is None:
            return None
        codes = self.codes("stages", stage)
        exclude = self.codes("exclude", stage)
        if not codes and not self.pipelines_for(entity, stage, split):
            say(self.data.line, Message("config.funnel_stages"))
            return None
        spec = FunnelSpec(stage.field, split.field if split else None, codes, stage.catalog,
                          split.catalog if split else None, exclude)
        chart = self.chart(("reached",)) if "chart" in self.data else Chart("funnel", ("reached",))
        return Report(self.name, {}, "funnel", entity.name, funnel=spec, chart=chart)

    def pipelines_for(self, entity: Entity, stage: Any, split: Any) -> list[str]:
        """Pipelines whose type field is `split_by` and whose stage field is the funnel's."""
        return [p.code for p in self.checker.pipelines.values() if split is not None and p.entity == entity.name
                and p.type_field == split.field and p.stage_field == stage.field]

    def codes(self, key: str, stage: FieldPath) -> tuple[str, ...]:
        """A list of stage codes (`stages`, `exclude`), checked against the stage field's catalog."""
        value = plain(self.data.get(key, []))
        catalog = self.checker.catalogs.get(stage.catalog or "")
        if self.broken(key):
            return ()
        unknown = [v for v in value if catalog is not None and v not in catalog.codes()]
        if unknown and catalog is not None:
            self.say(self.data.line_of(key), Message("config.not_catalog_codes", codes=", ".join(unknown),
                                                     catalog=catalog.name))
        return tuple(value)

    def activity(self) -> Report | None:
        """An activity report: per-user counts of records, claims and tasks, and ratios of them."""
        built: list[ActivityMeasure] = []
        for name, spec in self.measure_specs():
            measure = self.activity_measure(spec, name, [m.name for m in built])
            if measure is not None:
                built.append(measure)
        chart = self.chart(tuple(m.name for m in built))
        return Report(self.name, {}, "activity", activity=tuple(built), chart=chart)

    def activity_measure(self, spec: LineMap, name: str, earlier: list[str]) -> ActivityMeasure | None:
        """records: Entity (by owner/created_by, where) | claims: Entity | tasks: done/overdue | ratio: [a, b]."""
        say = self.at(f"measures.{name}")
        label = self.checker.label(say, spec.line_of("label"), spec.get("label"))
        source = next(k for k in ACTIVITY_SOURCES if k in spec)
        if source == "ratio":
            operands = self.operands(spec, "ratio", earlier, say)
            fmt = spec.get("format", "percent")
            return ActivityMeasure(name, label, "ratio", operands=operands, format=fmt) if operands else None
        if source == "tasks":
            return ActivityMeasure(name, label, f"tasks_{spec['tasks']}")
        entity = self.entity(spec[source], spec.line_of(source), say)
        if entity is None:
            return None
        if source == "claims":
            return ActivityMeasure(name, label, "claims", entity.name)
        where = self.condition(entity, spec["where"], f"measures.{name}.where", spec.line_of("where")) \
            if "where" in spec else None
        if "where" in spec and where is None:
            return None
        return ActivityMeasure(name, label, "records", entity.name, str(spec.get("by", "owner")), where)


def _report_element(data: Any, where: list[Any]) -> str | None:
    """The element a report problem names: none for its name; report.measures.<name>, report.group_by or
    report.chart inside those; else the report."""
    name = data.get("report")
    if where[:1] == ["report"] or not isinstance(name, str) or not SNAKE_NAME.fullmatch(name):
        return None
    if where[:1] == ["measures"] and len(where) > 1:
        return f"{name}.measures.{where[1]}"
    return f"{name}.{where[0]}" if where[:1] in (["group_by"], ["chart"]) else name


def load_report(checker: Checker, path: str, reports: dict[str, Report]) -> None:
    """Check one report file into `reports`: its structure by its schema, then its entity, fields, conditions and
    measures against the bundle; problems go to the checker."""
    data, bad = checker.document(path, _report_element)
    if data is None or "report" not in data or ("report",) in bad:
        return
    name = data["report"]
    this = _ReportChecker(checker, path, name, data, bad)
    if name != stem(path, ".yaml") or name in reports:
        this.say(data.line_of("report"), Message("config.report_file", name=name, folder=REPORTS_FOLDER))
    label = checker.label(this.say, data.line_of("label"), data.get("label"))
    description = checker.label(this.say, data.line_of("description"), data["description"]) \
        if "description" in data else {}
    if "kind" not in data or ("kind",) in bad:
        return
    kind = data["kind"]
    report: Report | None
    period = where = None
    if kind == "activity":
        report = this.activity()
    else:
        entity = this.entity(data.get("entity"), data.line_of("entity"), this.say)
        if entity is None:
            return
        if "period" in data:
            period = this.path_of(entity, data["period"], data.line_of("period"), this.say)
            if period is not None and (period.via is not None or period.type not in TIME_TYPES):
                this.say(data.line_of("period"), Message("config.report_period"))
                period = None
        if "where" in data:
            where = this.condition(entity, data["where"], "where", data.line_of("where"))
        report = this.grouped(entity) if kind == "grouped" else this.funnel(entity)
    if report is not None:
        reports[name] = replace(report, label=label, description=description, period=period, where=where,
                                file=path, line=data.line)
