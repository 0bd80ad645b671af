"""Mass action rate: tag, set a field and assign an owner on N contacts (one transaction each, the batch path of
engine/services/mass_actions.py), against a floor measured in the same run: a plain SQLAlchemy executemany
UPDATE of the same records' data and a multi-row INSERT of the same history rows.

    python -m bench.mass_actions [--records 5000] [--workdir DIR]

Each action runs on its own copy of one SQLite database of N contacts (made through the batch path of
bulk_records.create_records). Reported: wall and CPU seconds, SQL statements (SQLAlchemy events; an executemany
counts once), and the action's time as a multiple of the floor's."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
from pathlib import Path
from time import perf_counter, process_time
from typing import Any

from sqlalchemy import Table, bindparam, event, insert, select

from bench.common import DEPLOYER, NOW, fresh_sqlite
from bench.import_rate import bundle_files
from engine.bootstrap import UowFactory, uow_factory
from engine.services.bulk_records import create_records
from engine.services.deployments import deploy_bundle
from engine.services.mass_actions import parse_action, run_action
from engine.services.users import create_user, get_actor
from engine.store.models import FieldChangeRow, RecordRow

ACTIONS = (
    {"action": "tag", "code": "vip"},
    {"action": "set", "field": "category", "value": "regular"},
    {"action": "assign", "to": "seller"},
)


def make_database(path: Path, records: int) -> None:
    """A deployed SQLite database with an admin, a seller and `records` contacts."""
    factory = uow_factory(fresh_sqlite(path))
    try:
        deploy_bundle(factory(), DEPLOYER, bundle_files(True), NOW)
        admin = get_actor(factory(), create_user(factory(), "boss", "bench-password-1", ["admin"], NOW).id)
        create_user(factory(), "seller", "bench-password-2", ["sales"], NOW)
        for start in range(0, records, 1000):
            create_records(
                factory(),
                admin,
                "Contact",
                [
                    {"full_name": f"Person {i}", "email": f"p{i}@example.com"}
                    for i in range(start, min(records, start + 1000))
                ],
                NOW,
            )
    finally:
        factory.dispose()


def _counted(factory: UowFactory) -> list[int]:
    count = [0]
    event.listen(factory.engine, "before_cursor_execute", lambda *_: count.__setitem__(0, count[0] + 1))
    return count


def floor(url: str) -> dict[str, Any]:
    """The same writes as tagging every contact, by hand: one executemany UPDATE, one multi-row INSERT."""
    factory = uow_factory(url)
    try:
        with factory() as uow:
            rows = uow.session.execute(
                select(RecordRow.id, RecordRow.data, RecordRow.revision).where(RecordRow.entity == "Contact")
            ).all()
        count = _counted(factory)
        start, cpu = perf_counter(), process_time()
        with factory() as uow:
            table = RecordRow.__table__
            assert isinstance(table, Table)
            stmt = (
                table.update()
                .where(table.c.id == bindparam("b_id"), table.c.revision == bindparam("b_old"))
                .values(data=bindparam("b_data"), revision=bindparam("b_new"), updated_at=bindparam("b_at"))
            )
            uow.session.execute(
                stmt,
                [
                    {"b_id": i, "b_old": r, "b_new": r + 1, "b_at": NOW, "b_data": {**data, "tags": ["vip"]}}
                    for i, data, r in rows
                ],
            )
            uow.session.execute(
                insert(FieldChangeRow.__table__),
                [  # type: ignore[arg-type]
                    {
                        "record_id": i,
                        "at": NOW,
                        "actor": "boss",
                        "source": "mass action",
                        "field": "tags",
                        "old_value": None,
                        "new_value": ["vip"],
                    }
                    for i, _, _ in rows
                ],
            )
            uow.commit()
        return {
            "records": len(rows),
            "seconds": round(perf_counter() - start, 3),
            "cpu_s": round(process_time() - cpu, 3),
            "statements": count[0],
        }
    finally:
        factory.dispose()


def act(url: str, action: dict[str, Any]) -> dict[str, Any]:
    """One mass action on every contact, timed."""
    factory = uow_factory(url)
    try:
        with factory() as uow:
            boss = uow.users.by_username("boss")
            assert boss is not None
            boss_id = boss.id
        actor = get_actor(factory(), boss_id)
        count = _counted(factory)
        start, cpu = perf_counter(), process_time()
        summary = run_action(factory(), actor, {"entity": "Contact"}, parse_action(action), NOW)
        return {
            "records": summary.records,
            "changed": summary.changed,
            "seconds": round(perf_counter() - start, 3),
            "cpu_s": round(process_time() - cpu, 3),
            "statements": count[0],
        }
    finally:
        factory.dispose()


def measure(workdir: Path, records: int) -> dict[str, Any]:
    """Every action and the floor, each on a fresh copy of the same database."""
    base = workdir / "mass-base.sqlite"
    make_database(base, records)
    results: dict[str, Any] = {"records": records, "load_average": os.getloadavg()[0]}
    for name, run in [("floor_executemany", floor), *((a["action"], lambda url, a=a: act(url, a)) for a in ACTIONS)]:
        copy = workdir / f"mass-{name}.sqlite"
        shutil.copy(base, copy)
        results[name] = run(f"sqlite:///{copy}")
    low, low_cpu = results["floor_executemany"]["seconds"], results["floor_executemany"]["cpu_s"]
    for action in ACTIONS:
        found = results[action["action"]]
        found["times_floor"] = round(found["seconds"] / low, 1) if low else None
        found["cpu_times_floor"] = round(found["cpu_s"] / low_cpu, 1) if low_cpu else None
    results["load_average_end"] = os.getloadavg()[0]
    return results


def main(argv: list[str] | None = None) -> None:
    """Command line: print the results as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=5000, help="contacts each action changes (default 5,000)")
    parser.add_argument("--workdir", type=Path, help="keep the SQLite files here (default: a temporary folder)")
    args = parser.parse_args(argv)
    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
        print(json.dumps(measure(args.workdir, args.records), indent=1))
        return
    with tempfile.TemporaryDirectory() as folder:
        print(json.dumps(measure(Path(folder), args.records), indent=1))


if __name__ == "__main__":
    main()
