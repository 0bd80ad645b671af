"""Restricted evaluation of BPMN scripts, gateway conditions, timer expressions and DMN cells.

They come from uploaded files, so RestrictedPython compiles them under a stricter policy and they run with a
short list of builtins and guarded helpers. Time is bounded by a per-thread trace function (Flask serves
requests in threads, so signals cannot be used); size is bounded by guards on the operators, builtins and
methods that build a huge value from small inputs. RestrictedPython is not a boundary against a hostile author
with time to spare: deploy rights stay with trusted roles.
"""

from __future__ import annotations

import ast
import decimal
import functools
import operator
import re
import sys
import textwrap
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from types import CodeType, FrameType
from typing import Any, Final

from RestrictedPython.compile import compile_restricted_eval, compile_restricted_exec
from RestrictedPython.Guards import full_write_guard, guarded_unpack_sequence, raise_, safer_getattr
from RestrictedPython.transformer import RestrictingNodeTransformer, copy_locations

from engine.errors import SandboxError

DEFAULT_TIME_LIMIT: Final = 1.0
MAX_ITEMS: Final = 1_000_000  # elements of a collection, characters of a string, built in one step
MAX_EXPONENT: Final = 10_000
MAX_INT_BITS: Final = 100_000  # about 30,000 decimal digits
MAX_DECIMAL_EXPONENT: Final = 10_000
_FILENAME: Final = "<sandbox>"

_safer_getattr: Callable[..., Any] = safer_getattr
_write_guard: Callable[[Any], Any] = full_write_guard
_unpack: Callable[..., list[Any]] = guarded_unpack_sequence

_REFUSED_NODES: Final[dict[type[ast.AST], str]] = {
    ast.Import: "imports are not allowed",
    ast.ImportFrom: "imports are not allowed",
    ast.ClassDef: "class definitions are not allowed",
    ast.Yield: "generators (yield) are not allowed",
    ast.YieldFrom: "generators (yield) are not allowed",
    ast.Global: "global statements are not allowed",
    ast.With: "with statements are not allowed",
}
# Refused when compiled, so `flowcrm check` reports them at deploy. Other dangerous builtins (open, type,
# object, help...) are simply not provided: they fail with a NameError when run.
_DENIED_NAMES: Final = frozenset(
    {
        "exec",
        "eval",
        "compile",
        "globals",
        "locals",
        "vars",
        "getattr",
        "setattr",
        "delattr",
        "hasattr",
        "breakpoint",
        "memoryview",
        "super",
    }
)
# `format` reaches attributes through "{0.__class__}"; `mro` reaches `object`.
_DENIED_ATTRIBUTES: Final = frozenset({"format", "format_map", "mro"})
_GUARDED_OPERATORS: Final[dict[type[ast.operator], str]] = {
    ast.Add: "+",
    ast.Mult: "*",
    ast.Pow: "**",
    ast.LShift: "<<",
    ast.Mod: "%",
    ast.BitOr: "|",
}
_HUGE_WIDTH = re.compile(r"\d{7,}")
_HUGE_PERCENT = re.compile(r"%[^a-zA-Z%]*?(\*|\d{7,})")


class _RefusedError(Exception):
    """A guard refused an operation; the message says which limit."""


class _TimeUp(BaseException):
    """Raised into sandboxed frames at the deadline; a BaseException so `except Exception` cannot keep it."""


def _refusal(node: ast.AST) -> str | None:
    if type(node) in _REFUSED_NODES:
        return _REFUSED_NODES[type(node)]
    if isinstance(node, ast.Name) and node.id in _DENIED_NAMES:
        return f'"{node.id}" is not allowed'
    if isinstance(node, ast.Attribute) and node.attr in _DENIED_ATTRIBUTES:
        return f'"{node.attr}" is not allowed; use an f-string'
    if isinstance(node, ast.Starred) and isinstance(node.ctx, ast.Load):
        return "* unpacking is only allowed on the left of an assignment"
    if isinstance(node, ast.keyword) and node.arg is None:
        return "** unpacking of arguments is not allowed"
    if isinstance(node, ast.FormattedValue) and isinstance(node.format_spec, ast.JoinedStr):
        parts = node.format_spec.values
        if not all(isinstance(part, ast.Constant) for part in parts):
            return "computed format specifications are not allowed"
        if _HUGE_WIDTH.search("".join(str(part.value) for part in parts if isinstance(part, ast.Constant))):
            return "format width is too large"
    return None


class _Policy(RestrictingNodeTransformer):
    """RestrictedPython's policy made stricter; routes growing operators and f-strings through guards."""

    def visit(self, node: ast.AST) -> Any:
        refusal = _refusal(node)
        if refusal is not None:
            self.error(node, refusal)
            return node
        if isinstance(node, ast.FormattedValue):
            node.value = self.visit(node.value)  # its spec holds constants only (checked above)
            return node
        result = super().visit(node)
        if isinstance(node, ast.JoinedStr):
            return self._guard_call("_fstring_", [result], node)
        if isinstance(result, ast.BinOp) and type(result.op) in _GUARDED_OPERATORS:
            symbol = ast.Constant(_GUARDED_OPERATORS[type(result.op)])
            return self._guard_call("_binop_", [symbol, result.left, result.right], node)
        return result

    def _guard_call(self, guard: str, args: list[ast.expr], node: Any) -> ast.Call:
        call = ast.Call(func=ast.Name(guard, ast.Load()), args=args, keywords=[])
        copy_locations(call, node)
        return call


@functools.lru_cache(maxsize=2048)
def _compile(source: str, mode: str) -> tuple[CodeType | None, tuple[str, ...]]:
    if mode == "eval":
        compiler, source = compile_restricted_eval, source.strip()
    elif mode == "exec":
        compiler, source = compile_restricted_exec, textwrap.dedent(source)  # bodies come indented in XML
    else:
        raise ValueError(f"mode must be 'exec' or 'eval', not {mode!r}")
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
        values = list(right.values()) if isinstance(right, dict) else [right]
        values = list(right) if isinstance(right, tuple) else values
        for value in values:
            _check_number(value)
        _limit("the formatted length", len(text) + text.count("%") * max(map(_size, values), default=0))


_OPERATORS: Final[dict[str, Callable[[Any, Any], Any]]] = {
    "+": operator.add,
    "*": operator.mul,
    "**": operator.pow,
    "<<": operator.lshift,
    "%": operator.mod,
    "|": operator.or_,
    "+=": operator.iadd,
    "-=": operator.isub,
    "*=": operator.imul,
    "/=": operator.itruediv,
    "%=": operator.imod,
    "**=": operator.ipow,
    "<<=": operator.ilshift,
    ">>=": operator.irshift,
    "|=": operator.ior,
    "^=": operator.ixor,
    "&=": operator.iand,
    "//=": operator.ifloordiv,
    "@=": operator.imatmul,
}


def _binop(symbol: str, left: Any, right: Any) -> Any:
    _check_operation(symbol.removesuffix("="), left, right)
    return _OPERATORS[symbol](left, right)


def _fstring(text: str) -> str:
    _limit("the formatted length", len(text))
    return text


class _HugeRange:
    """A range too long to collect: only `for` loops and comprehensions (which are time-bounded) walk it."""

    __slots__ = ("_values",)

    def __init__(self, values: range) -> None:
        self._values = values

    def __iter__(self) -> Iterator[int]:
        raise _RefusedError(f"{self._values} is too long to collect; loop over it instead")

    def __len__(self) -> int:
        return len(self._values)

    def __contains__(self, value: object) -> bool:
        return value in self._values

    def walk(self) -> Iterator[int]:
        """The real iterator, handed only to `for` loops and comprehensions."""
        return iter(self._values)


def _range(*args: int) -> range | _HugeRange:
    values = range(*args)
    try:
        return values if len(values) <= MAX_ITEMS else _HugeRange(values)
    except OverflowError:
        return _HugeRange(values)


def _counted(values: Iterable[Any]) -> Iterator[Any]:
    for count, value in enumerate(values, 1):
        _limit("the number of items", count)
        yield value


def _bounded(value: Any) -> Any:
    """An iterable, refused when longer than MAX_ITEMS; an unsized one is counted as it is consumed."""
    try:
        _limit("the number of items", len(value))
    except OverflowError:
        _limit("the number of items", sys.maxsize)
    except TypeError:
        return _counted(value) if isinstance(value, Iterable) else value
    return value


def _collecting(function: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        return function(*map(_bounded, args), **kwargs)

    call.__name__ = function.__name__
    return call


def _getiter(value: Any) -> Iterator[Any]:
    return value.walk() if isinstance(value, _HugeRange) else iter(value)


def _bounded_iter(value: Any) -> Iterator[Any]:
    return iter(_bounded(value))


def _unpack_sequence(value: Any, spec: dict[str, Any], _getiter_: Any) -> list[Any]:
    return _unpack(value, spec, _bounded_iter)


def _iter_unpack_sequence(value: Any, spec: dict[str, Any], _getiter_: Any) -> Iterator[list[Any]]:
    for item in _getiter(value):
        yield _unpack(item, spec, _bounded_iter)


def _getitem(container: Any, key: Any) -> Any:
    return container[key]


_CONTAINERS: Final = (str, bytes, list, dict, set, frozenset)
_PADDING: Final = frozenset({"ljust", "rjust", "center", "zfill"})
_BULK_METHODS: Final = frozenset(
    {
        "join",
        "replace",
        "expandtabs",
        "extend",
        "update",
        "fromkeys",
        "sort",
        "union",
        "intersection",
        "difference",
        "symmetric_difference",
        "intersection_update",
        "difference_update",
        "symmetric_difference_update",
        "issubset",
        "issuperset",
        "isdisjoint",
        *_PADDING,
    }
)


def _growth(name: str, owner: Any, args: tuple[Any, ...]) -> int:
    """The size a bulk method call would produce, estimated before running it."""
    size = _size(owner)
    if name in _PADDING and args and isinstance(args[0], int):
        return max(size, args[0])
    if name == "expandtabs" and isinstance(owner, str):
        return size + owner.count("\t") * (args[0] if args and isinstance(args[0], int) else 8)
    if name == "replace" and isinstance(owner, str | bytes) and len(args) >= 2:
        hits = owner.count(args[0]) if args[0] else size + 1
        if len(args) > 2 and args[2] >= 0:
            hits = min(hits, args[2])
        return size + hits * max(len(args[1]) - len(args[0]), 0)
    if name == "join" and args:
        return sum(map(_size, args[0])) + size * max(len(args[0]) - 1, 0)
    return size + sum(map(_size, args))


def _materialized(arg: Any) -> Any:
    if isinstance(arg, str | bytes) or not isinstance(arg, Iterable):
        return arg
    bounded = _bounded(arg)
    return bounded if hasattr(arg, "__len__") else list(bounded)


def _guarded_method(name: str, owner: Any, method: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        args = tuple(map(_materialized, args))
        _limit(f"the result of .{name}()", _growth(name, owner, args))
        return method(*args, **kwargs)

    return call


def _getattr(owner: Any, name: str) -> Any:
    if name in _DENIED_ATTRIBUTES:
        raise _RefusedError(f'"{name}" is not allowed')
    value = _safer_getattr(owner, name, raise_)
    if name in _BULK_METHODS:
        if isinstance(owner, _CONTAINERS) or name == "fromkeys":
            return _guarded_method(name, owner, value)
        if isinstance(owner, type) and issubclass(owner, _CONTAINERS):
            raise _RefusedError(f"call .{name}() on a value, not on the type")
    return value


class _ListWriter:
    """Item assignment into a list, refusing slice assignments that would grow it past MAX_ITEMS."""

    __slots__ = ("_target",)

    def __init__(self, target: list[Any]) -> None:
        self._target = target

    def __setitem__(self, key: Any, value: Any) -> None:
        if isinstance(key, slice):
            value = list(_bounded(value))
            _limit("the list length", len(self._target) + len(value))
        self._target[key] = value

    def __delitem__(self, key: Any) -> None:
        del self._target[key]


def _write(target: Any) -> Any:
    return _ListWriter(target) if type(target) is list else _write_guard(target)


class _NoPrint:
    """`print` does nothing in the sandbox and `printed` is empty: scripts have no console."""

    def __init__(self, _getattr_: Any = None) -> None:
        pass

    def __call__(self) -> str:
        return ""

    def _call_print(self, *objects: Any, **kwargs: Any) -> None:
        pass


def _int(value: Any = 0, *args: Any) -> int:
    return int(_check_number(value), *args)


def _round(value: Any, *args: Any) -> Any:
    return round(_check_number(value), *args)


def _decimal(value: Any = "0", *args: Any) -> Decimal:
    result: Decimal = _check_number(Decimal(value, *args))
    return result


_BUILTINS: Final[dict[str, Any]] = {
    "None": None,
    "True": True,
    "False": False,
    "len": len,
    "abs": abs,
    "round": _round,
    "int": _int,
    "float": float,
    "str": str,
    "bool": bool,
    "range": _range,
    "enumerate": enumerate,
    "zip": zip,
    **{f.__name__: _collecting(f) for f in (min, max, sum, any, all, sorted, list, tuple, set, dict)},
    "Decimal": _decimal,
    "datetime": datetime,
    "date": date,
    "timedelta": timedelta,
    **{
        e.__name__: e
        for e in (
            Exception,
            ArithmeticError,
            AssertionError,
            AttributeError,
            IndexError,
            KeyError,
            LookupError,
            NameError,
            OverflowError,
            TypeError,
            ValueError,
            ZeroDivisionError,
        )
    },
}
_GUARDS: Final[dict[str, Any]] = {
    "__builtins__": _BUILTINS,
    "_getattr_": _getattr,
    "_getitem_": _getitem,
    "_getiter_": _getiter,
    "_write_": _write,
    "_iter_unpack_sequence_": _iter_unpack_sequence,
    "_unpack_sequence_": _unpack_sequence,
    "_inplacevar_": _binop,
    "_binop_": _binop,
    "_fstring_": _fstring,
    "_print_": _NoPrint,
}


def _failure(exc: BaseException) -> SandboxError:
    line, trace = None, exc.__traceback__
    while trace is not None:
        if trace.tb_frame.f_code.co_filename == _FILENAME:
            line = trace.tb_lineno
        trace = trace.tb_next
    where = "" if line is None else f" at line {line}"
    if isinstance(exc, _RefusedError):
        return SandboxError(f"refused{where}: {exc}")
    return SandboxError(f"{type(exc).__name__}{where}: {exc}")


def _run(source: str, mode: str, env: dict[str, Any], time_limit: float) -> Any:
    code, errors = _compile(source, mode)
    if code is None:
        raise SandboxError("refused: " + "; ".join(errors))
    deadline = time.monotonic() + time_limit

    def on_line(frame: FrameType, event: str, arg: Any) -> Any:
        if time.monotonic() > deadline:
            frame.f_trace_opcodes = True  # from now on every opcode raises: a bare `except:` cannot hold on
            raise _TimeUp
        return on_line

    def on_call(frame: FrameType, event: str, arg: Any) -> Any:
        return on_line if frame.f_code.co_filename == _FILENAME else None

    previous = sys.gettrace()
    sys.settrace(on_call)
    try:
        with decimal.localcontext() as context:
            context.Emax, context.Emin = MAX_DECIMAL_EXPONENT, -MAX_DECIMAL_EXPONENT
            # Safe: compiled by RestrictedPython under _Policy; only _BUILTINS and _GUARDS are reachable.
            return eval(code, env)  # noqa: S307
    except _TimeUp:
        raise SandboxError(f"ran longer than {time_limit} s") from None
    except Exception as exc:
        raise _failure(exc) from None
    finally:
        sys.settrace(previous)


def evaluate(expression: str, names: dict[str, Any], *, time_limit: float = DEFAULT_TIME_LIMIT) -> Any:
    """Evaluates an expression over `names`; SandboxError if it is refused, fails or runs too long."""
    return _run(expression, "eval", {**names, **_GUARDS}, time_limit)


def execute(script: str, names: dict[str, Any], *, time_limit: float = DEFAULT_TIME_LIMIT) -> None:
    """Runs a script over `names`, then writes its assignments and deletions back into `names`."""
    env = {**names, **_GUARDS}
    _run(script, "exec", env, time_limit)
    for key in [key for key in names if key not in env and not key.startswith("_")]:
        del names[key]
    names.update((key, value) for key, value in env.items() if not key.startswith("_"))


def check(source: str, mode: str = "exec") -> list[str]:
    """Compiles `source` without running it; returns why the sandbox would refuse it, [] if it would not."""
    return list(_compile(source, mode)[1])
