"""The duplicate keys of a record an import creates are computed once from its values: for the look before a
change (engine/imports/rule_pairs.py, note_new) and for its match_key rows (engine/services/bulk_records.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from engine.imports import rule_pairs
from engine.imports.run import run_import
from engine.processes.deployed import active_bundle
from engine.quality import matching
from engine.services import bulk_records
from engine.services.imports import create_job, get_job
from engine.services.views import Actor
from engine.store.quality_models import MatchKeyRow
from engine.store.uow import UnitOfWork
from tests.conftest import NOW

Factory = Callable[[], UnitOfWork]


def test_an_imported_record_is_keyed_once_and_its_match_keys_are_those_of_its_values(
    deployed: Factory, actors: dict[str, Actor], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keyed: list[dict[str, Any]] = []

    def counting(config: Any, data: Any, region: str) -> matching.Keys:
        keyed.append(dict(data))
        return matching.record_keys(config, data, region)

    monkeypatch.setattr(rule_pairs, "record_keys", counting)
    monkeypatch.setattr(bulk_records, "record_keys", counting)
    path = tmp_path / "people.csv"
    surnames = ("Orlov", "Sokolov", "Lebedev", "Kozlov", "Novikov")
    path.write_text(
        "Name,Email,Phone\n"
        + "".join(
            f"{surnames[n % 5]} Ivan{'ov' * (n // 5)},p{n}@example.com,+7 912 {100 + n:03d}-00-{n:02d}\n"
            for n in range(20)
        ),
        encoding="utf-8",
    )
    job = create_job(deployed(), actors["admin"], "Contact", path.name, path, NOW)
    run_import(deployed, job.id, lambda: NOW, batch_size=100)
    done = get_job(deployed(), actors["admin"], job.id)
    assert (done.status, done.counts["created"]) == ("done", 20)
    assert len(keyed) == 20  # before: 40 (note_new, then again for the match_key rows)
    uow = deployed()
    with uow:
        config = matching.rules_of(active_bundle(uow)[0], "Contact")
        stored = {(row.record_id, row.key, row.value) for row in uow.session.scalars(select(MatchKeyRow))}
        records = uow.records.by_ids({record_id for record_id, _, _ in stored})
    assert config is not None
    assert len(records) == 20
    assert stored == {
        (record_id, name, value)
        for record_id, record in records.items()
        for name, values in matching.record_keys(config, record.data, "RU").items()
        for value in values
    }
