"""Plain-Python checks that admit only values a JSON Schema admits, for the schemas of fields and forms: a valid
value (the usual case) is then passed without jsonschema's per-keyword dispatch, and only a value a check refuses
goes to the validator, which also words the messages. A check may refuse a value the schema admits (it then takes
the validator's path, which decides); it never admits one the schema refuses."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

Check = Callable[[Any], bool]
# keywords that never make a value invalid (annotations; formats are not asserted, as by the validator)
_ANNOTATIONS = frozenset({"title", "description", "format", "$comment", "default", "examples"})
_TYPE_CHECKS: dict[str, Check] = {
    "string": lambda value: isinstance(value, str),
    "integer": lambda value: type(value) is int,  # jsonschema also admits 2.0: such a value takes the slow path
    "number": lambda value: type(value) in (int, float),
    "boolean": lambda value: isinstance(value, bool),
    "array": lambda value: isinstance(value, list),
}


def _any_type(kinds: list[Check]) -> Check:
    return lambda value: any(kind(value) for kind in kinds)


def _max_length(most: int) -> Check:
    return lambda value: not isinstance(value, str) or len(value) <= most


def _pattern(pattern: re.Pattern[str]) -> Check:
    return lambda value: not isinstance(value, str) or bool(pattern.search(value))


def _one_of(codes: frozenset[str]) -> Check:
    return lambda value: isinstance(value, str) and value in codes


def _bound(bound: int, *, above: bool) -> Check:
    return lambda value: type(value) is int and (value >= bound if above else value <= bound)


def _unique(value: Any) -> bool:
    return not isinstance(value, list) or (all(isinstance(v, str) for v in value) and len(set(value)) == len(value))


def _each(item: Check) -> Check:
    return lambda value: not isinstance(value, list) or all(item(v) for v in value)


def passes(schema: Mapping[str, Any]) -> Check | None:
    """A plain-Python check that admits only values the schema admits (it may refuse some the schema admits:
    those are then checked by jsonschema, which also words the messages); None for a keyword it cannot check.
    Validating a file's rows this way skips jsonschema's per-keyword dispatch for every valid value."""
    checks: list[Check] = []
    for keyword, expected in schema.items():
        if keyword in _ANNOTATIONS or keyword.startswith("x-"):
            continue
        if keyword == "type":
            names = [expected] if isinstance(expected, str) else list(expected)
            if not all(name in _TYPE_CHECKS for name in names):
                return None
            checks.append(_any_type([_TYPE_CHECKS[name] for name in names]))
        elif keyword == "maxLength":
            checks.append(_max_length(expected))
        elif keyword == "pattern":
            checks.append(_pattern(re.compile(expected)))
        elif keyword == "enum" and all(isinstance(code, str) for code in expected):
            checks.append(_one_of(frozenset(expected)))
        elif keyword in ("minimum", "maximum") and type(expected) is int:
            checks.append(_bound(expected, above=keyword == "minimum"))
        elif keyword == "uniqueItems" and expected is True:
            checks.append(_unique)
        elif keyword == "items" and isinstance(expected, Mapping) and (item := passes(expected)) is not None:
            checks.append(_each(item))
        else:
            return None
    return lambda value: all(check(value) for check in checks)


def _skipped(keyword: str) -> bool:
    return keyword in _ANNOTATIONS or keyword.startswith("x-") or keyword == "$schema"


def _exact_value(schema: Any) -> Check | None:
    """A test of a property schema that says exactly whether jsonschema admits the value: `const` and `enum` of
    strings only (a string equals only an equal string in JSON Schema); None for anything else."""
    if not isinstance(schema, Mapping):
        return None
    tests: list[Check] = []
    for keyword, expected in schema.items():
        if _skipped(keyword):
            continue
        if keyword == "const" and isinstance(expected, str):
            tests.append(_one_of(frozenset([expected])))
        elif keyword == "enum" and isinstance(expected, list) and all(isinstance(code, str) for code in expected):
            tests.append(_one_of(frozenset(expected)))
        else:
            return None
    return lambda value: all(test(value) for test in tests)


def _exactly(schema: Any) -> Check | None:
    """An exact test of an object against an `if` schema of `properties` (each an `_exact_value`) and `required`:
    the branch taken must be the one jsonschema takes, so a conservative check will not do here."""
    if not isinstance(schema, Mapping):
        return None
    tests: dict[str, Check] = {}
    required: tuple[str, ...] = ()
    for keyword, expected in schema.items():
        if _skipped(keyword):
            continue
        if keyword == "properties" and isinstance(expected, Mapping):
            for name, sub in expected.items():
                test = _exact_value(sub)
                if test is None:
                    return None
                tests[name] = test
        elif keyword == "required" and isinstance(expected, list) and all(isinstance(n, str) for n in expected):
            required = tuple(expected)
        else:
            return None
    return lambda value: (
        all(name in value for name in required)
        and all(test(value[name]) for name, test in tests.items() if name in value)
    )


def form_check(schema: Mapping[str, Any]) -> Check | None:
    """A check admitting only the objects (a form's non-empty values by name) that an object schema admits: `type`
    object, `properties` each checked by `passes`, `required`, and `if`/`then`/`else` whose `if` `_exactly` decides;
    None when the schema has anything else (the validator then checks every submission, as before)."""
    checks: list[Check] = []
    for keyword, expected in schema.items():
        if _skipped(keyword) or (keyword in ("then", "else") and "if" in schema):
            continue
        if keyword == "type" and expected == "object":
            checks.append(lambda value: isinstance(value, dict))
        elif keyword == "properties" and isinstance(expected, Mapping):
            of: dict[str, Check] = {}
            for name, sub in expected.items():
                check = passes(sub) if isinstance(sub, Mapping) else None
                if check is None:
                    return None
                of[name] = check
            checks.append(_properties(of))
        elif keyword == "required" and isinstance(expected, list) and all(isinstance(n, str) for n in expected):
            checks.append(_required(tuple(expected)))
        elif keyword == "if":
            condition = _exactly(expected)
            then, otherwise = form_check(schema.get("then", {})), form_check(schema.get("else", {}))
            if condition is None or then is None or otherwise is None:
                return None
            checks.append(_branch(condition, then, otherwise))
        else:
            return None
    return lambda value: all(check(value) for check in checks)


def _properties(checks: Mapping[str, Check]) -> Check:
    return lambda value: (
        isinstance(value, dict) and all(check(value[name]) for name, check in checks.items() if name in value)
    )


def _required(names: tuple[str, ...]) -> Check:
    return lambda value: isinstance(value, dict) and all(name in value for name in names)


def _branch(condition: Check, then: Check, otherwise: Check) -> Check:
    return lambda value: then(value) if condition(value) else otherwise(value)
