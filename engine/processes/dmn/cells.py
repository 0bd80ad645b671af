"""Compiling one DMN cell: FEEL first, then a `${variable}` JUEL reference, then the engine's Python.

Camunda reads input entries as FEEL and input expressions / output entries as JUEL or FEEL; this engine also
accepts the Python cells it ran before (`1000 < ? <= 5000`, `in ("a", "b")`, `record.get('x')`). A cell that is
none of them is refused with the reason, so it is reported by `flowcrm check`, never found out at run time.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from typing import Any, TypeVar

from engine.messages import Joined, Message, MessageError
from engine.processes import sandbox
from engine.processes.dmn.feel import FeelSyntaxError, Test, Value, Variables, simple_value, unary_tests
from engine.processes.dmn.values import DecisionFailure

_T = TypeVar("_T")
INPUT = "cellInput"  # Camunda's name for the input value inside an input entry; `?` in Python cells
_JUEL = re.compile(r"^[$#]\{(.*)\}$", re.DOTALL)
_QUESTION = re.compile(r"\?(?=(?:[^'\"]|'[^']*'|\"[^\"]*\")*$)")  # a `?` outside quotes
_SANDBOX_LINE = re.compile(r"^Line \d+: ")
_BUILTINS = {
    "len",
    "abs",
    "float",
    "bool",
    "int",
    "str",
    "min",
    "max",
    "any",
    "all",
    "sorted",
    "list",
    "tuple",
    "set",
    "dict",
    "sum",
    "round",
    "range",
    "enumerate",
    "zip",
    "datetime",
    "date",
    "timedelta",
    "Decimal",
}
_FEEL = {
    "feel",
    "https://www.omg.org/spec/dmn/20191111/feel/",
    "http://www.omg.org/spec/feel/20140401",
    "https://www.omg.org/spec/feel/20140401",
    "http://www.omg.org/spec/dmn/20180521/feel/",
}


class CellRefused(MessageError):
    """Why a cell cannot be evaluated."""


def _joined(reasons: list[str]) -> str:
    """Reasons separated by "; ", each in the reader's language where it is a message."""
    return Joined("; ", reasons)


def language(name: str | None) -> str | None:
    """feel, juel or python for an expressionLanguage attribute; None when absent; refuses any other."""
    if not name:
        return None
    lowered = name.strip().lower()
    if lowered in _FEEL:
        return "feel"
    if lowered in ("juel", "python"):
        return lowered
    raise CellRefused(Message("dmn.language_unsupported", name=name))


def _reason(exc: object) -> str:
    """The reason of a refusal: its Message, or its text."""
    return exc.message if isinstance(exc, MessageError) and exc.message is not None else str(exc)


def _python(source: str) -> Value:
    def run(variables: Variables) -> Any:
        return sandbox.evaluate(source, dict(variables))

    return run


def _refusals(source: str) -> list[str]:
    """Why the sandbox would refuse a Python cell, or why it would fail on every run: a call of a function that
    is neither a sandbox builtin nor anything task data can hold (FEEL's `contains(...)` read as Python)."""
    refusals = [_SANDBOX_LINE.sub("", r) for r in sandbox.check(source, "eval")]
    if refusals:
        return refusals
    calls = {
        node.func.id
        for node in ast.walk(ast.parse(source.strip(), mode="eval"))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    return [Message("dmn.unknown_function", name=name) for name in sorted(calls - _BUILTINS)]


def _juel(text: str) -> Value:
    match = _JUEL.match(text)
    if match is None:
        raise CellRefused(Message("dmn.not_juel"))
    try:
        return simple_value(match.group(1).strip())
    except FeelSyntaxError as exc:
        raise CellRefused(Message("dmn.juel_too_complex", text=text)) from exc


def _feel(compile_feel: Callable[[str], _T], text: str, lang: str | None, what: Message) -> _T | FeelSyntaxError:
    """The cell compiled as FEEL; when no language was declared, the FEEL error to name if Python fails too."""
    try:
        return compile_feel(text)
    except FeelSyntaxError as exc:
        if lang is not None:
            raise CellRefused(Message("dmn.not_readable", what=what, reason=_reason(exc))) from exc
        return exc


def value(text: str, lang: str | None) -> Value:
    """An input expression, output entry or literal expression."""
    if lang in (None, "juel") and _JUEL.match(text):
        return _juel(text)
    feel: Value | FeelSyntaxError = FeelSyntaxError()  # the compiled cell, or why FEEL refused it
    if lang in (None, "feel", "juel"):
        feel = _feel(simple_value, text, lang, Message("dmn.what_value", language=(lang or "feel").upper()))
        if not isinstance(feel, FeelSyntaxError):
            return feel
    refusals = _refusals(text)
    if refusals:
        raise CellRefused(Message("dmn.neither_feel_nor_python", feel=_reason(feel), python=_joined(refusals))
                          if lang is None else _joined(refusals))
    return _python(text)


def _repeats_input(expression: str, cell: str) -> bool:
    """True if a cell is a whole comparison that contains the input expression again (`amount > 1000`)."""
    try:
        wanted = ast.dump(ast.parse(expression, mode="eval").body)
        cell_tree = ast.parse(cell, mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return isinstance(cell_tree, ast.Compare | ast.BoolOp) and any(
        ast.dump(node) == wanted for node in ast.walk(cell_tree)
    )


def _python_test(source: str) -> Test:
    def test(given: Any, variables: Variables) -> bool:
        result = sandbox.evaluate(source, {**variables, INPUT: given})
        if not isinstance(result, bool):
            raise DecisionFailure(f"the Python cell gave {result!r}, not true or false")  # at run time: English
        return result

    return test


def test(text: str, lang: str | None, input_text: str) -> Test:
    """An input entry: FEEL unary tests, or a Python test of the input (`? > 5`, `in (...)`, `"a"`)."""
    feel: Test | FeelSyntaxError = FeelSyntaxError()  # the compiled cell, or why FEEL refused it
    if lang in (None, "feel"):
        feel = _feel(unary_tests, text, lang, Message("dmn.what_unary_tests"))
        if not isinstance(feel, FeelSyntaxError):
            return feel
    if lang == "juel":
        raise CellRefused(Message("dmn.juel_input_entry"))
    if input_text and _repeats_input(input_text, text):
        raise CellRefused(Message("dmn.repeats_input", input=input_text))
    if _QUESTION.search(text) or re.search(rf"\b{INPUT}\b", text):  # the cell names the input itself
        candidates = [_QUESTION.sub(INPUT, text)]
    else:  # a value compared with ==, or a test missing its left side (`> 1000`, `in ("a", "b")`)
        candidates = [f"{INPUT} == ({text})", f"{INPUT} {text}"]
    for source in candidates:
        if not _refusals(source):
            return _python_test(source)
    why = _joined(_refusals(candidates[0]))
    if lang is None:
        raise CellRefused(Message("dmn.neither_feel_nor_python_test", feel=_reason(feel), python=why))
    raise CellRefused(why)
