"""The sandbox policy: RestrictedPython compilation of BPMN scripts, conditions, timer expressions and DMN cells,
with few builtins and guards on what builds huge values. A deadline check compiled into every loop turn,
comprehension step and call bounds time in any thread (unlike signals) and survives a bare `except:` (unlike
sys.settrace). What one built-in operation does in C (`max()` over a huge list) no check here can stop:
`sandbox` runs such code in a worker process whose CPU time and memory the OS limits (engine.limits).
"""

from __future__ import annotations

import ast
import decimal
import functools
import operator
import re
import textwrap
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from types import CodeType, FunctionType, SimpleNamespace
from typing import Any, Final

from RestrictedPython.compile import compile_restricted_eval, compile_restricted_exec
from RestrictedPython.Guards import full_write_guard, guarded_unpack_sequence, raise_, safer_getattr
from RestrictedPython.transformer import RestrictingNodeTransformer, copy_locations

from engine.errors import SandboxError
from engine.messages import Message

MAX_ITEMS: Final = 1_000_000  # elements of a collection, characters of a string, built in one step
MAX_EXPONENT: Final = 10_000
MAX_INT_BITS: Final = 100_000  # about 30,000 decimal digits
MAX_DECIMAL_EXPONENT: Final = 10_000
_FILENAME: Final = "<sandbox>"
_NEVER: Final = float("inf")

_safer_getattr: Callable[..., Any] = safer_getattr
_unpack: Callable[..., list[Any]] = guarded_unpack_sequence

_REFUSED_NODES: Final[tuple[tuple[type[ast.AST] | tuple[type[ast.AST], ...], str], ...]] = (
    ((ast.Import, ast.ImportFrom), "imports are not allowed"),
    (ast.ClassDef, "class definitions are not allowed"),
    ((ast.Yield, ast.YieldFrom), "generators (yield) are not allowed"),
    ((ast.Global, ast.With), "{} statements are not allowed"),
)
# Refused when compiled, so `flowcrm check` reports them. Other builtins (open, type...) are just not provided.
_DENIED_NAMES: Final = frozenset(
    {"exec", "eval", "compile", "globals", "locals", "vars", "getattr", "setattr", "delattr", "hasattr"}
    | {"breakpoint", "memoryview", "super", "printed"}
)
# `format` reaches attributes through "{0.__class__}"; `mro` reaches `object`.
_DENIED_ATTRIBUTES: Final = frozenset({"format", "format_map", "mro"})
_GUARDED_OPERATORS: Final = {ast.Add: "+", ast.Mult: "*", ast.Pow: "**", ast.LShift: "<<", ast.Mod: "%", ast.BitOr: "|"}
_OPERATOR_NAMES: Final = {"+": "add", "-": "sub", "*": "mul", "/": "truediv", "//": "floordiv", "%": "mod", "**": "pow"}
_OPERATOR_NAMES.update({"<<": "lshift", ">>": "rshift", "|": "or", "^": "xor", "&": "and", "@": "matmul"})
_OPERATORS: Final[dict[str, Callable[[Any, Any], Any]]] = {
    symbol + suffix: getattr(operator, f"__{prefix}{name}__")
    for symbol, name in _OPERATOR_NAMES.items()
    for suffix, prefix in (("", ""), ("=", "i"))  # `x += y` arrives as _inplacevar_("+=", x, y)
}
_HUGE_WIDTH = re.compile(r"\d{7,}")
_HUGE_PERCENT = re.compile(r"%[^a-zA-Z%]*?(\*|\d{7,})")


class _RefusedError(Exception):
    """A guard refused an operation; the message says which limit."""


class _TimeUp(BaseException):
    """Raised into sandboxed frames at the deadline; a BaseException so `except Exception` cannot keep it."""


def _refusal(node: ast.AST) -> str | None:
    for kinds, message in _REFUSED_NODES:
        if isinstance(node, kinds):
            return message.format(type(node).__name__.lower())
    if isinstance(node, ast.Name) and node.id in _DENIED_NAMES:
        return f'"{node.id}" is not allowed'
    if isinstance(node, ast.Attribute) and node.attr in _DENIED_ATTRIBUTES:
        return f'"{node.attr}" is not allowed' + ("; use an f-string" if node.attr != "mro" else "")
    if isinstance(node, ast.Starred) and isinstance(node.ctx, ast.Load):
        return "* unpacking is only allowed on the left of an assignment"
    if isinstance(node, ast.keyword) and node.arg is None:
        return "** unpacking of arguments is not allowed"
    if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store) and isinstance(node.slice, ast.Slice):
        return "slice assignment is not allowed"
    if isinstance(node, ast.FormattedValue) and isinstance(node.format_spec, ast.JoinedStr):
        parts = node.format_spec.values
        if not all(isinstance(part, ast.Constant) for part in parts):
            return "computed format specifications are not allowed"
        if _HUGE_WIDTH.search("".join(str(part.value) for part in parts if isinstance(part, ast.Constant))):
            return "format width is too large"
    return None


class _Policy(RestrictingNodeTransformer):
    """RestrictedPython's policy made stricter; routes growing operators and f-string values through guards."""

    def visit(self, node: ast.AST) -> Any:
        refusal = _refusal(node)
        if refusal is not None:
            self.error(node, refusal)
            return node
        if isinstance(node, ast.FormattedValue):
            node.value = self._guard_call("_shown_", [self.visit(node.value)], node)  # spec: constants only
            return node
        result = super().visit(node)
        if isinstance(result, ast.BinOp) and type(result.op) in _GUARDED_OPERATORS:
            symbol = ast.Constant(_GUARDED_OPERATORS[type(result.op)])
            return self._guard_call("_binop_", [symbol, result.left, result.right], node)
        if isinstance(result, ast.While | ast.For | ast.FunctionDef):
            # First in the body, outside any `try` in it: a bare `except:` inside cannot keep the loop going.
            tick = ast.Expr(self._guard_call("_tick_", [], result))
            copy_locations(tick, result)
            result.body.insert(0, tick)
        elif isinstance(result, ast.comprehension):
            result.ifs.insert(0, self._guard_call("_tick_", [], result.iter))
        elif isinstance(result, ast.Lambda):
            result.body = ast.BoolOp(ast.And(), [self._guard_call("_tick_", [], result), result.body])
            copy_locations(result.body, result)
        return result

    def _guard_call(self, guard: str, args: list[ast.expr], node: Any) -> ast.Call:
        call = ast.Call(func=ast.Name(guard, ast.Load()), args=args, keywords=[])
        copy_locations(call, node)
        return call


@functools.lru_cache(maxsize=2048)
def compile_source(source: str, mode: str) -> tuple[CodeType | None, tuple[str, ...]]:
    compiler = {"eval": compile_restricted_eval, "exec": compile_restricted_exec}[mode]
    source = source.strip() if mode == "eval" else textwrap.dedent(source)  # script bodies come indented in XML
    try:
        result = compiler(source, filename=_FILENAME, policy=_Policy)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        return None, (f"{type(exc).__name__}: {exc}",)
    return result.code, tuple(result.errors)


def _limit(what: str, size: int, limit: int = MAX_ITEMS) -> None:
    if size > limit:
        raise _RefusedError(f"{what} would be {size:,}, more than the {limit:,} allowed")


def _check_number(value: Any) -> Any:
    if isinstance(value, Decimal) and value.is_finite() and abs(value.adjusted()) > MAX_DECIMAL_EXPONENT:
        raise _RefusedError(f"the decimal exponent {value.adjusted():,} is out of range")
    return value


def _size(value: Any) -> int:
    return len(value) if isinstance(value, str | bytes | list | tuple | dict | set | frozenset | range) else 0


def _check_operation(symbol: str, left: Any, right: Any) -> None:
    """Refuses an operation whose result would be too big, before computing it."""
    ints = isinstance(left, int) and isinstance(right, int)
    if symbol == "**" and ints and right > 0 and abs(left) > 1:
        _limit("the exponent", right, MAX_EXPONENT)
        _limit("the power's bit length", left.bit_length() * right, MAX_INT_BITS)
    elif symbol == "<<" and ints:
        _limit("the shifted bit length", left.bit_length() + right, MAX_INT_BITS)
    elif symbol == "*" and ints:
        _limit("the product's bit length", left.bit_length() + right.bit_length(), MAX_INT_BITS)
    elif symbol == "*" and (isinstance(left, int) or isinstance(right, int)):
        count, sequence = (left, right) if isinstance(left, int) else (right, left)
        _limit("the repeated length", _size(sequence) * count)
    elif symbol in ("+", "|"):
        _limit("the combined length", _size(left) + _size(right))
    elif symbol == "%" and isinstance(left, str | bytes):
        text = left.decode("latin-1") if isinstance(left, bytes) else left
        if _HUGE_PERCENT.search(text):
            raise _RefusedError("'%' format widths must be literal and below 1,000,000")
        values = list(right.values()) if isinstance(right, dict) else list(right) if type(right) is tuple else [right]
        for value in values:
            _check_number(value)
        _limit("the formatted length", len(text) + text.count("%") * max(map(_text_size, values), default=0))


def _text_size(value: Any, budget: int = MAX_ITEMS) -> int:
    """About how long str(value) is, counted up to the budget: a list may hold a long string a million times."""
    total, stack = 0, [value]
    while stack and total <= budget:  # a stack, not recursion: nesting may be deep or circular
        item = stack.pop()
        if isinstance(item, list | tuple | set | frozenset | dict):
            total += 2 * len(item)
            stack.extend((item.items() if isinstance(item, dict) else item) if total <= budget else ())
        else:
            total += len(item) if isinstance(item, str | bytes) else 24
    return total


def _shown(value: Any) -> Any:
    _limit("the text length", _text_size(value))
    return value


class _Str(str):
    """`str`, whose constructor refuses to render a value that would be huge."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        return str(*(_shown(arg) for arg in args), **kwargs)


def _binop(symbol: str, left: Any, right: Any) -> Any:
    _check_operation(symbol.removesuffix("="), left, right)
    return _OPERATORS[symbol](left, right)


_deadline = threading.local()  # per thread: Flask serves requests in threads


def _tick() -> bool:
    """Runs at each loop turn, comprehension step and call of sandboxed code; raises _TimeUp past the deadline."""
    if time.monotonic() > getattr(_deadline, "at", _NEVER):
        raise _TimeUp
    return True


class _HugeRange:
    """A range too long to collect: only `for` loops and comprehensions (which are time-bounded) walk it."""

    __slots__ = ("_values",)

    def __init__(self, values: range) -> None:
        self._values = values

    def __iter__(self) -> Iterator[int]:
        raise _RefusedError(Message("runtime.too_long_to_collect", values=self._values))


def _range(*args: int) -> range | _HugeRange:
    values = range(*args)
    return _HugeRange(values) if values[MAX_ITEMS:] else values


def _counted(values: Iterable[Any]) -> Iterator[Any]:
    for count, value in enumerate(values, 1):
        _limit("the number of items", count)
        yield value


def _bounded(value: Any) -> Any:
    """An iterable, refused when longer than MAX_ITEMS; an unsized one is counted as it is consumed."""
    try:
        _limit("the number of items", len(value))
    except TypeError:
        return _counted(value) if isinstance(value, Iterable) else value
    return value


def _checking(function: Callable[..., Any], check: Callable[[Any], Any]) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        return check(function(*map(check, args), **kwargs))

    return call


def _getiter(value: Any) -> Iterator[Any]:
    return iter(value._values) if isinstance(value, _HugeRange) else iter(value)  # only loops walk a _HugeRange


_GUARDED_TYPES: Final = (str, bytes, list, dict, set, frozenset, int)
_WIDTH_METHODS: Final = frozenset({"ljust", "rjust", "center", "zfill", "to_bytes"})
_BULK_METHODS: Final = (
    _WIDTH_METHODS
    | {"join", "replace", "expandtabs", "extend", "update", "fromkeys", "sort", "union", "intersection", "difference"}
    | {"symmetric_difference", "intersection_update", "difference_update", "symmetric_difference_update"}
    | {"issubset", "issuperset", "isdisjoint", "translate"}
)


def _growth(name: str, owner: Any, args: tuple[Any, ...]) -> int:
    """The size a bulk method call would produce, estimated before running it."""
    size = _size(owner)
    if name in _WIDTH_METHODS and args and isinstance(args[0], int):
        return max(size, args[0])
    if name == "expandtabs" and isinstance(owner, str):
        return size + owner.count("\t") * (args[0] if args and isinstance(args[0], int) else 8)
    if name == "replace" and isinstance(owner, str | bytes) and len(args) >= 2:
        hits = owner.count(args[0]) if args[0] else size + 1
        if len(args) > 2 and args[2] >= 0:
            hits = min(hits, args[2])
        return size + hits * max(len(args[1]) - len(args[0]), 0)
    if name == "translate" and args and isinstance(args[0], dict):
        return size * max(1, *map(_size, args[0].values()))
    if name == "join" and args:
        return sum(map(_size, args[0])) + size * max(len(args[0]) - 1, 0)
    return size + sum(map(_size, args))


def _materialized(arg: Any) -> Any:
    if isinstance(arg, str | bytes) or not isinstance(arg, Iterable):
        return arg
    return _bounded(arg) if hasattr(arg, "__len__") else list(_counted(arg))


def _guarded_method(name: str, owner: Any, method: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        args = tuple(map(_materialized, args))
        _limit(f"the result of .{name}()", _growth(name, owner, args))
        return method(*args, **kwargs)

    return call


def _getattr(owner: Any, name: str) -> Any:
    if name in _DENIED_ATTRIBUTES:
        raise _RefusedError(Message("runtime.not_allowed", name=name))
    value = _safer_getattr(owner, name, raise_)
    if name in _BULK_METHODS:
        if isinstance(owner, _GUARDED_TYPES):
            return _guarded_method(name, owner, value)
        if isinstance(owner, type) and issubclass(owner, _GUARDED_TYPES):
            raise _RefusedError(Message("runtime.method_on_type", name=name))
    return value


def _round(value: Any, ndigits: int | None = None) -> Any:
    _limit("the digits to round to", abs(ndigits or 0), MAX_EXPONENT)  # round(5, -10**9) computes 10**10**9
    return round(_check_number(value), ndigits)


def _sum(values: Iterable[Any], start: Any = 0) -> Any:
    if not isinstance(start, int | float | Decimal | timedelta):  # sum(lists, []) would build a huge list in C
        raise _RefusedError(Message("runtime.sum_of_numbers"))
    return sum(values, start)


_NO_PRINT: Final = SimpleNamespace(_call_print=lambda *objects, **kwargs: None)  # scripts have no console
BUILTINS: Final[dict[str, Any]] = {
    **{f.__name__: f for f in (len, abs, float, bool, enumerate, zip, datetime, date, timedelta)},
    **{f.__name__: _checking(f, _bounded) for f in (min, max, any, all, sorted, list, tuple, set, dict)},
    **{"int": _checking(int, _check_number), "Decimal": _checking(Decimal, _check_number), "str": _Str},
    **{"sum": _checking(_sum, _bounded), "round": _round, "range": _range},
    **{e.__name__: e for e in (Exception, ArithmeticError, AssertionError, AttributeError, IndexError, KeyError)},
    **{e.__name__: e for e in (LookupError, NameError, OverflowError, TypeError, ValueError, ZeroDivisionError)},
}
_GUARDS: Final[dict[str, Any]] = {
    **{"__builtins__": BUILTINS, "_getattr_": _getattr, "_getitem_": operator.getitem, "_getiter_": _getiter},
    "_unpack_sequence_": lambda value, spec, _getiter_: _unpack(value, spec, iter),
    "_iter_unpack_sequence_": lambda value, spec, _getiter_: (_unpack(v, spec, iter) for v in _getiter(value)),
    **{"_write_": full_write_guard, "_inplacevar_": _binop, "_binop_": _binop, "_tick_": _tick},
    **{"_print_": lambda _getattr_: _NO_PRINT, "_shown_": _shown},
}


def _failure(exc: BaseException) -> SandboxError:
    lines = [line for frame, line in traceback.walk_tb(exc.__traceback__) if frame.f_code.co_filename == _FILENAME]
    text = str(exc) if _text_size(exc.args) <= MAX_ITEMS else Message("runtime.message_too_long")
    if isinstance(exc, _RefusedError):
        refused = Message("runtime.refused_at_line", line=lines[-1], detail=text) if lines else _refused(text)
        return SandboxError(refused)
    error = type(exc).__name__
    return SandboxError(Message("runtime.error_at_line", error=error, line=lines[-1], detail=text) if lines
                        else Message("runtime.error", error=error, detail=text))


def _refused(detail: str) -> Message:
    return Message("runtime.refused", detail=detail)


def _run(source: str, mode: str, env: dict[str, Any], time_limit: float) -> Any:
    code, errors = compile_source(source, mode)
    if code is None:
        raise SandboxError(_refused("; ".join(errors)))
    outer = getattr(_deadline, "at", _NEVER)
    _deadline.at = time.monotonic() + time_limit
    try:
        with decimal.localcontext() as context:
            context.Emax, context.Emin = MAX_DECIMAL_EXPONENT, -MAX_DECIMAL_EXPONENT
            # Safe: compiled by RestrictedPython under _Policy; only BUILTINS and _GUARDS are reachable.
            return eval(code, env)  # noqa: S307
    except _TimeUp:
        raise SandboxError(Message("runtime.time_limit", seconds=time_limit)) from None
    except MemoryError:
        raise  # the worker reports its memory limit and is replaced
    except Exception as exc:
        raise _failure(exc) from None
    finally:
        _deadline.at = outer


def evaluate_here(expression: str, names: dict[str, Any], time_limit: float) -> Any:
    """Evaluates an expression over `names` in this process; SandboxError if it is refused, fails or runs too long."""
    return _run(expression, "eval", {**names, **_GUARDS}, time_limit)


def execute_here(script: str, names: dict[str, Any], time_limit: float) -> dict[str, Any]:
    """Runs a script over `names` in this process; returns `names` with its assignments and deletions applied."""
    env = {**names, **_GUARDS}
    _run(script, "exec", env, time_limit)
    # Like SpiffWorkflow, functions the script defined stay behind: task data must stay serializable.
    results = {k: v for k, v in env.items() if not k.startswith("_") and not isinstance(v, FunctionType)}
    if _text_size([v for k, v in results.items() if names.get(k) is not v]) > MAX_ITEMS:
        raise SandboxError(_refused(Message("runtime.variables_too_large")))
    for key in [key for key in names if key not in env and not key.startswith("_")]:
        del names[key]
    names.update(results)
    return names


def refusals(source: str, mode: str = "exec") -> list[str]:
    """Compiles `source` without running it; returns why the sandbox would refuse it, [] if it would not."""
    return list(compile_source(source, mode)[1])
