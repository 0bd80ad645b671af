"""`set` and `compute` of record fields in BPMN and processes/bindings.yaml, with one meaning each as in the YAML
actions (docs/rules.md, "Actions"): `set.<field>` holds a literal value, `compute.<field>` an expression.

`set.<field>` used to hold an expression. Such an old value keeps running as an expression, and `flowcrm check`
warns with the replacement. A value is read as an old expression when it parses as one and uses something only an
expression has (a quoted text, a call, a condition, an operator, an index); a word, a number, a date or a code
(`won`, `100`, `2026-12-31`, `in-progress`) is a literal.
"""

from __future__ import annotations

import ast
import re

from engine.messages import Message

SET_PREFIX, COMPUTE_PREFIX = "set.", "compute."
_LITERAL = re.compile(r"\s*[A-Za-z0-9+-][A-Za-z0-9_.:+-]*\s*")  # a word, number, date, time or code
_EXPRESSION_ONLY = (
    ast.Call,
    ast.IfExp,
    ast.Compare,
    ast.BoolOp,
    ast.BinOp,
    ast.Subscript,
    ast.Attribute,
    ast.Dict,
    ast.List,
    ast.Tuple,
    ast.Set,
    ast.Lambda,
    ast.JoinedStr,
)


def old_expression(value: str) -> bool:
    """Whether a `set.<field>` text is an expression written before `set` meant a literal value."""
    if _LITERAL.fullmatch(value):
        return False
    try:
        tree = ast.parse(value.strip(), mode="eval")
    except SyntaxError:
        return False
    return any(
        isinstance(node, _EXPRESSION_ONLY) or (isinstance(node, ast.Constant) and isinstance(node.value, str))
        for node in ast.walk(tree)
    )


def replacement(field: str, expression: str, *, yaml: bool = False) -> str:
    """What an old `set.<field>` expression is written as now: `set.<field>` with the text a quoted constant
    gives, else `compute.<field>` with the same expression (`yaml`: as processes/bindings.yaml writes them)."""
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError:
        tree = None
    if tree is not None and isinstance(tree.body, ast.Constant) and isinstance(tree.body.value, str):
        return f"set: {{{field}: {tree.body.value}}}" if yaml else f"{SET_PREFIX}{field} = {tree.body.value}"
    return f"compute: {{{field}: {expression!r}}}" if yaml else f"{COMPUTE_PREFIX}{field} = {expression}"


def old_set_warning(field: str, expression: str, *, yaml: bool = False) -> Message:
    """The warning of an old `set.<field>` expression, naming its replacement."""
    return Message("bpmn.old_set_expression", prefix=SET_PREFIX, field=field, expression=expression,
                   replacement=replacement(field, expression, yaml=yaml))
