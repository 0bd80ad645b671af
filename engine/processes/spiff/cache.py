"""Bounded caches of what a step would otherwise rebuild: parsed specs per deployed version, and the workflows
of hot instances per (instance id, revision)."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from engine.processes.definitions import ElementMeta
from engine.processes.spiff.engine import _REGISTRY

T = TypeVar("T")


@dataclass
class CacheCounts:
    """How often a cache answered (hits) and how often the caller rebuilt what it asked for (misses)."""

    hits: int = 0
    misses: int = 0


@dataclass
class ParsedVersion:
    """A deployed version's spec blob, restored once: SpiffWorkflow specs are shared by its workflows read-only."""

    spec: Any
    subprocess_specs: dict[str, Any]
    elements: dict[str, ElementMeta]


def _parse(blob: str) -> ParsedVersion:
    value: dict[str, Any] = json.loads(blob)
    return ParsedVersion(
        spec=_REGISTRY.restore(value["spec"]),
        subprocess_specs={k: _REGISTRY.restore(v) for k, v in value["subprocess_specs"].items()},
        elements={k: ElementMeta.from_dict(v) for k, v in value["elements"].items()},
    )


class _Lru(Generic[T]):
    """A bounded, thread-safe LRU map."""

    def __init__(self, size: int) -> None:
        self._items: OrderedDict[Any, T] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: Any) -> T | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def pop(self, key: Any) -> T | None:
        with self._lock:
            return self._items.pop(key, None)

    def put(self, key: Any, value: T) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


class SpecCache:
    """Parsed spec blobs by version id: a blob is immutable once deployed."""

    def __init__(self, size: int = 64) -> None:
        self._items: _Lru[ParsedVersion] = _Lru(size)
        self.counts = CacheCounts()  # misses are parses of a spec blob

    def get(self, version_id: int, blob: str) -> ParsedVersion:
        """The parsed version; one process may use several databases whose version ids overlap, so the blob's
        hash is part of the key."""
        key = (version_id, hash(blob))
        found = self._items.get(key)
        if found is None:
            self.counts.misses += 1
            found = _parse(blob)
            self._items.put(key, found)
        else:
            self.counts.hits += 1
        return found


@dataclass
class _Hot(Generic[T]):
    revision: int
    state_json: str
    runtime: T


class WorkflowCache(Generic[T]):
    """Live workflows of recently saved instances, by instance id, each with the revision and the exact state it
    was saved as. `take` hands an entry out and removes it, so two concurrent users never share one (SpiffWorkflow
    is not thread safe); a stale entry (another process saved a newer revision, or another database uses the
    same id) never matches, because the row's revision and state must both be the ones cached."""

    def __init__(self, size: int = 256) -> None:
        self._items: _Lru[_Hot[T]] = _Lru(size)
        self.counts = CacheCounts()  # misses are deserializations of a saved state

    def take(self, instance_id: int, revision: int, state_json: str) -> T | None:
        """The cached workflow of this exact saved state, now owned by the caller; None on a miss."""
        hot = self._items.pop(instance_id)
        if hot is None or hot.revision != revision or hot.state_json != state_json:
            self.counts.misses += 1
            return None
        self.counts.hits += 1
        return hot.runtime

    def keep(self, instance_id: int, revision: int, state_json: str, runtime: T) -> None:
        """Offer a workflow whose saved state (committed at `revision`) is `state_json`."""
        self._items.put(instance_id, _Hot(revision, state_json, runtime))

    def clear(self) -> None:
        """Forget every cached workflow."""
        self._items.clear()
