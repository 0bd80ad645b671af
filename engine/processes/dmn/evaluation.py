"""Evaluating decisions as Camunda 7 does: hit policies, aggregations, required decisions, result mappings."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from engine.errors import FlowError
from engine.messages import Message
from engine.processes.dmn.model import Decision, Literal, Rule, Table
from engine.processes.dmn.values import DecisionFailure, compare, convert, equal, stored

Result = list[dict[str, Any]]  # one dict of output name -> value per matched rule (Camunda's DmnDecisionResult)
MAPPINGS = ("singleEntry", "singleResult", "collectEntries", "resultList")


def evaluate(decisions: Mapping[str, Decision], decision_id: str, variables: Mapping[str, Any]) -> Result:
    """Evaluate a decision (its required decisions first) over process variables."""
    if decision_id not in decisions:
        raise DecisionFailure(f"no decision {decision_id!r} (known: {', '.join(sorted(decisions)) or 'none'})")
    return _evaluate(decisions, decisions[decision_id], variables, {})


def _evaluate(
    decisions: Mapping[str, Decision], decision: Decision, variables: Mapping[str, Any], done: dict[str, Result]
) -> Result:
    context = dict(variables)
    for required in decision.required:
        if required not in done:
            done[required] = _evaluate(decisions, decisions[required], variables, done)
        context.update(_as_variables(decisions[required], done[required]))
    try:
        if isinstance(decision.logic, Literal):
            value = convert(decision.logic.type_ref, decision.logic.value(context))
            return [{decision.logic.name: stored(value)}]
        return _table(decision, decision.logic, context)
    except DecisionFailure as exc:
        raise DecisionFailure(Message("runtime.decision", decision=repr(decision.id), file=decision.file,
                                      detail=str(exc))) from exc


def _as_variables(decision: Decision, result: Result) -> dict[str, Any]:
    """A required decision's outputs as the requiring decision reads them: a value, or a list of values when
    its table returns several rules."""
    if isinstance(decision.logic, Literal):
        return dict(result[0])
    names = [o.name for o in decision.logic.outputs]
    if decision.logic.multi_hit:
        return {name: [r[name] for r in result if name in r] for name in names}
    return {name: (result[0].get(name) if result else None) for name in names}


def _where(rule: Rule) -> str:
    return f"rule {_rule(rule)}"


def _rule(rule: Rule) -> str:
    return f"{rule.index}" + (f" ({rule.id})" if rule.id else "")


def _matches(table: Table, context: dict[str, Any]) -> list[Rule]:
    values = []
    for number, clause in enumerate(table.inputs, 1):
        try:
            values.append(convert(clause.type_ref, clause.read(context)))
        except FlowError as exc:
            raise DecisionFailure(Message("runtime.decision_input", number=number, label=repr(clause.label),
                                          text=clause.text, detail=str(exc))) from exc
    matched = []
    for rule in table.rules:
        for number, (test, given) in enumerate(zip(rule.tests, values, strict=True), 1):
            try:
                if not test(given, context):
                    break
            except FlowError as exc:
                raise DecisionFailure(Message("runtime.rule_input", rule=_rule(rule), number=number,
                                              label=repr(table.inputs[number - 1].label), detail=str(exc))) from exc
        else:
            matched.append(rule)
            if table.hit_policy == "FIRST":
                break
    return matched


def _outputs(table: Table, rule: Rule, context: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for clause, value in zip(table.outputs, rule.outputs, strict=True):
        if value is None:
            continue  # an empty output entry is left out of the result, as Camunda does
        try:
            out[clause.name] = stored(convert(clause.type_ref, value(context)))
        except FlowError as exc:
            raise DecisionFailure(Message("runtime.rule_output", rule=_rule(rule), name=repr(clause.name),
                                          detail=str(exc))) from exc
    return out


def _priority(table: Table, out: dict[str, Any]) -> tuple[int, ...]:
    """Lower is higher priority: each ranked output's position in its output values (unlisted: last)."""
    ranks = []
    for clause in table.outputs:
        if clause.priorities:
            value = out.get(clause.name)
            ranks.append(next((i for i, p in enumerate(clause.priorities) if equal(value, p)), len(clause.priorities)))
    return tuple(ranks)


def _table(decision: Decision, table: Table, context: dict[str, Any]) -> Result:
    matched = _matches(table, context)
    results = [_outputs(table, rule, context) for rule in matched]
    rules = ", ".join(_where(rule) for rule in matched)
    if table.hit_policy == "UNIQUE" and len(matched) > 1:
        raise DecisionFailure(Message("runtime.unique_many", count=len(matched), rules=rules))
    if table.hit_policy == "ANY" and any(r != results[0] for r in results[1:]):
        raise DecisionFailure(Message("runtime.any_differ", rules=rules))
    if table.hit_policy in ("ANY", "UNIQUE", "FIRST"):
        return results[:1]
    if table.hit_policy in ("PRIORITY", "OUTPUT ORDER"):
        ranked = sorted(results, key=lambda out: _priority(table, out))  # stable: rule order breaks ties
        return ranked[:1] if table.hit_policy == "PRIORITY" else ranked
    if table.aggregation:
        return _aggregate(table, results)
    return results


def _aggregate(table: Table, results: Result) -> Result:
    name = table.outputs[0].name
    values = [r[name] for r in results if r.get(name) is not None]
    if table.aggregation == "COUNT":
        return [{name: len(values)}]
    if not values:
        return []
    for value in values:
        if table.aggregation == "SUM" and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise DecisionFailure(f"aggregation SUM needs numbers, output {name!r} gave {value!r}")
    if table.aggregation == "SUM":
        return [{name: sum(values)}]
    pick = functools.cmp_to_key(compare)
    return [{name: min(values, key=pick) if table.aggregation == "MIN" else max(values, key=pick)}]


def map_result(result: Result, mapping: str, decision_id: str) -> Any:
    """The value camunda:mapDecisionResult stores in camunda:resultVariable (resultList when not given)."""
    if mapping == "resultList":
        return [dict(r) for r in result]
    if mapping == "collectEntries":
        names = {name for r in result for name in r}
        if len(names) > 1:
            raise DecisionFailure(
                f"decision {decision_id!r}: mapDecisionResult collectEntries needs results with "
                f"one output, they have {', '.join(sorted(names))}"
            )
        return [value for r in result for value in r.values()]
    if len(result) > 1:
        raise DecisionFailure(
            f"decision {decision_id!r}: mapDecisionResult {mapping} needs at most one result, "
            f"the decision gave {len(result)}"
        )
    if mapping == "singleResult":
        return dict(result[0]) if result else None
    if result and len(result[0]) > 1:
        raise DecisionFailure(
            f"decision {decision_id!r}: mapDecisionResult singleEntry needs one output, the "
            f"result has {', '.join(result[0])}"
        )
    return next(iter(result[0].values()), None) if result else None


def merged(decision: Decision, result: Result) -> dict[str, Any]:
    """What a businessRuleTask without camunda:resultVariable merges into the task data (the engine's own
    shape, kept from before): the outputs of the one result, or for multi-hit tables a list per output."""
    if isinstance(decision.logic, Table) and decision.logic.multi_hit:
        return _as_variables(decision, result) if result else {}
    return dict(result[0]) if result else {}
