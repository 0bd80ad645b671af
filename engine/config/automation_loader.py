"""Check e-mail templates, pipelines and rules (docs/rules.md) into typed objects."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any

import jinja2

from engine.config.action_loader import ActionScope, load_actions
from engine.config.automation import (
    AGGREGATES,
    Aggregate,
    FinalAction,
    Pipeline,
    Rule,
    Stage,
    Template,
    Trigger,
)
from engine.config.checking import (
    CODE,
    SNAKE_NAME,
    Checker,
    Element,
    Path_,
    Say,
    broken,
    either,
    names_or_none,
    stem,
)
from engine.config.conditions import filtered_fields, load_condition
from engine.config.expressions import (
    COMMON_NAMES,
    FUNCTION_NAMES,
    LINKED_NAME,
    duration_problem,
    expression_names,
    expression_problems,
)
from engine.config.model import Catalog, Entity, Field
from engine.config.yaml_lines import LineList, LineMap
from engine.messages import Message, sentence
from engine.store.filter_spec import Condition

OWNER = "owner"  # not a field: the record's owner, which join_territory may set and `changed` may watch
_PIPELINE_KEYS = ("pipeline", "label", "entity", "type_field", "stage_field", "stages", "final_actions")
_STAGE_KEYS = ("code", "label", "final", "on_enter")
_FINAL_KEYS = ("code", "label", "requires", "actions")
SHARED_FINALS_FOLDER = "crm_model/final_actions"
SHARED_FINAL_KEYS = ("final_action", "label", "entity", "requires", "actions")
_RULE_KEYS = ("rule", "label", "entity", "on", "let", "when", "where", "actions", "else")
_LINKED_KEYS = {"linked_changed": ("entity", "via", "fields"), "linked_created": ("entity", "via")}
TRIGGER_HINT = (
    "created, changed: [fields], linked_changed: {entity, via, fields}, linked_created: {entity, via}, schedule: P1D"
)
_AGGREGATED_TYPES = {
    "sum": ("integer", "decimal", "money"),
    "min": ("integer", "decimal", "money", "date", "datetime"),
    "max": ("integer", "decimal", "money", "date", "datetime"),
}
_SUBJECT = "Subject:"


def load_templates(checker: Checker, paths: list[str]) -> None:
    """Check templates/<name>.<locale>.txt files (subject line, Jinja2 syntax) into `checker.templates`."""
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)  # noqa: S701 -- plain text
    bodies: dict[str, dict[str, str]] = {}
    for path in paths:
        name, _, locale = stem(path, ".txt").rpartition(".")
        say = checker.sayer(path, name or None)
        if not SNAKE_NAME.fullmatch(name) or not locale:
            say(None, Message("config.template_file_name"))
            continue
        if locale not in checker.settings.locales:
            locales = ", ".join(checker.settings.locales)
            say(None, Message("config.template_locale", locale=repr(locale), locales=locales))
        text = checker.files[path]
        if not text.startswith(_SUBJECT) or not text.split("\n", 1)[0].removeprefix(_SUBJECT).strip():
            say(1, Message("config.template_subject"))
        try:
            environment.parse(text)
        except jinja2.TemplateSyntaxError as error:
            say(error.lineno, Message("config.template_syntax", detail=sentence(error.message or "", "jinja")))
        bodies.setdefault(name, {})[locale] = text
    checker.templates = {name: Template(name, texts) for name, texts in sorted(bodies.items())}


def _entity(checker: Checker, say: Say, line: int, name: Any) -> Entity | None:
    entity = checker.entities.get(name) if isinstance(name, str) else None
    if entity is None and not (isinstance(name, str) and name in checker.unreadable):
        say(line, Message("config.unknown_entity", entity=repr(name), known=names_or_none(sorted(checker.entities))))
    return entity


def _coded(checker: Checker, file: str, owner: str, items: LineList, bad: set[Path_], what: str,
           taken: set[str]) -> Iterator[tuple[int, str, LineMap, int, str]]:
    """(index, code, item, line, element) of each stage (`what`: the list's key) whose shape its schema found good
    (`bad`: the paths it found wrong) and whose code is not in `taken` (which grows)."""
    for index, item in enumerate(items):
        if (what, index) in bad or (what, index, "code") in bad:
            continue
        at, code = items.line_at(index), item["code"]
        element = f"{owner}.{code}"
        if code in taken:
            checker.sayer(file, element)(at, Message("config.stage_code_twice", code=code))
            continue
        taken.add(code)
        yield index, code, item, at, element


def _pipeline_element(data: Any, where: list[Any]) -> str | None:
    """The element a pipeline problem names: none for its code; pipeline.<code> inside a stage or final action with
    a usable code; else the pipeline."""
    name = data.get("pipeline")
    if where[:1] == ["pipeline"] or not isinstance(name, str) or not CODE.fullmatch(name):
        return None
    if len(where) > 1 and where[0] in ("stages", "final_actions") and isinstance(where[1], int):
        item = data[where[0]][where[1]]
        code = item.get("code") if isinstance(item, dict) else None
        if isinstance(code, str) and CODE.fullmatch(code) and where[2:3] != ["code"]:
            return f"{name}.{code}"
    return name


def _shared_final_element(data: Any, where: list[Any]) -> str | None:
    """The element a shared final action problem names: none for its code, else the final action."""
    name = data.get("final_action")
    usable = isinstance(name, str) and CODE.fullmatch(name)
    return str(name) if where[:1] != ["final_action"] and usable else None


def _document_head(checker: Checker, path: str, kind: str, element: Element, seen: Mapping[str, object],
                   ) -> tuple[LineMap, str, Say, int, Any, Entity, set[Path_]] | None:
    """The head of a pipeline or shared final action file, its structure checked by its schema: its code (= file
    stem), label and entity, and the paths the schema found bad; None if unusable."""
    data, bad = checker.document(path, element)
    if data is None or kind not in data or (kind,) in bad:
        return None
    name = data[kind]
    named = _named(checker, path, data, kind, name, seen)
    if named is None:
        return None
    say, line, label, entity = named
    return data, name, say, line, label, entity, bad


def _pipeline_field(say: Say, data: LineMap, entity: Entity, key: str, types: tuple[str, ...]) -> Field | None:
    name = data.get(key)
    field = entity.fields.get(name) if isinstance(name, str) else None
    if field is None or field.type not in types:
        say(data.line_of(key), Message("config.pipeline_field", key=key, name=repr(name), entity=entity.name,
                                       types=either(types)))
        return None
    return field


def _named(checker: Checker, path: str, data: Any, kind: str, name: str, seen: Mapping[str, object],
           ) -> tuple[Say, Any, Any, Entity] | None:
    """What a pipeline, final action or rule file's head says beside its name: the name must be the file's stem
    and unique; its label and entity (None when the entity is unknown, which is reported)."""
    say, line = checker.sayer(path, name), data.line_of(kind)
    if name != stem(path, ".yaml") or name in seen:
        say(line, Message("config.file_of_name", kind=kind, name=name, noun=Message(f"config.noun_{kind}")))
    label = checker.label(say, data.line_of("label"), data.get("label"))
    entity = _entity(checker, say, data.line_of("entity"), data.get("entity"))
    return None if entity is None else (say, line, label, entity)


def load_pipeline(checker: Checker, path: str) -> None:
    """Check crm_model/pipelines/<code>.yaml into `checker.pipelines`."""
    head = _document_head(checker, path, "pipeline", _pipeline_element, checker.pipelines)
    if head is None:
        return
    data, code, say, line, label, entity, bad = head
    type_field = _pipeline_field(say, data, entity, "type_field", ("enum",))
    stage_field = _pipeline_field(say, data, entity, "stage_field", ("string", "enum"))
    types = checker.catalogs.get(type_field.catalog or "") if type_field else None
    if types is not None and code not in types.codes():
        say(line, Message("config.pipeline_type_code", code=code, catalog=types.name))
    stage_catalog = checker.catalogs.get(stage_field.catalog or "") if stage_field else None
    scope = ActionScope(path, code, entity, frozenset({*entity.fields, *COMMON_NAMES}))
    taken: set[str] = set()  # stage and final action codes share one namespace
    stages = _stages(checker, scope, data, stage_catalog, taken, bad)
    finals = _final_actions(checker, scope, data, taken, bad)
    type_name, stage_name = str(data.get("type_field")), str(data.get("stage_field"))
    pipeline = Pipeline(code, label, entity.name, type_name, stage_name, stages, finals, path, data.line)
    codes = [stage.code for stage in stages]
    for action in pipeline.all_actions():
        value = action.args.get(stage_name) if action.kind == "set" and isinstance(action.args, dict) else None
        if stage_field is not None and value is not None and value not in codes:
            say(action.line, Message("config.pipeline_set_stage", value=repr(value), code=code,
                                     stages=", ".join(codes)))
    checker.pipelines[code] = pipeline


def _stages(checker: Checker, scope: ActionScope, data: LineMap, catalog: Catalog | None, taken: set[str],
            bad: set[Path_]) -> tuple[Stage, ...]:
    items = data.get("stages")
    if ("stages",) in bad or not isinstance(items, LineList):
        return ()
    stages: list[Stage] = []
    for index, code, item, at, element in _coded(checker, scope.file, scope.element, items, bad, "stages", taken):
        say = checker.sayer(scope.file, element)
        if catalog is not None and code not in catalog.codes():
            say(at, Message("config.stage_not_in_catalog", code=code, catalog=catalog.name))
        final = False if ("stages", index, "final") in bad else item.get("final", False)
        on_enter = load_actions(checker, replace(scope, element=element), item.get("on_enter"), bad,
                                ("stages", index, "on_enter"))
        stages.append(Stage(code, checker.label(say, at, item.get("label")), final is True, on_enter, at))
    if stages and not any(stage.final for stage in stages):
        checker.sayer(scope.file, scope.element)(data.line_of("stages"), Message("config.no_final_stage"))
    return tuple(stages)


def _final_action(checker: Checker, scope: ActionScope, item: LineMap, code: str, at: int, bad: set[Path_],
                  where: Path_) -> FinalAction:
    """One final action's requires and actions, checked in `scope` (its pipeline, or its shared file); `where`: its
    path in the file."""
    say = checker.sayer(scope.file, scope.element)
    requires = _field_list(
        say, item.line_of("requires"), item.get("requires", []), scope.entity, "requires", allow_empty=True
    )
    actions = load_actions(checker, scope, item.get("actions"), bad, (*where, "actions"))
    return FinalAction(code, checker.label(say, at, item.get("label")), requires, actions, at)


def load_shared_final_action(checker: Checker, path: str) -> None:
    """Check crm_model/final_actions/<code>.yaml, a final action pipelines of its entity name by its code."""
    head = _document_head(checker, path, "final_action", _shared_final_element, checker.final_actions)
    if head is None:
        return
    data, code, _, line, _, entity, bad = head
    scope = ActionScope(path, code, entity, frozenset({*entity.fields, *COMMON_NAMES}))
    shared = _final_action(checker, scope, data, code, line or data.line, bad, ())
    checker.final_actions[code] = (entity.name, replace(shared, file=path))


def _final_actions(checker: Checker, scope: ActionScope, data: LineMap, taken: set[str],
                   bad: set[Path_]) -> tuple[FinalAction, ...]:
    """The pipeline's final actions: mappings written in the pipeline, and codes naming shared final actions."""
    items = data.get("final_actions", LineList(data.line))
    if ("final_actions",) in bad or not isinstance(items, LineList):
        return ()
    say = checker.sayer(scope.file, scope.element)
    finals: list[FinalAction] = []
    for index, item in enumerate(items):
        at = items.line_at(index)
        if not isinstance(item, str):  # written here; its shape was checked by the schema
            if ("final_actions", index) in bad or ("final_actions", index, "code") in bad:
                continue
            element = f"{scope.element}.{item['code']}"
            if item["code"] in taken:
                checker.sayer(scope.file, element)(at, Message("config.stage_code_twice", code=item["code"]))
                continue
            taken.add(item["code"])
            finals.append(_final_action(checker, replace(scope, element=element), item, item["code"], at, bad,
                                        ("final_actions", index)))
            continue
        shared = checker.final_actions.get(item)
        if shared is None:
            if item not in checker.unreadable:
                known = names_or_none(sorted(checker.final_actions))
                say(at, Message("config.final_action_unknown", item=repr(item), folder=SHARED_FINALS_FOLDER,
                                name=item, known=known))
        elif shared[0] != scope.entity.name:
            say(at, Message("config.final_action_entity", item=repr(item), entity=shared[0],
                            expected=scope.entity.name))
        elif item in taken:
            say(at, Message("config.stage_code_twice", code=item))
        else:
            taken.add(item)
            finals.append(shared[1])
    return tuple(finals)


def _field_list(
    say: Say, line: int, value: Any, entity: Entity, what: str, *, allow_empty: bool = False, owner: bool = False
) -> tuple[str, ...]:
    if not isinstance(value, list) or not (value or allow_empty):
        say(line, Message("config.field_list_needed", what=what, entity=entity.name,
                          example=next(iter(entity.fields), "field")))
        return ()
    known = {*entity.fields, *([OWNER] if owner else [])}
    for name in (name for name in value if not isinstance(name, str) or name not in known):
        say(line, Message("config.field_list_unknown", what=what, name=repr(name), entity=entity.name))
    return tuple(str(name) for name in value)


def _linked(checker: Checker, say: Say, spec: LineMap, key: str, target: Entity) -> Entity | None:
    """The entity named by spec[key] whose reference field spec["via"] points at `target`."""
    linked = _entity(checker, say, spec.line_of(key), spec.get(key))
    if linked is None:
        return None
    via = spec.get("via")
    field = linked.fields.get(via) if isinstance(via, str) else None
    if field is None or field.type != "reference" or field.entity != target.name:
        pointing = [f.name for f in linked.fields.values() if f.type == "reference" and f.entity == target.name]
        say(spec.line_of("via"), Message("config.via_reference_fields", via=repr(via), entity=linked.name,
                                         target=target.name, fields=names_or_none(pointing)))
        return None
    return linked


def _trigger(checker: Checker, say: Say, item: Any, line: int, entity: Entity) -> Trigger:
    """One trigger whose shape the schema found good: created, or a mapping with one key."""
    if item == "created":
        return Trigger("created", line=line)
    kind = next(iter(item))
    value = item[kind]
    if kind == "changed":
        return Trigger(kind, _field_list(say, line, value, entity, "changed", owner=True), line=line)
    if kind == "schedule":
        if problem := duration_problem(value):
            say(line, Message("config.schedule_invalid", problem=problem))
        return Trigger(kind, every=str(value), line=line)
    linked = _linked(checker, say, value, "entity", entity)
    fields: tuple[str, ...] = ()
    if kind == "linked_changed" and linked is not None:
        fields = _field_list(say, value.line_of("fields"), value.get("fields"), linked, kind, owner=True)
    return Trigger(kind, fields, str(value.get("entity")), str(value.get("via")), line=line)


def _triggers(checker: Checker, say: Say, data: LineMap, entity: Entity, bad: set[Path_]) -> tuple[Trigger, ...]:
    """The triggers of `on:` (one, or a list) whose shape the schema found good."""
    items = data.get("on")
    found: list[tuple[Path_, Any, int]]
    if isinstance(items, LineList):
        found = [((index,), item, items.line_at(index)) for index, item in enumerate(items)]
    else:
        found = [((), items, data.line_of("on"))]
    return tuple(_trigger(checker, say, item, line, entity) for steps, item, line in found
                 if "on" in data and not broken(bad, "on", *steps))


def _aggregates(checker: Checker, file: str, rule: str, data: LineMap, entity: Entity,
                bad: set[Path_]) -> tuple[Aggregate, ...]:
    """The `let` aggregates whose shape the schema found good, checked against the linked entities."""
    specs = data.get("let", LineMap(data.line))
    if ("let",) in bad:
        return ()
    aggregates: list[Aggregate] = []
    reserved = {*entity.fields, *COMMON_NAMES, LINKED_NAME, *FUNCTION_NAMES}
    for name, spec in specs.items():
        at, say = specs.line_of(name), checker.sayer(file, f"{rule}.{name}")
        if broken(bad, "let", name):
            continue
        if name in reserved:
            say(at, Message("config.let_name", name=name, entity=entity.name))
        function = next(key for key in spec if key in AGGREGATES)
        linked = _linked(checker, say, spec, "count" if function == "count" else "of", entity)
        field = None if function == "count" else spec.get(function)
        target = linked.fields.get(field) if linked is not None and isinstance(field, str) else None
        if (
            linked is not None
            and function != "count"
            and (target is None or target.type not in _AGGREGATED_TYPES[function])
        ):
            allowed = ", ".join(_AGGREGATED_TYPES[function])
            say(spec.line_of(function), Message("config.aggregate_field", function=function, field=repr(field),
                                                entity=linked.name, types=allowed))
        where, condition = spec.get("where"), None
        if isinstance(where, LineMap):  # a filter condition over the linked records (docs/filters.md)
            condition = load_condition(checker, file, f"{rule}.{name}", linked, where, f"let.{name}.where",
                                       spec.line_of("where")) if linked is not None else None
            where = None
        elif where is not None and linked is not None:
            for problem in expression_problems(where, {*linked.fields, *COMMON_NAMES}):
                say(spec.line_of("where"), Message("config.where_expression", where=repr(where), problem=problem))
        of = spec.get("count" if function == "count" else "of")
        aggregates.append(Aggregate(name, function, str(of), str(spec.get("via")), field, where, at, condition))
    return tuple(aggregates)


def _rule_element(data: Any, where: list[Any]) -> str | None:
    """The element a rule problem names: none for its name; rule.<let name> inside let; else the rule."""
    name = data.get("rule")
    if where[:1] == ["rule"] or not isinstance(name, str) or not SNAKE_NAME.fullmatch(name):
        return None
    return f"{name}.{where[1]}" if where[:1] == ["let"] and len(where) > 1 else name


def load_rule(checker: Checker, path: str) -> None:
    """Check crm_model/rules/<name>.yaml into `checker.rules`: its structure by its schema, then its entity, fields,
    expressions and actions."""
    head = _document_head(checker, path, "rule", _rule_element, checker.rules)
    if head is None:
        return
    data, name, say, line, label, entity, bad = head
    triggers = _triggers(checker, say, data, entity, bad)
    let = _aggregates(checker, path, name, data, entity, bad)
    let_names = [str(key) for key in data.get("let", {})] if isinstance(data.get("let"), dict) else []
    linked = [LINKED_NAME] if any(t.kind.startswith("linked_") for t in triggers) else []
    names = frozenset({*entity.fields, *let_names, *COMMON_NAMES, *linked})  # a broken let is reported once
    when = data.get("when") if ("when",) not in bad else None
    if when is not None:
        for problem in expression_problems(when, names):
            say(data.line_of("when"), Message("config.when_expression", when=repr(when), problem=problem))
    where = _rule_where(checker, path, name, data, entity) if ("where",) not in bad else None
    scope = ActionScope(path, name, entity, names)
    actions = load_actions(checker, scope, data.get("actions"), bad, ("actions",))
    otherwise = load_actions(checker, scope, data.get("else"), bad, ("else",))
    checker.rules[name] = Rule(
        name, label, entity.name, triggers, let, when if isinstance(when, str) else None, actions, otherwise,
        where=where, file=path, line=line,
    )


def _rule_where(checker: Checker, path: str, name: str, data: LineMap, entity: Entity) -> Condition | None:
    """The rule's `where:` filter over its record (docs/filters.md), checked by the filter model's parser, refused
    when it tests a field that `when` tests too (two places deciding one field: one of them is dead)."""
    if "where" not in data:
        return None
    say = checker.sayer(path, name)
    where = load_condition(checker, path, name, entity, data["where"], "where", data.line_of("where"))
    when = data.get("when")
    both = sorted(filtered_fields(where) & expression_names(when)) if where and isinstance(when, str) else []
    if both:
        say(data.line_of("where"), Message("config.when_and_where", fields=", ".join(both)))
        return None
    return where
