"""Loading and checking rules (docs/rules.md): triggers, aggregates, expressions, actions and cycles."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.config.expressions import expression_problems, parse_duration
from engine.config.loader import load_bundle
from tests.unit.test_automation_loader import RULE, RULE_FILE, TERRITORY, files_with, only_problem, problems_of


def rule_with(*lines: str, name: str = "r", entity: str = "Item") -> tuple[str, str]:
    """(path, text) of a rule file made of its head and `lines`."""
    head = f"rule: {name}\nlabel: {{en: R, ru: П}}\nentity: {entity}\n"
    return f"crm_model/rules/{name}.yaml", head + "".join(line + "\n" for line in lines)


def test_rule_is_loaded_into_a_typed_model() -> None:
    rule = load_bundle(files_with()).rules["count_parts"]
    assert [(t.kind, t.line) for t in rule.triggers] == [
        ("created", 5),
        ("changed", 6),
        ("linked_changed", 7),
        ("linked_created", 8),
        ("schedule", 9),
    ]
    assert (rule.triggers[2].entity, rule.triggers[2].via, rule.triggers[2].fields) == ("Part", "item", ("state",))
    assert rule.triggers[4].every == "P1D"
    assert [(a.name, a.function, a.of, a.via, a.field) for a in rule.let] == [
        ("parts", "count", "Part", "item", None),
        ("total", "sum", "Part", "item", "amount"),
        ("last_on", "max", "Part", "item", "made_on"),
    ]
    assert rule.let[0].where == "state == 'open'"
    assert rule.when is not None
    assert [a.kind for a in rule.actions] == ["compute", "join_territory"]
    assert [a.kind for a in rule.otherwise] == ["leave_territory"]
    assert (rule.file, rule.line) == (RULE_FILE, 1)


# --- rules ------------------------------------------------------------------------------------------------------


def test_rule_must_be_in_the_file_named_after_it() -> None:
    problem = only_problem(files_with({RULE_FILE: None, "crm_model/rules/other.yaml": RULE}))
    assert (problem.file, problem.line, problem.element) == ("crm_model/rules/other.yaml", 1, "count_parts")
    assert "crm_model/rules/count_parts.yaml" in problem.message


@pytest.mark.parametrize(
    ("old", "new", "line", "element", "words"),
    [
        ("entity: Item", "entity: Thing", 3, "count_parts", "unknown entity 'Thing'"),
        ("  - created", "  - creatd", 5, "count_parts", "unknown trigger 'creatd'"),
        ("changed: [budget]", "changed: [budgt]", 6, "count_parts", "changed: 'budgt' is not a field of Item"),
        ("changed: [budget]", "changed: []", 6, "count_parts", "changed needs a list of fields of Item"),
        ("changed: [budget]", "changed: budget", 6, "count_parts", "changed needs a list of fields of Item"),
        (
            "{entity: Part, via: item, fields",
            "{entity: Parts, via: item, fields",
            7,
            "count_parts",
            "unknown entity 'Parts'",
        ),
        (
            "via: item, fields",
            "via: title, fields",
            7,
            "count_parts",
            "via 'title' must be a reference field of Part pointing at Item; such fields: item",
        ),
        ("fields: [state]", "fields: [stat]", 7, "count_parts", "linked_changed: 'stat' is not a field of Part"),
        (
            "{entity: Part, via: item}\n  - schedule",
            "{entity: Part, via: items}\n  - schedule",
            8,
            "count_parts",
            "via 'items' must be a reference field of Part",
        ),
        (
            "{entity: Part, via: item}\n  - schedule",
            "{entity: Part}\n  - schedule",
            8,
            "count_parts",
            "via None must be a reference field of Part",
        ),
        ("schedule: P1D", "schedule: daily", 9, "count_parts", "schedule: 'daily' is not an ISO 8601 duration"),
        ("schedule: P1D", "schedule: P1M", 9, "count_parts", "'P1M' is not an ISO 8601 duration"),
        ("schedule: P1D", "schedule: PT0S", 9, "count_parts", "must be longer than zero"),
        (
            "{count: Part, via: item, where",
            "{count: Item, via: item, where",
            11,
            "count_parts.parts",
            "via 'item' must be a reference field of Item pointing at Item",
        ),
        ("state == 'open'", "stat == 'open'", 11, "count_parts.parts", "unknown name 'stat'"),
        ("state == 'open'", "name == 'open'", 11, "count_parts.parts", "unknown name 'name'"),
        (
            "{count: Part, via: item,",
            "{count: Part, sum: amount, via: item,",
            11,
            "count_parts.parts",
            "needs exactly one of count, sum, min, max",
        ),
        ("{count: Part, via: item,", "{count: Part, of: Part, via: item,", 11, "count_parts.parts", "unknown key 'of'"),
        ("sum: amount", "sum: title", 12, "count_parts.total", "sum: 'title' must be a field of Part of type integer"),
        ("sum: amount", "sum: made_on", 12, "count_parts.total", "must be a field of Part of type integer"),
        ("max: made_on", "max: state", 13, "count_parts.last_on", "of type integer, decimal, money, date, datetime"),
        (
            "  last_on:",
            "  budget: {count: Part, via: item}\n  last_on:",
            13,
            "count_parts.budget",
            "let name 'budget' must be snake_case and not a field of Item",
        ),
        ("parts >= 1 and", "parts >= and", 14, "count_parts", "does not parse"),
        ("parts >= 1 and", "partz >= 1 and", 14, "count_parts", "unknown name 'partz'"),
        ("parts >= 1 and", "name.upper() and", 14, "count_parts", "'.upper' is not allowed"),
        ("parts >= 1 and", "eval(name) and", 14, "count_parts", "'eval' is not a function"),
        ("parts >= 1 and", "(lambda: 1)() and", 14, "count_parts", "Lambda is not allowed"),
        ("upper(name) if owner", "upper(nam) if owner", 16, "count_parts", "unknown name 'nam'"),
        ("compute: {status:", "compute: {stat:", 16, "count_parts", "compute: stat is not a field of Item"),
        ("join_territory: north", "join_territory: [north]", 17, "count_parts", "needs a territory code"),
        ("when:", "whenever:", 14, "whenever", "unknown key 'whenever'"),
    ],
)
def test_rule_problem_is_located(old: str, new: str, line: int, element: str, words: str) -> None:
    assert old in RULE
    problems = problems_of(files_with({RULE_FILE: RULE.replace(old, new)}))
    assert {p.file for p in problems} == {RULE_FILE}
    assert any((p.file, p.line, p.element) == (RULE_FILE, line, element) and words in p.message for p in problems), (
        problems
    )


def test_linked_is_known_only_to_rules_with_linked_triggers() -> None:
    text = RULE.replace("  - linked_changed: {entity: Part, via: item, fields: [state]}\n", "")
    text = text.replace("  - linked_created: {entity: Part, via: item}\n", "")
    problem = only_problem(files_with({RULE_FILE: text}))
    assert (problem.file, problem.line, problem.element) == (RULE_FILE, 12, "count_parts")
    assert "unknown name 'linked'" in problem.message


def test_territory_actions_need_a_territory_entity() -> None:
    problems = problems_of(files_with({"crm_model/entities/territory.yaml": None}))
    assert [(p.file, p.line, p.element) for p in problems] == [
        (RULE_FILE, 17, "count_parts"),
        (RULE_FILE, 19, "count_parts"),
    ]
    assert "need an entity Territory with fields code and manager" in problems[0].message


def test_territory_manager_must_be_a_user_field() -> None:
    territory = TERRITORY.replace("manager: {type: user,", "manager: {type: string,")
    problems = problems_of(files_with({"crm_model/entities/territory.yaml": territory}))
    assert [p.line for p in problems] == [17, 19]
    assert "needs a field manager of type user" in problems[0].message


def test_rule_needs_actions() -> None:
    path, text = rule_with("on: [created]")
    problem = only_problem(files_with({path: text}))
    assert (problem.file, problem.line, problem.element) == (path, 1, "r")
    assert "a rule needs actions" in problem.message


def test_rule_accepts_a_single_trigger_without_a_list() -> None:
    path, text = rule_with("on: created", "actions: [{set: {status: seen}}]")
    assert load_bundle(files_with({path: text})).rules["r"].triggers[0].kind == "created"


def test_changed_may_watch_the_owner() -> None:
    path, text = rule_with("on: [{changed: [owner]}]", "actions: [{set: {status: reassigned}}]")
    assert load_bundle(files_with({path: text})).rules["r"].triggers[0].fields == ("owner",)


# --- cycles -----------------------------------------------------------------------------------------------------


def test_rule_writing_the_field_it_watches_is_a_cycle() -> None:
    path, text = rule_with("on: [{changed: [status]}]", 'actions: [{compute: {status: "upper(status)"}}]')
    problem = only_problem(files_with({path: text}))
    assert (problem.file, problem.line, problem.element) == (path, 1, "r")
    assert problem.message == "rules trigger each other forever: r → r (r writes status, r runs when status changes)"


def test_two_rules_triggering_each_other_are_one_cycle_reported_once() -> None:
    a_path, a_text = rule_with("on: [{changed: [stage]}]", "actions: [{set: {status: moved}}]", name="a")
    b_path, b_text = rule_with("on: [{changed: [status]}]", "actions: [{set: {stage: new}}]", name="b")
    problem = only_problem(files_with({a_path: a_text, b_path: b_text}))
    assert (problem.file, problem.line, problem.element) == (a_path, 1, "a")
    assert problem.message == (
        "rules trigger each other forever: a → b → a "
        "(a writes status, b runs when status changes; b writes stage, a runs when stage changes)"
    )


def test_rules_writing_other_fields_are_no_cycle() -> None:
    a_path, a_text = rule_with("on: [{changed: [stage]}]", "actions: [{set: {status: moved}}]", name="a")
    b_path, b_text = rule_with("on: [{changed: [status]}]", "actions: [{set: {email: a@b.cd}}]", name="b")
    bundle = load_bundle(files_with({a_path: a_text, b_path: b_text}))
    assert set(bundle.rules) == {"a", "b", "count_parts"}


def test_cycle_through_a_linked_record_is_found() -> None:
    part_path, part_text = rule_with(
        "on: [{changed: [amount]}]", "actions: [{set: {state: changed}}]", name="part_state", entity="Part"
    )
    item_path, item_text = rule_with(
        "on: [{linked_changed: {entity: Part, via: item, fields: [state]}}]",
        "actions: [{create_record: {entity: Part, set: {title: x}}}]",
        name="item_parts",
    )
    made_path, made_text = rule_with("on: [created]", "actions: [{set: {amount: '5'}}]", name="new_part", entity="Part")
    files = files_with({part_path: part_text, item_path: item_text, made_path: made_text})
    problem = only_problem(files)
    assert (problem.file, problem.element) == (item_path, "item_parts")
    assert problem.message == (
        "rules trigger each other forever: item_parts → new_part → part_state → item_parts "
        "(item_parts creates a Part, new_part runs when a Part is created; "
        "new_part writes amount, part_state runs when amount changes; "
        "part_state writes Part.state, item_parts runs when Part.state changes)"
    )


def test_join_territory_writes_the_owner() -> None:
    path, text = rule_with("on: [{changed: [owner]}]", "actions: [{join_territory: north}]")
    assert "r writes owner, r runs when owner changes" in only_problem(files_with({path: text})).message


# --- expressions and durations ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("P1D", timedelta(days=1)),
        ("PT4H", timedelta(hours=4)),
        ("P2W", timedelta(weeks=2)),
        ("P1DT12H30M", timedelta(days=1, hours=12, minutes=30)),
        ("PT1.5S", timedelta(seconds=1.5)),
        ("P0D", timedelta(0)),
    ],
)
def test_iso_durations_are_parsed(text: str, length: timedelta) -> None:
    assert parse_duration(text) == length


@pytest.mark.parametrize("text", ["P", "PT", "P1DT", "1D", "P1M", "P1Y", "P1W2D", "p1d", "P-1D", "", None, 5])
def test_what_is_not_a_supported_duration_is_refused(text: object) -> None:
    assert parse_duration(text) is None


def test_expression_checks_accept_the_documented_language() -> None:
    names = {"amount", "stage", "tags", "linked"}
    for expression in (
        "amount > 1000 and not (stage in ('won', 'lost'))",
        "'big' if abs(amount) >= 10 else 'small'",
        "linked['stage'] == 'won'",
        "len([t for t in tags if t != 'x']) > round(amount, 2)",
        "f'{stage}!'",
    ):
        assert expression_problems(expression, names) == [], expression
    assert expression_problems("", names) == ['must be an expression in quotes, like "amount > 1000"']
    assert expression_problems(5, names) == ['must be an expression in quotes, like "amount > 1000"']
    assert expression_problems("amount = 1", names)[0].startswith("does not parse")
    assert expression_problems("__import__('os')", names)[0].startswith("'__import__' is not a function")


# --- where: a filter over the record ----------------------------------------------------------------------------


def test_rule_where_is_a_filter_condition_of_the_filter_model() -> None:
    from engine.filters.model import AllOf, FieldCondition, LinkedCondition

    path, text = rule_with(
        "on: [created]",
        "where:",
        "  all:",
        "    - {field: budget, op: gt, value: 100}",
        "    - {linked: {entity: Part, via: item, aggregate: count, op: gte, value: 2}}",
        "when: \"name != 'x'\"",
        "actions: [{set: {status: big}}]",
    )
    where = load_bundle(files_with({path: text})).rules["r"].where
    assert isinstance(where, AllOf)
    budget, parts = where.items
    assert isinstance(budget, FieldCondition)
    assert (budget.field.name, budget.op, str(budget.value)) == ("budget", "gt", "100")
    assert isinstance(parts, LinkedCondition)
    assert (parts.direction, parts.entity, parts.aggregate, parts.value) == ("incoming", "Part", "count", 2)


@pytest.mark.parametrize(
    ("lines", "line", "words"),
    [
        (("where: {field: budgt, op: gt, value: 1}",), 5, "where.field: 'budgt' is not a field of Item; known:"),
        (
            (
                "where:",
                "  any:",
                "    - {field: name, op: eq, value: a}",
                "    - {field: budget, op: contains, value: 1}",
            ),
            8,
            "where.any[1].op: 'contains' is not an operator for budget (money)",
        ),
        (
            ("where:", "  linked: {entity: Part, via: item, where: {field: stat, op: eq, value: open}}"),
            6,
            "where.linked.where.field: 'stat' is not a field of Part",
        ),
        (('where: "budget > 1"',), 5, "where must be a filter condition such as {field: region, op: eq"),
        (
            ('when: "budget > 1"', "where: {field: budget, op: lt, value: 5}"),
            6,
            "budget tested in both when and where: test each field in one of them",
        ),
        (("where: {field: name, value: x}",), 5, "where.op: is required"),  # no old syntax in rules: not read as eq
    ],
)
def test_rule_where_problems_name_file_line_and_path(lines: tuple[str, ...], line: int, words: str) -> None:
    path, text = rule_with("on: [created]", *lines, "actions: [{set: {status: big}}]")
    problem = only_problem(files_with({path: text}))
    assert (problem.file, problem.line, problem.element) == (path, line, "r")
    assert words in problem.message


def test_let_where_may_be_a_filter_over_the_linked_records() -> None:
    from engine.filters.model import FieldCondition

    path, text = rule_with(
        "on: [created]",
        "let:",
        "  open_parts: {count: Part, via: item, where: {field: state, op: eq, value: open}}",
        "when: open_parts > 0",
        "actions: [{set: {status: busy}}]",
    )
    [open_parts] = load_bundle(files_with({path: text})).rules["r"].let
    assert (open_parts.where, open_parts.filter) == (None, FieldCondition(open_parts.filter.field, "eq", "open"))
    assert open_parts.filter.field.name == "state"


def test_a_bad_let_filter_is_reported_at_its_line_with_its_path() -> None:
    path, text = rule_with(
        "on: [created]",
        "let:",
        "  open_parts:",
        "    count: Part",
        "    via: item",
        "    where: {field: stat, op: eq, value: open}",
        "when: open_parts > 0",
        "actions: [{set: {status: busy}}]",
    )
    problem = only_problem(files_with({path: text}))
    assert (problem.file, problem.line, problem.element) == (path, 9, "r.open_parts")
    assert problem.message.startswith("let.open_parts.where.field: 'stat' is not a field of Part; known:")
