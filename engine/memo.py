"""Values worked out once per loaded configuration (or other long-lived objects) and then reused."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")


def held_for(store: dict[Hashable, tuple[tuple[object, ...], Any]], key: Hashable, owners: tuple[object, ...],
             build: Callable[[], T], limit: int) -> T:
    """`store[key]`'s value if it was made for these very `owners` (the objects are kept beside it, so an id
    inside `key` is not reused by a new object while held), else `build()` remembered for them. At `limit`
    entries the oldest go first; the server's threads may share the store (the eviction reads a copy of its keys)."""
    found = store.get(key)
    if found is not None and len(found[0]) == len(owners) and all(
            held is owner for held, owner in zip(found[0], owners, strict=True)):
        value: T = found[1]
        return value
    value = build()
    for old in list(store)[: max(len(store) - limit + 1, 0)]:
        store.pop(old, None)
    store[key] = (owners, value)
    return value
