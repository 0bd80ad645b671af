"""Check crm_model/reports/<name>.yaml into Report definitions (docs/reports.md); every problem with its line."""

from __future__ import annotations

from typing import Any

from engine.config.checking import SNAKE_NAME, Checker, Say, stem
from engine.config.model import Entity
from engine.config.report_parts import ReportParts
from engine.config.yaml_lines import LineList, LineMap, plain
from engine.store.report_spec import (
    CHART_TYPES,
    FORMATS,
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
_KEYS = {
    "grouped": (*_COMMON, "entity", "period", "where", "group_by", "measures"),
    "funnel": (*_COMMON, "entity", "period", "where", "stage_field", "split_by", "stages", "exclude"),
    "activity": (*_COMMON, "measures"),
}
_AGGREGATES = ("count", "count_distinct", "sum", "avg")
_ARITHMETIC = ("ratio", "difference")
_MEASURE_KEYS = ("label", "where", "linked", "format", *_AGGREGATES, *_ARITHMETIC)
_ACTIVITY_SOURCES = ("records", "claims", "tasks", "ratio")
_ACTIVITY_KEYS = ("label", "by", "where", "format", *_ACTIVITY_SOURCES)
_PERIOD_LABEL = {"en": "Period", "ru": "Период"}


class _ReportChecker(ReportParts):
    """The checks of one report file by kind; problems go to the bundle's checker."""

    def chart(self, measures: tuple[str, ...]) -> Chart | None:
        """The chart: a type and measures of this report (default: a bar chart of the first measure)."""
        spec = self.data.get("chart")
        if spec is None:
            return Chart("bar", measures[:1]) if measures else None
        say = self.at("chart")
        if not isinstance(spec, LineMap) or set(spec) - {"type", "measures"}:
            say(self.data.line_of("chart"), "chart must be {type: bar|stacked|line|funnel, measures: [...]}")
            return None
        kind = spec.get("type", "bar")
        if kind not in CHART_TYPES:
            say(spec.line_of("type"), f"unknown chart type {kind!r}; types: {', '.join(CHART_TYPES)}")
            return None
        shown = spec.get("measures", list(measures[:1]))
        if not isinstance(shown, list) or not shown or any(m not in measures for m in shown):
            say(spec.line_of("measures"), f"chart measures must be a list of: {', '.join(measures)}")
            return None
        return Chart(str(kind), tuple(shown))

    def format_of(self, spec: LineMap, default: str, say: Say) -> str:
        """The display format of a measure."""
        value = spec.get("format", default)
        if value not in FORMATS:
            say(spec.line_of("format"), f"unknown format {value!r}; formats: {', '.join(FORMATS)}")
            return default
        return str(value)

    def operands(self, spec: LineMap, key: str, earlier: list[str], say: Say) -> tuple[str, ...] | None:
        """The two measure names of a ratio/difference, each defined above it."""
        value = spec.get(key)
        if not isinstance(value, list) or len(value) != 2 or any(v not in earlier for v in value):
            say(spec.line_of(key), f"{key} needs two measures defined above it, e.g. [{', '.join(earlier[:2])}]")
            return None
        return (str(value[0]), str(value[1]))

    def measures_map(self) -> LineMap | None:
        """The `measures:` mapping, reporting when it is missing or empty."""
        specs = self.data.get("measures")
        if not isinstance(specs, LineMap) or not specs:
            self.say(self.data.line_of("measures"), "measures must be a non-empty mapping of name: {label, ...}")
            return None
        return specs

    def head_of_measure(self, specs: LineMap, name: str, keys: tuple[str, ...]) -> tuple[Say, LineMap] | None:
        """The spec of one measure with unknown keys and a bad name reported."""
        say, spec = self.at(f"measures.{name}"), specs[name]
        if not SNAKE_NAME.fullmatch(name):
            say(specs.line_of(name), "measure names must be snake_case")
        if not isinstance(spec, LineMap):
            say(specs.line_of(name), "a measure must be a mapping like {label: {...}, count: true}")
            return None
        for key in (k for k in spec if k not in keys):
            say(spec.line_of(key), f"unknown key '{key}'; expected: {', '.join(keys)}")
        return say, spec

    def measure(self, entity: Entity, specs: LineMap, name: str, earlier: list[str]) -> Measure | None:
        """One measure of a grouped report."""
        head = self.head_of_measure(specs, name, _MEASURE_KEYS)
        if head is None:
            return None
        say, spec = head
        label = self.checker.label(say, spec.line_of("label"), spec.get("label"))
        kinds = [k for k in (*_AGGREGATES, *_ARITHMETIC) if k in spec]
        if len(kinds) != 1:
            say(spec.line, f"a measure needs exactly one of: {', '.join((*_AGGREGATES, *_ARITHMETIC))}")
            return None
        function = kinds[0]
        if function in _ARITHMETIC:
            operands = self.operands(spec, function, earlier, say)
            fmt = self.format_of(spec, "percent" if function == "ratio" else "number", say)
            return Measure(name, label, function, operands=operands, format=fmt) if operands else None
        target: Entity | None = entity
        linked = None
        if "linked" in spec:
            linked = self.linked(entity, spec["linked"], spec.line_of("linked"), say)
            target = self.checker.entities.get(linked.entity) if linked else None
        if target is None:
            return None
        where = self.condition(target, spec["where"], f"measures.{name}.where", spec.line_of("where")) \
            if "where" in spec else None
        if "where" in spec and where is None:
            return None
        field, field_type = None, "string"
        if function == "count":
            if spec["count"] is not True:
                say(spec.line_of("count"), "write count: true")
        else:
            path = self.path_of(target, spec[function], spec.line_of(function), say)
            if path is None:
                return None
            if path.via is not None:
                say(spec.line_of(function), f"{function} takes a field of the counted record itself")
                return None
            if function in ("sum", "avg") and path.type not in NUMERIC_TYPES:
                say(spec.line_of(function), f"{function} needs a number field; {path.field} is {path.type}")
                return None
            field, field_type = path.field, path.type
        fmt = self.format_of(spec, "money" if field_type == "money" else "number", say)
        return Measure(name, label, function, field, field_type, where, linked, (), fmt, spec.line)

    def linked(self, entity: Entity, spec: Any, line: int, say: Say) -> Linked | None:
        """{entity, via}: records of another entity whose reference field `via` points at the grouped record."""
        if not isinstance(spec, LineMap) or set(spec) != {"entity", "via"}:
            say(line, "linked must be {entity: <Name>, via: <its reference field naming this entity>}")
            return None
        other = self.entity(spec.get("entity"), spec.line_of("entity"), say)
        if other is None:
            return None
        via = other.fields.get(str(spec.get("via")))
        if via is None or via.type != "reference" or via.entity != entity.name:
            say(spec.line_of("via"), f"via {spec.get('via')!r} must be a reference field of {other.name} "
                                     f"pointing at {entity.name}")
            return None
        return Linked(other.name, via.name)

    def grouped(self, entity: Entity) -> Report | None:
        """A grouped report: group_by dimensions and measures."""
        dimensions = self.dimensions(entity)
        specs = self.measures_map()
        measures: list[Measure] = []
        for name in specs or {}:
            built = self.measure(entity, specs or LineMap(0), name, [m.name for m in measures])
            if built is not None:
                measures.append(built)
        chart = self.chart(tuple(m.name for m in measures))
        return Report(self.name, {}, "grouped", entity.name, dimensions=dimensions, measures=tuple(measures),
                      chart=chart)

    def dimensions(self, entity: Entity) -> tuple[Dimension, ...]:
        """The group_by list: field names or {field, bucket: true, label}."""
        items, say = self.data.get("group_by"), self.at("group_by")
        if not isinstance(items, LineList) or not items:
            say(self.data.line_of("group_by"), "group_by must be a non-empty list of fields")
            return ()
        built: list[Dimension] = []
        for index, item in enumerate(items):
            line = items.line_at(index)
            spec = item if isinstance(item, LineMap) else LineMap(line)
            if isinstance(item, LineMap):
                for key in (k for k in item if k not in ("field", "bucket", "label")):
                    say(item.line_of(key), f"unknown key '{key}'; expected: field, bucket, label")
            name = item.get("field") if isinstance(item, LineMap) else item
            path = self.path_of(entity, name, line, say)
            if path is None:
                continue
            bucket = spec.get("bucket", False) is True
            if bucket and path.type not in TIME_TYPES:
                say(line, f"bucket needs a date or datetime field; {path.name} is {path.type}")
                continue
            if path.type == "multi_enum":
                say(line, f"{path.name} holds several codes: group by a single-valued field")
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
            say(self.data.line_of("stage_field"), "stage_field must be an enum or string field of the entity")
            stage = None
        split = None
        if "split_by" in self.data:
            split = self.path_of(entity, self.data.get("split_by"), self.data.line_of("split_by"), say)
            if split is not None and (split.via is not None or split.type != "enum"):
                say(self.data.line_of("split_by"), "split_by must be an enum field of the entity")
                split = None
        if stage is None:
            return None
        codes = self.codes("stages", stage)
        exclude = self.codes("exclude", stage)
        if not codes and not self.pipelines_for(entity, stage, split):
            say(self.data.line, "give stages: [...], or split_by the type field of pipelines on this stage field")
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
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.say(self.data.line_of(key), f"{key} must be a list of stage codes")
            return ()
        unknown = [v for v in value if catalog is not None and v not in catalog.codes()]
        if unknown and catalog is not None:
            self.say(self.data.line_of(key), f"{', '.join(unknown)}: not codes of catalog {catalog.name}")
        return tuple(value)

    def activity(self) -> Report | None:
        """An activity report: per-user counts of records, claims and tasks, and ratios of them."""
        specs = self.measures_map()
        built: list[ActivityMeasure] = []
        for name in specs or {}:
            measure = self.activity_measure(specs or LineMap(0), name, [m.name for m in built])
            if measure is not None:
                built.append(measure)
        chart = self.chart(tuple(m.name for m in built))
        return Report(self.name, {}, "activity", activity=tuple(built), chart=chart)

    def activity_measure(self, specs: LineMap, name: str, earlier: list[str]) -> ActivityMeasure | None:
        """records: Entity (by owner/created_by, where) | claims: Entity | tasks: done/overdue | ratio: [a, b]."""
        head = self.head_of_measure(specs, name, _ACTIVITY_KEYS)
        if head is None:
            return None
        say, spec = head
        label = self.checker.label(say, spec.line_of("label"), spec.get("label"))
        sources = [k for k in _ACTIVITY_SOURCES if k in spec]
        if len(sources) != 1:
            say(spec.line, f"a measure needs exactly one of: {', '.join(_ACTIVITY_SOURCES)}")
            return None
        source = sources[0]
        if source == "ratio":
            operands = self.operands(spec, "ratio", earlier, say)
            fmt = self.format_of(spec, "percent", say)
            return ActivityMeasure(name, label, "ratio", operands=operands, format=fmt) if operands else None
        if source == "tasks":
            if spec["tasks"] not in ("done", "overdue"):
                say(spec.line_of("tasks"), "tasks must be done or overdue")
                return None
            return ActivityMeasure(name, label, f"tasks_{spec['tasks']}")
        entity = self.entity(spec[source], spec.line_of(source), say)
        if entity is None:
            return None
        if source == "claims":
            return ActivityMeasure(name, label, "claims", entity.name)
        by = spec.get("by", "owner")
        if by not in ("owner", "created_by"):
            say(spec.line_of("by"), "by must be owner or created_by")
            return None
        where = self.condition(entity, spec["where"], f"measures.{name}.where", spec.line_of("where")) \
            if "where" in spec else None
        if "where" in spec and where is None:
            return None
        return ActivityMeasure(name, label, "records", entity.name, str(by), where)


def load_report(checker: Checker, path: str, reports: dict[str, Report]) -> None:
    """Check one report file into `reports`; problems go to the checker."""
    from dataclasses import replace

    data = checker.mapping(path, tuple(sorted({k for keys in _KEYS.values() for k in keys})))
    name = data.get("report") if data is not None else None
    if data is None or not isinstance(name, str) or not SNAKE_NAME.fullmatch(name):
        if data is not None:
            checker.sayer(path, None)(data.line_of("report"), "report: <name> is required, in snake_case")
        return
    this = _ReportChecker(checker, path, name, data)
    if name != stem(path, ".yaml") or name in reports:
        this.say(data.line_of("report"), f"report '{name}' must be in {REPORTS_FOLDER}/{name}.yaml")
    label = checker.label(this.say, data.line_of("label"), data.get("label"))
    description = checker.label(this.say, data.line_of("description"), data["description"]) \
        if "description" in data else {}
    kind = data.get("kind")
    if kind not in _KEYS:
        this.say(data.line_of("kind"), f"kind must be one of: {', '.join(_KEYS)}")
        return
    for key in (k for k in data if k not in _KEYS[kind]):
        this.say(data.line_of(key), f"'{key}' does not apply to a {kind} report; keys: {', '.join(_KEYS[kind])}")
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
                this.say(data.line_of("period"), "period must be a date or datetime field of the entity")
                period = None
        if "where" in data:
            where = this.condition(entity, data["where"], "where", data.line_of("where"))
        report = this.grouped(entity) if kind == "grouped" else this.funnel(entity)
    if report is not None:
        reports[name] = replace(report, label=label, description=description, period=period, where=where,
                                file=path, line=data.line)
