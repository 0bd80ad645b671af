"""The data of the route census: the demo bundle's seed (users, records, their processes and history), then
`copies` more of its records (references pointing into the same copy) and `copies` more edits of every record the
seed edits, so each list, board, card history, audit page and report holds about (1 + copies)x the rows."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from engine.demo import read_seed, seed, seed_runs
from engine.processes.deployed import active_bundle
from engine.services.records import create_record, update_record
from engine.services.users import get_actor
from engine.store.uow import UnitOfWork

MakeUow = Callable[[], UnitOfWork]
UNIQUE_KEYS = ("tax_id",)


def seeded(make_uow: MakeUow, seed_file: Path, now: datetime, copies: int = 0) -> None:
    """Seed the demo data on a deployed, empty database (with a dry run of the demo's contact import, as the head
    of sales would try it), then add `copies` copies of its records and edits."""
    if seed(make_uow, seed_file, now)["records"]:
        _dry_run_import(make_uow, seed_file.parent / "contacts_import.csv", now)
    data = read_seed(seed_file)
    records = list(enumerate(data.get("records") or [], start=1))
    with make_uow() as uow:
        users = {u.username: u.id for u in uow.users.all()}
    for copy in range(1, copies + 1):
        _copy(make_uow, seed_file, records, users, now, copy)


def _dry_run_import(make_uow: MakeUow, path: Path, now: datetime) -> None:
    from engine.imports.run import run_import
    from engine.services.imports import create_job

    with make_uow() as uow:
        head = next(u.id for u in uow.users.all() if "head_of_sales" in u.roles.split(","))
    job = create_job(make_uow(), get_actor(make_uow(), head), "Contact", path.name, path, now, dry_run=True)
    run_import(make_uow, job.id, lambda: now)


def _copy(make_uow: MakeUow, seed_file: Path, records: list[tuple[int, dict[str, Any]]], users: dict[str, int],
          now: datetime, copy: int) -> None:
    """One more copy of the seed's records, created in seed order, references pointing at the copies of what they
    name; every edit of the seed is made again on its copy (and once more on the original, so card histories
    grow)."""
    with make_uow() as uow:
        bundle, _ = active_bundle(uow)
    made: dict[int, int] = {}  # seed record number -> id of its copy (ids need not be contiguous: PostgreSQL
    # sequences skip the ids of rolled-back inserts)

    def moved(entity: str, values: dict[str, Any]) -> dict[str, Any]:
        fields = bundle.entities[entity].fields

        def one(name: str, value: Any) -> Any:
            if isinstance(value, int) and name in fields and fields[name].type == "reference":
                return made[value]
            if name in UNIQUE_KEYS and isinstance(value, str):
                return f"{copy:02d}{value[2:]}"  # a same-tax-id match refuses the copy (on_create: block)
            return value

        return {name: one(name, value) for name, value in values.items()}

    plain = [(i, {**r, "changes": None}) for i, r in records]
    for group in seed_runs(make_uow, seed_file, plain, now, True):
        shifted = [(i, {**r, "data": moved(r["entity"], r.get("data") or {})}) for i, r in group]
        made.update(zip([i for i, _ in group], _create_run(make_uow, users, shifted, now), strict=True))
    for i, record in records:
        for n, step in enumerate(record.get("changes") or []):
            actor = get_actor(make_uow(), users[step.get("by", record["created_by"])])
            moment = now + timedelta(minutes=copy, seconds=n)
            update_record(make_uow(), actor, made[i], moved(record["entity"], step["set"]), moment)
            update_record(make_uow(), actor, i, step["set"], moment)


def _create_run(make_uow: MakeUow, users: dict[str, int], run: list[tuple[int, dict[str, Any]]],
                now: datetime) -> list[int]:
    from engine.services.bulk_records import create_records

    _, first = run[0]
    actor = get_actor(make_uow(), users[first["created_by"]])
    owner = users.get(first.get("owner") or "")
    start = first.get("processes", True) is not False
    if len(run) > 1:
        rows = create_records(make_uow(), actor, first["entity"], [r["data"] for _, r in run], now, owner_id=owner,
                              start_processes=start)
        return [row.id for row in rows]
    return [create_record(make_uow(), actor, first["entity"], first["data"], now, owner_id=owner,
                          start_processes=start, creator_owns=False).id]
