"""The demo seed creates runs of alike records through the batch path and leaves exactly the database that
creating them one by one leaves: records with their ids, history, links, keys, processes and tasks."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from engine.demo import seed
from engine.errors import ValidationError
from engine.services import bulk_records
from engine.services.bulk_records import create_records
from engine.services.views import Actor
from engine.store.models import Base
from engine.store.uow import UnitOfWork
from tests.conftest import NOW, ROOT, DeployedSnapshots

MakeUow = Callable[[], UnitOfWork]
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# columns that differ between two runs of the same seed: a password hash is salted afresh each time, and a
# workflow's serialized state orders its tasks by their random ids (its tasks are compared in their own table)
UNSTABLE = {"user_account": {"password_hash"}, "process_instance": {"state_json"}}


def state(make_uow: MakeUow) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows (surrogate ids left out but record ids), sorted."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    with make_uow() as uow:
        for table in Base.metadata.sorted_tables:
            if table.name == "alembic_version":
                continue
            columns = [
                c
                for c in table.columns
                if (c.name != "id" or table.name == "record") and c.name not in UNSTABLE.get(table.name, ())
            ]
            rows = uow.session.execute(select(*columns)).all()
            found[table.name] = sorted(tuple(UUID.sub("<uuid>", repr(v)) for v in row) for row in rows)
    return found


def restore(db_url: str, make_uow: MakeUow, snapshots: DeployedSnapshots, files: dict[str, str]) -> None:
    """Back to the freshly deployed bundle (as the `deployed` fixture leaves it)."""
    if db_url.startswith("sqlite:///"):
        getattr(make_uow, "dispose", lambda: None)()
        snapshots.restore_sqlite(Path(db_url.removeprefix("sqlite:///")), files, False)
    else:
        snapshots.restore_postgres(db_url, files, False)


def test_the_batch_seed_leaves_the_same_database_as_one_by_one(
    deployed: MakeUow,
    db_url: str,
    deployed_snapshots: DeployedSnapshots,
    bundle_files: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = ROOT / "demo" / "seed.yaml"
    alone = seed(deployed, path, NOW, bulk=False)
    expected = state(deployed)
    restore(db_url, deployed, deployed_snapshots, bundle_files)
    batches: list[int] = []
    real = bulk_records.insert_records

    def counted(uow: UnitOfWork, actor: Actor, entity: Any, cleans: Any, *args: Any, **kwargs: Any) -> Any:
        batches.append(len(cleans))
        return real(uow, actor, entity, cleans, *args, **kwargs)

    monkeypatch.setattr(bulk_records, "insert_records", counted)
    together = seed(deployed, path, NOW)
    assert len(batches) >= 5, batches  # the territories, the products... went together
    assert together == alone
    assert together["records"] > 100
    actual = state(deployed)
    for name in expected:
        diff = sorted(set(actual[name]) ^ set(expected[name]))
        assert diff == [], (name, [(row in expected[name], str(row)[:300]) for row in diff[:4]])


def test_creating_many_records_names_each_bad_one_and_writes_none(deployed: MakeUow, actors: dict[str, Actor]) -> None:
    with pytest.raises(ValidationError) as exc:
        create_records(
            deployed(),
            actors["admin"],
            "Product",
            [{"name": "Good", "sku": "G-1", "price": "10"}, {"sku": "NO-NAME", "price": "ten"}],
            NOW,
        )
    assert set(exc.value.errors) == {"[2] name", "[2] price"}, exc.value.errors
    with deployed() as uow:
        assert not uow.records.list_any()
    made = create_records(
        deployed(),
        actors["admin"],
        "Product",
        [{"name": f"P{i}", "sku": f"P-{i}", "price": "10"} for i in range(3)],
        NOW,
    )
    assert [row.title for row in made] == ["P0", "P1", "P2"]
