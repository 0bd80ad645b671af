"""Static checks of rule expressions (simpleeval syntax, known names) and ISO 8601 durations."""

from __future__ import annotations

import ast
import re
from collections.abc import Collection
from datetime import timedelta
from typing import Any

from simpleeval import EvalWithCompoundTypes  # type: ignore[import-untyped,unused-ignore]

from engine.messages import Message, sentence

FUNCTION_NAMES: tuple[str, ...] = ("len", "min", "max", "abs", "round", "lower", "upper", "days_since")
# `today` and `owner` are seen by every expression; `linked` only by rules with a linked_* trigger.
COMMON_NAMES: tuple[str, ...] = ("today", "owner")
LINKED_NAME = "linked"

_INTERPRETER = EvalWithCompoundTypes()
# What the documented expression language uses; simpleeval must also support each node (checked below).
_ALLOWED_NODES: tuple[type[ast.AST], ...] = (
    ast.BoolOp,
    ast.BinOp,
    ast.UnaryOp,
    ast.Compare,
    ast.IfExp,
    ast.Call,
    ast.keyword,
    ast.Constant,
    ast.Name,
    ast.Subscript,
    ast.Slice,
    ast.List,
    ast.Tuple,
    ast.Set,
    ast.Dict,
    ast.ListComp,
    ast.GeneratorExp,
    ast.DictComp,
    ast.JoinedStr,
    ast.FormattedValue,
)
_SUPPORTED_NODES = tuple(node for node in _ALLOWED_NODES if node in _INTERPRETER.nodes)
_OPERATORS = (ast.operator, ast.unaryop, ast.cmpop)
_SUPPORTED_OPERATORS = tuple(_INTERPRETER.operators)
# Parts of other nodes; `arguments` only occurs inside a lambda, which is refused itself.
_PLUMBING = (ast.Expression, ast.expr_context, ast.boolop, ast.comprehension, ast.arguments, ast.arg)

_DURATION = re.compile(
    r"P(?:(?P<weeks>\d+)W|(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?)"
)


def parse_duration(text: Any) -> timedelta | None:
    """The length of an ISO 8601 duration (PnW or PnDTnHnMnS; no months or years); None if not one."""
    match = _DURATION.fullmatch(text) if isinstance(text, str) else None
    if match is None or text == "P":
        return None
    parts = {key: float(value) for key, value in match.groupdict().items() if value is not None}
    return timedelta(**parts)


def duration_problem(text: Any) -> Message | None:
    """Why `text` is not a usable (positive) duration, or None."""
    length = parse_duration(text)
    if length is None:
        return Message("config.not_duration", value=repr(text))
    return None if length > timedelta(0) else Message("config.duration_not_positive", value=repr(text))


def _node_problem(node: ast.AST) -> Message | None:
    if isinstance(node, _OPERATORS):
        ok = isinstance(node, _SUPPORTED_OPERATORS)
        return None if ok else Message("config.expression_operator", operator=type(node).__name__)
    if isinstance(node, (*_PLUMBING, *_SUPPORTED_NODES)):
        return None
    if isinstance(node, ast.Attribute):
        return Message("config.expression_attribute", attribute=node.attr)
    return Message("config.expression_construct", construct=type(node).__name__)


def _bound_names(tree: ast.AST) -> set[str]:
    """Names bound by comprehensions (`t` in `[t for t in tags]`)."""
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}


def expression_names(expression: Any) -> set[str]:
    """The names an expression reads (fields, let names, functions); empty when it does not parse."""
    try:
        tree = ast.parse(str(expression).strip(), mode="eval")
    except SyntaxError:
        return set()
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}


def expression_problems(expression: Any, names: Collection[str]) -> list[Message]:
    """Why `expression` cannot run: it does not parse, uses what simpleeval refuses or reads an unknown name."""
    if not isinstance(expression, str) or not expression.strip():
        return [Message("config.expression_not_text")]
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as error:  # Python's own wording of the syntax error, in English
        return [Message("config.expression_syntax", detail=sentence(error.msg, "python"))]
    problems = [problem for node in ast.walk(tree) if (problem := _node_problem(node))]
    if problems:  # names inside a refused construct would only repeat the problem
        return list(dict.fromkeys(problems))
    known = {*names, *_bound_names(tree)}
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)]
    for call in calls:
        if not (isinstance(call.func, ast.Name) and call.func.id in FUNCTION_NAMES):
            what = call.func.id if isinstance(call.func, ast.Name) else ast.unparse(call.func)
            problems.append(Message("config.expression_function", name=what, functions=", ".join(FUNCTION_NAMES)))
    functions = {id(call.func) for call in calls}
    unknown = sorted(
        {
            node.id
            for node in ast.walk(tree)
            if isinstance(node, ast.Name) and id(node) not in functions and node.id not in known
        }
    )
    problems.extend(Message("config.expression_name", name=name, known=", ".join(sorted(names))) for name in unknown)
    return list(dict.fromkeys(problems))
