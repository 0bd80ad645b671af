"""Which expressions are evaluated in the caller's process, without a round trip to a sandbox worker.

Gateway conditions, DMN cells, constant timer values and most rule conditions are comparisons of names with
constants (`amount > 1000 and region in ("EU", "US")`, `"PT4H"`). Such an expression cannot run unbounded:

- Its syntax tree holds only names, constants, subscripts by one index, tuple/list/set displays, unary operators,
  comparisons, `and`/`or`/`not` and conditional expressions (`a if test else b`: the test and one branch, each
  of these kinds), and its text is at most MAX_SOURCE characters. There are no calls, binary
  operators (`*`, `**`, `%`, `<<`...), f-strings, slices, attributes, comprehensions, lambdas or assignments.
- So nothing loops but the built-in comparison, hashing and indexing of the values involved, and nothing builds
  a value larger than the expression itself: a display has at most as many items as the source has characters.
- Each value is a constant of the source (its size bounded by MAX_SOURCE) or a variable of task/record data,
  whose stored size is bounded (scripts cannot store more than sandbox MAX_ITEMS, counted with repetition).
  Comparing, hashing or testing membership of two values walks them at most once: the work of the whole
  expression is at most (number of nodes) x (size of the data), and memory does not grow beyond a display.
- The one call allowed is of a helper the caller names (engine code such as `working_hours(4)`, bounded by its
  own contract and documented there), with plain arguments of the kinds above: no keywords, no unpacking.
- One method call is allowed: `name.get(constant)` or `name.get(constant, constant)` (a record field read with
  a default, `record.get('request_type')`). Of the values task and record data can hold (JSON values, dates,
  decimals: what the serializer stores and a worker can send back), only a dict has `get`, which hashes the
  constant once; on anything else the attribute lookup raises at once.
- Membership of a text in a text uses CPython's adaptive search (two-way when the plain one works too hard),
  linear in the text. Unary minus/plus/invert on a number is linear in its digits; on anything else it
  raises at once. Comparison nesting deeper than the interpreter's recursion limit raises RecursionError.

Everything else — scripts, calls, arithmetic — goes to a worker process where the OS enforces the limits.
`tests/unit/test_bounded_corpus.py` runs the payload corpus and checks which ones take this path.
"""

from __future__ import annotations

import ast
import functools
from typing import Final

MAX_SOURCE: Final = 2000
_ALLOWED: Final = (
    ast.Expression,
    ast.Name,
    ast.Load,
    ast.Constant,
    ast.Tuple,
    ast.List,
    ast.Set,
    ast.Subscript,
    ast.UnaryOp,
    ast.unaryop,
    ast.Compare,
    ast.cmpop,
    ast.BoolOp,
    ast.boolop,
    ast.IfExp,
)


@functools.lru_cache(maxsize=4096)
@functools.lru_cache(maxsize=1024)  # a pure function of its arguments, asked once per evaluation of the same condition
def is_bounded(source: str, helpers: frozenset[str] = frozenset()) -> bool:
    """True if evaluating `source` provably ends in time linear in its data (see the module docstring);
    `helpers` are the names of bounded functions it may call."""
    if len(source) > MAX_SOURCE:
        return False
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    lookups: set[int] = set()  # the `name.get` of an allowed `name.get(constant)` call
    for node in ast.walk(tree):  # breadth first: a call comes before its function
        if id(node) in lookups:
            continue  # its name and context are walked like the rest
        if isinstance(node, ast.Call):
            if _is_get(node):
                lookups.add(id(node.func))
                continue
            if not (isinstance(node.func, ast.Name) and node.func.id in helpers) or node.keywords:
                return False
            continue  # its arguments are walked like the rest; a starred one is refused (not in _ALLOWED)
        if not isinstance(node, _ALLOWED):
            return False
        if isinstance(node, ast.Subscript) and not isinstance(node.slice, ast.Name | ast.Constant | ast.UnaryOp):
            return False  # one index or key, never a slice (a copy) or a computed one
    return True


def _is_get(node: ast.Call) -> bool:
    """`name.get(constant)` or `name.get(constant, constant)`: a dict lookup with a default."""
    func = node.func
    return (
        isinstance(func, ast.Attribute)
        and func.attr == "get"
        and isinstance(func.value, ast.Name)
        and not node.keywords
        and 1 <= len(node.args) <= 2
        and all(isinstance(a, ast.Constant) for a in node.args)
    )
