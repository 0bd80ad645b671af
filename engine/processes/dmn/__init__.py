"""The engine's own DMN evaluator: FEEL unary tests without eval, every Camunda 7 hit policy, decision
requirement graphs, Camunda's result mappings. `flowcrm check` refuses what it cannot evaluate."""

from __future__ import annotations

import functools
from typing import Any

from engine.errors import ConfigError, FlowError
from engine.processes.dmn.evaluation import MAPPINGS, Result, evaluate, map_result, merged
from engine.processes.dmn.model import Decision
from engine.processes.dmn.reading import read_decisions
from engine.processes.dmn.values import DecisionFailure


@functools.lru_cache(maxsize=64)
def decisions_in(path: str, text: str) -> dict[str, Decision]:
    """The decisions of a DMN file's text, compiled once per content; a broken file raises ConfigError."""
    from lxml import etree

    try:
        tree = etree.fromstring(text.encode())
    except etree.XMLSyntaxError as exc:
        raise FlowError(f"{path}: not well-formed XML: {exc}") from exc
    decisions, problems = read_decisions(tree, path)
    if problems:
        raise ConfigError(problems)
    return decisions


def decide(
    path: str,
    text: str,
    decision_id: str,
    data: dict[str, Any],
    result_variable: str | None = None,
    mapping: str | None = None,
) -> dict[str, Any]:
    """The variables a businessRuleTask sets: `{result_variable: mapped result}` (Camunda), or without one the
    outputs themselves (one value per output; a list per output for multi-hit tables)."""
    decisions = decisions_in(path, text)
    result = evaluate(decisions, decision_id, data)
    if result_variable:
        return {result_variable: map_result(result, mapping or "resultList", decision_id)}
    return merged(decisions[decision_id], result)


__all__ = [
    "MAPPINGS",
    "Decision",
    "DecisionFailure",
    "Result",
    "decide",
    "decisions_in",
    "evaluate",
    "map_result",
    "read_decisions",
]
