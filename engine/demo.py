"""Demo seeding from a bundle's demo/seed.yaml: users and records, created once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from engine.config.yaml_lines import safe_load
from engine.errors import ConfigError, Problem
from engine.processes.deployed import active_bundle
from engine.services.bulk_records import bulk_ready, create_records
from engine.services.records import create_record, update_record
from engine.services.users import create_user, get_actor
from engine.store.uow import UnitOfWork


def read_seed(path: Path) -> dict[str, Any]:
    """The seed file as a mapping; ConfigError naming the file (and line) when it is missing or not YAML."""
    try:
        data = safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as exc:
        raise ConfigError([Problem(str(path), None, None, "no demo seed file")]) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError([Problem(str(path), mark.line + 1 if mark else None, None, str(exc))]) from exc
    if not isinstance(data, dict):
        raise ConfigError([Problem(str(path), 1, None, "expected a mapping with users: and records:")])
    return data


def seed(make_uow: Callable[[], UnitOfWork], path: Path, now: datetime, *, bulk: bool = True) -> dict[str, int]:
    """Create the seed's users (skipping existing ones) and, on first run only, its records (runs of alike
    records through the batch path unless `bulk` is False: the same records either way)."""
    data = read_seed(path)

    def at_now() -> UnitOfWork:  # the seed's timers count from its `now`, as its records are created at it
        uow = make_uow()
        uow.clock = lambda: now
        return uow

    created = {"users": 0, "records": 0}
    ids: dict[str, int] = {}
    for i, user in enumerate(data.get("users") or [], start=1):
        with at_now() as uow:
            existing = uow.users.by_username(user["username"])
            if existing is not None:
                ids[existing.username] = existing.id
                continue
        try:
            view = create_user(at_now(), user["username"], user["password"], user["roles"], now,
                               team=user.get("team"), display_name=user.get("name"), locale=user.get("locale", "en"))
        except KeyError as exc:
            raise ConfigError([Problem(str(path), None, f"users[{i}]", f"missing key {exc}")]) from exc
        ids[view.username] = view.id
        created["users"] += 1
    from engine.demo_segments import seed_segments

    created["segments"] = seed_segments(at_now, path.parent / "segments.yaml", ids, now)
    with at_now() as uow:
        already = uow.records.list_any()
    if already:
        return created
    records = list(enumerate(data.get("records") or [], start=1))
    for i, record in records:
        creator = record.get("created_by")
        if creator not in ids:
            raise ConfigError([Problem(str(path), None, f"records[{i}]", f"created_by {creator!r} is not a seed user")])
        for step in record.get("changes") or []:
            if step.get("by", creator) not in ids:
                raise ConfigError([Problem(str(path), None, f"records[{i}]",
                                           f"changes by {step.get('by')!r}: not a seed user")])
    for group in seed_runs(at_now, path, records, now, bulk):
        created["records"] += _create(at_now, path, group, ids, now)
    return created


def seed_runs(make_uow: Callable[[], UnitOfWork], path: Path, records: list[tuple[int, dict[str, Any]]],
              now: datetime, bulk: bool) -> list[list[tuple[int, dict[str, Any]]]]:
    """The records in file order, consecutive ones the batch path can create together grouped: same entity,
    creator, owner, time and processes flag, no later `changes`, an entity whose creation rules read only the
    record itself (bulk_ready), and none after the first naming another record."""
    with make_uow() as uow:
        bundle, _ = active_bundle(uow)

    def key(index: int, record: dict[str, Any]) -> tuple[Any, ...] | None:
        entity = bundle.entities.get(record.get("entity", ""))
        if not bulk or record.get("changes") or entity is None or not bulk_ready(bundle, entity):
            return None
        return (entity.name, record.get("created_by"), record.get("owner"), _moment(path, index, record, now),
                record.get("processes", True) is not False)

    def refers(record: dict[str, Any]) -> bool:
        """Whether the record names another record: it may be one of the run, not inserted yet, so it starts a
        run of its own (what it names was committed before it)."""
        entity = bundle.entities[record["entity"]]
        data = record.get("data") or {}
        return any(spec.type == "reference" and data.get(name) not in (None, "") for name, spec in
                   entity.fields.items())

    runs: list[list[tuple[int, dict[str, Any]]]] = []
    last: tuple[Any, ...] | None = None
    for index, record in records:
        mine = key(index, record)
        if mine is not None and mine == last and not refers(record):
            runs[-1].append((index, record))
        else:
            runs.append([(index, record)])
        last = mine
    return runs


def _create(make_uow: Callable[[], UnitOfWork], path: Path, run: list[tuple[int, dict[str, Any]]],
            ids: dict[str, int], now: datetime) -> int:
    """Create a run of seed records: one alone through create_record (then its `changes`), several together
    through the batch path (bulk_records.insert_records, one transaction)."""
    i, first = run[0]
    creator, owner = first["created_by"], first.get("owner")
    actor = get_actor(make_uow(), ids[creator])
    moment = _moment(path, i, first, now)
    if len(run) > 1:
        create_records(make_uow(), actor, first["entity"], [record["data"] for _, record in run], moment,
                       owner_id=ids.get(owner) if owner else None,
                       start_processes=first.get("processes", True) is not False)
        return len(run)
    made = create_record(make_uow(), actor, first["entity"], first["data"], moment,
                         owner_id=ids.get(owner) if owner else None,
                         start_processes=first.get("processes", True) is not False,
                         creator_owns=False)  # a seed record without `owner` is meant unowned (the pool)
    for step in first.get("changes") or []:
        # a past edit with its own time, so field history (stage durations, reports) has something to show
        by = step.get("by", creator)
        update_record(make_uow(), get_actor(make_uow(), ids[by]), made.id, step["set"], _moment(path, i, step, now))
    return 1


def _moment(path: Path, index: int, item: dict[str, Any], now: datetime) -> datetime:
    """The item's `at` (ISO 8601 with offset) when given, else `now`."""
    raw = item.get("at")
    if raw is None:
        return now
    try:
        moment = datetime.fromisoformat(str(raw))
    except ValueError as exc:
        raise ConfigError([Problem(str(path), None, f"records[{index}]", f"at {raw!r} is not ISO 8601")]) from exc
    if moment.tzinfo is None:
        raise ConfigError([Problem(str(path), None, f"records[{index}]", f"at {raw!r} needs a UTC offset")])
    return moment
