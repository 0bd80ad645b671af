"""What the DMN evaluator cannot run is refused when the bundle is checked: file, line, decision, rule, cell."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from engine.errors import ConfigError, Problem
from engine.processes.spiff import Runtime, parse_definitions
from tests.unit.test_camunda7_dmn import CORPUS, business_rule_process

DMN = "processes/check.dmn"
HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="Definitions_check" name="Check"
             namespace="http://camunda.org/schema/1.0/dmn">
"""
TABLE = """  <decision id="score" name="Score">
    <decisionTable id="DecisionTable_score" hitPolicy="{policy}"{aggregation}>
      <input id="Input_amount" label="Amount">
        <inputExpression id="InputExpression_amount" typeRef="{type_ref}"{language}><text>{expression}</text>
        </inputExpression>
      </input>
      <output id="Output_grade" label="Grade" name="grade" typeRef="string" />{second_output}
      <rule id="Rule_big">
        <inputEntry id="UnaryTests_big"{entry_language}>
          <text>{cell}</text>
        </inputEntry>
        <outputEntry id="LiteralExpression_big"><text>{output}</text></outputEntry>{second_entry}
      </rule>
    </decisionTable>
  </decision>
"""


def table(**changes: str) -> str:
    """The one-rule decision `score`, with some of its parts changed."""
    parts = {
        "policy": "UNIQUE",
        "aggregation": "",
        "type_ref": "double",
        "language": "",
        "expression": "amount",
        "second_output": "",
        "cell": "&gt; 1000",
        "entry_language": "",
        "output": '"A"',
        "second_entry": "",
    }
    return TABLE.format(**{**parts, **changes})


def problems(dmn: str, bpmn: str | None = None) -> list[Problem]:
    try:
        parse_definitions({"processes/run.bpmn": bpmn} if bpmn else {}, {DMN: HEAD + dmn + "</definitions>\n"})
    except ConfigError as exc:
        return exc.problems
    return []


def line_of(dmn: str, marker: str) -> int:
    return next(n for n, line in enumerate((HEAD + dmn).splitlines(), 1) if marker in line)


@pytest.mark.parametrize(
    ("changes", "marker", "message"),
    [
        (
            {"cell": 'matches(?, "^A")'},
            "matches(",
            "rule 1 (Rule_big), input 1 'Amount': cell 'matches(?, \"^A\")' cannot be evaluated: "
            "not FEEL (unexpected '?, \"^A\")' at position 9) nor a Python test "
            "(matches() is neither a FEEL function this engine reads nor a Python builtin)",
        ),
        (
            {"cell": "[1000.."},
            "[1000..",
            "rule 1 (Rule_big), input 1 'Amount': cell '[1000..' cannot be evaluated: not FEEL (expected a value",
        ),
        (
            {"cell": "&gt; 1000", "entry_language": ' expressionLanguage="javascript"'},
            'id="UnaryTests_big"',
            "expressionLanguage 'javascript' is not supported",
        ),
        (
            {"expression": "${amount * 2}"},
            "${amount * 2}",
            "input 1 'Amount': input expression '${amount * 2}' cannot "
            "be evaluated: JUEL '${amount * 2}' is more than a variable or a dotted path",
        ),
        ({"type_ref": "money"}, 'id="InputExpression_amount"', "input 1 'Amount': typeRef 'money' is not one of"),
        (
            {"output": 'upper("a")'},
            'upper("a")',
            "rule 1 (Rule_big), output 1 'grade': cell 'upper(\"a\")' cannot be evaluated",
        ),
        (
            {"policy": "PRIORITY"},
            'id="DecisionTable_score"',
            "hitPolicy PRIORITY ranks rules by the outputs' output "
            "values: give at least one output a list of output values",
        ),
        (
            {"cell": "${cellInput &gt; 5}", "entry_language": ' expressionLanguage="juel"'},
            "${cellInput",
            "JUEL input entries are not supported: write FEEL unary tests",
        ),
        (
            {"policy": "RULE ORDER", "aggregation": ' aggregation="SUM"'},
            'id="DecisionTable_score"',
            "aggregation 'SUM' needs hitPolicy COLLECT",
        ),
        (
            {
                "policy": "COLLECT",
                "aggregation": ' aggregation="SUM"',
                "second_output": '\n      <output id="Output_note" name="note" typeRef="string" />',
                "second_entry": '<outputEntry id="LiteralExpression_note"><text>"x"</text></outputEntry>',
            },
            'id="DecisionTable_score"',
            "aggregation SUM works on one output, the table has 2",
        ),
    ],
)
def test_cell_or_table_the_engine_cannot_evaluate_is_refused_at_check(
    changes: dict[str, str], marker: str, message: str
) -> None:
    dmn = table(**changes)

    found = problems(dmn)

    assert [(p.file, p.line, p.element) for p in found] == [(DMN, line_of(dmn, marker), "score")], found
    assert message in found[0].message


def test_a_literal_that_can_never_match_the_inputs_type_is_refused() -> None:
    dmn = table(cell='"1000", 2000')

    [problem] = problems(dmn)

    assert (problem.line, problem.element) == (line_of(dmn, '"1000", 2000'), "score")
    assert problem.message == (
        "rule 1 (Rule_big), input 1 'Amount': cell '\"1000\", 2000' compares with '1000' (text), but the input's "
        "typeRef is double: the rule could never match"
    )


def test_a_literal_output_its_type_ref_refuses_is_refused() -> None:
    dmn = table(output='"A+"').replace('name="grade" typeRef="string"', 'name="grade" typeRef="integer"')

    [problem] = problems(dmn)

    assert (problem.line, problem.element) == (line_of(dmn, '"A+"'), "score")
    assert problem.message == "rule 1 (Rule_big), output 1 'grade': cell '\"A+\"': 'A+' (text) is not a valid integer"


def test_required_decision_of_another_file_is_refused() -> None:
    dmn = table().replace(
        '<decision id="score" name="Score">',
        '<decision id="score" name="Score">\n'
        '    <informationRequirement id="Requirement_x">'
        '<requiredDecision href="other.dmn#grade" /></informationRequirement>',
    )

    [problem] = problems(dmn)

    assert (problem.line, problem.element) == (line_of(dmn, "other.dmn#grade"), "score")
    assert "requiredDecision href 'other.dmn#grade': only a decision of the same file" in problem.message


@pytest.mark.parametrize(
    ("cell", "output", "amount", "expected"),
    [
        ("1000 &lt; ? &lt;= 5000", '"mid"', 5000, {"grade": "mid"}),
        ("1000 &lt; ? &lt;= 5000", '"mid"', 1000, {}),
        ("in (1, 2, 3)", "amount * 10", 2, {"grade": "20"}),  # the output's typeRef is string
        ("? % 2 == 0", "str(amount)", 4, {"grade": "4"}),
        ("cellInput &gt; limit", '"over"', 11, {"grade": "over"}),
    ],
)
def test_python_cells_of_older_bundles_still_run(cell: str, output: str, amount: int, expected: dict[str, Any]) -> None:
    dmn = HEAD + table(cell=cell, output=output, type_ref="integer") + "</definitions>\n"
    bpmn = business_rule_process("run", "score", None, None)
    blob = parse_definitions({"processes/run.bpmn": bpmn}, {DMN: dmn})["run"].blob

    runtime, _ = Runtime.start(1, blob, {"amount": amount, "limit": 10})

    assert runtime.is_completed()
    assert {k: v for k, v in runtime.data().items() if k == "grade"} == expected


def test_required_decisions_in_a_cycle_are_refused() -> None:
    requirement = (
        '    <informationRequirement id="Requirement_{0}"><requiredDecision href="#{0}" /></informationRequirement>'
    )
    dmn = table().replace(
        '<decision id="score" name="Score">', '<decision id="score" name="Score">\n' + requirement.format("grade")
    )
    dmn += (
        '  <decision id="grade" name="Grade">\n' + requirement.format("score") + "\n"
        '    <literalExpression id="LiteralExpression_grade"><text>"A"</text></literalExpression>\n'
        "  </decision>\n"
    )

    messages = {(p.element, p.message) for p in problems(dmn)}

    assert messages == {
        ("score", "required decisions form a cycle: score -> grade -> score"),
        ("grade", "required decisions form a cycle: grade -> score -> grade"),
    }


def test_a_decision_with_logic_other_than_a_table_or_literal_expression_is_refused() -> None:
    dmn = '  <decision id="offer" name="Offer">\n    <context id="Context_1" />\n  </decision>\n'

    [problem] = problems(dmn)

    assert (problem.line, problem.element) == (line_of(dmn, 'id="offer"'), "offer")
    assert "must hold one decision table or one literal expression, found: context" in problem.message


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        ("", "bpmn:businessRuleTask needs camunda:decisionRef, the id of a decision in processes/*.dmn"),
        (
            'camunda:decisionRef="scores"',
            "camunda:decisionRef 'scores': no such decision in processes/*.dmn (known: score)",
        ),
        ('camunda:decisionRef="${which}"', "camunda:decisionRef '${which}': an expression cannot be resolved"),
        (
            'camunda:decisionRef="score" camunda:resultVariable="r" camunda:mapDecisionResult="firstEntry"',
            "camunda:mapDecisionResult 'firstEntry' is not one of "
            "singleEntry, singleResult, collectEntries, resultList",
        ),
        (
            'camunda:decisionRef="score" camunda:mapDecisionResult="singleEntry"',
            "camunda:mapDecisionResult 'singleEntry' needs camunda:resultVariable",
        ),
    ],
)
def test_business_rule_task_that_cannot_call_a_decision_is_refused_without_a_traceback(
    attributes: str, message: str
) -> None:
    bpmn = business_rule_process("run", "score", None, None).replace('camunda:decisionRef="score"', attributes)

    [problem] = problems(table(), bpmn)

    assert (problem.file, problem.element) == ("processes/run.bpmn", "Activity_decide")
    assert message in problem.message


def _mutations(text: str, rng: random.Random) -> list[str]:
    """Variants of a DMN text as a careless edit leaves it: a tag, attribute or cell dropped, cut or garbled."""
    variants = []
    for _ in range(12):
        at = rng.randrange(len(text))
        end = at + rng.randrange(1, 60)
        variants.append(text[:at] + text[end:])
        variants.append(text[:at] + rng.choice(['"', "<", "..", "[", "not(", "-", "${", "#", "'", ">"]) + text[at:])
    for old, new in (
        ('hitPolicy="', 'hitPolicy="X'),
        ("<text>", "<text>?? "),
        ('href="#', 'href="'),
        ('typeRef="', 'typeRef="x'),
        ("<inputEntry", "<outputEntry"),
        ("</rule>", "</rule><rule>"),
    ):
        variants.append(text.replace(old, new, 1))
    return variants


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.dmn")), ids=lambda p: p.name)
def test_mutated_dmn_gives_problems_or_runs_never_a_traceback(path: Path) -> None:
    rng = random.Random(path.name)  # noqa: S311 - reproducible mutations, not secrets
    refused = []
    for variant in _mutations(path.read_text(encoding="utf-8"), rng):
        try:
            parse_definitions({}, {f"processes/{path.name}": variant})
        except ConfigError as exc:  # anything else fails the test with its traceback
            refused.append(exc.problems)

    assert refused
    assert all(found and all(p.file == f"processes/{path.name}" and p.message for p in found) for found in refused)
