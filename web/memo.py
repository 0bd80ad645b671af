"""Values a page works out once per deployed configuration (or other long-lived object) and then reuses."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")


def held_for(store: dict[Hashable, tuple[object, Any]], key: Hashable, owner: object, build: Callable[[], T],
             limit: int) -> T:
    """`store[key]`'s value if it was made for this very `owner` (the object is kept beside it, so an id inside
    `key` is not reused by a new object while held), else `build()` remembered for it. At `limit` entries the
    oldest go first; the server's threads may share the store (the eviction reads a copy of its keys)."""
    found = store.get(key)
    if found is not None and found[0] is owner:
        value: T = found[1]
        return value
    value = build()
    for old in list(store)[: max(len(store) - limit + 1, 0)]:
        store.pop(old, None)
    store[key] = (owner, value)
    return value
