"""Task and instance data must survive serialization: found where it is produced, named by its variable."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from engine.processes.spiff.engine import _REGISTRY

_PLAIN = (str, int, float, bool, type(None))
# the exact plain types, tested by the loops before they recurse: nearly every value of task data is one, and a
# call of `unsavable` per value was most of a step's check (a subclass still goes through `unsavable`)
_PLAIN_TYPES = frozenset(_PLAIN)
_KEYS = (str, int, float, bool, type(None))
_CONTAINERS = (list, tuple, set, frozenset)
_MAX_DEPTH = 200  # deeper than any form or record; a self-containing value stops here


def unsavable(value: Any, path: str = "", depth: int = 0) -> tuple[str, str] | None:
    """(where, type name) of the first part of `value` the workflow serializer cannot store, or None."""
    if isinstance(value, _PLAIN) or type(value) in _REGISTRY.typenames:
        return None
    if depth > _MAX_DEPTH:
        return path, f"{type(value).__name__} nested more than {_MAX_DEPTH} deep"
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, _KEYS):
                return f"{path}[{key!r}]", f"{type(key).__name__} (as a key)"
            if type(item) in _PLAIN_TYPES:
                continue
            found = unsavable(item, f"{path}[{key!r}]", depth + 1)
            if found:
                return found
        return None
    if isinstance(value, _CONTAINERS):
        for index, item in enumerate(value):
            if type(item) in _PLAIN_TYPES:
                continue
            found = unsavable(item, f"{path}[{index}]", depth + 1)
            if found:
                return found
        return None
    return path, type(value).__name__


def unsavable_variable(data: Mapping[str, Any]) -> str | None:
    """`variable "x" of type T` for the first variable of task data that cannot be stored, or None."""
    for name, value in data.items():
        if type(value) in _PLAIN_TYPES:
            continue
        found = unsavable(value, str(name))
        if found is not None:
            where, type_name = found
            if where == name:
                return f'variable "{name}" of type {type_name}'
            return f'variable "{name}" holding a {type_name} at {where}'
    return None


def element_kind(spec_class: str) -> str:
    """`ScriptTask` -> `script task`."""
    return re.sub(r"(?<!^)(?=[A-Z])", " ", spec_class).lower()
