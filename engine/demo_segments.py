"""Demo segments from a bundle's demo/segments.yaml: saved filters created once each (by entity and name)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path

import yaml

from engine.errors import ConfigError, FlowError, Problem, ValidationError
from engine.services.segments import create_segment
from engine.services.users import get_actor
from engine.store.uow import UnitOfWork


def seed_segments(make_uow: Callable[[], UnitOfWork], path: Path, user_ids: Mapping[str, int],
                  now: datetime) -> int:
    """Create the file's segments that do not exist yet; no file, no segments. Returns how many were created."""
    if not path.exists():
        return 0
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError([Problem(str(path), mark.line + 1 if mark else None, None, str(exc))]) from exc
    items = data.get("segments") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ConfigError([Problem(str(path), 1, None, "expected a mapping with a list under segments:")])
    created = 0
    for i, item in enumerate(items, start=1):
        element = f"segments[{i}]"
        if not isinstance(item, dict) or not {"name", "entity", "created_by", "filter"} <= set(item):
            raise ConfigError([Problem(str(path), None, element, "needs name, entity, created_by and filter")])
        creator = item["created_by"]
        if creator not in user_ids:
            raise ConfigError([Problem(str(path), None, element, f"created_by {creator!r} is not a seed user")])
        with make_uow() as uow:
            if uow.segments.by_name(str(item["entity"]), str(item["name"])) is not None:
                continue
        try:
            create_segment(make_uow(), get_actor(make_uow(), user_ids[creator]), str(item["entity"]),
                           str(item["name"]), item["filter"], now, description=str(item.get("description") or ""))
        except ValidationError as exc:
            problems = [Problem(str(path), None, f"{element}.{key}" if key else element, "; ".join(messages))
                        for key, messages in exc.errors.items()]
            raise ConfigError(problems) from exc
        except FlowError as exc:
            raise ConfigError([Problem(str(path), None, element, str(exc))]) from exc
        created += 1
    return created
