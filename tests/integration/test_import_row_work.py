"""Work an import does once per row or once per value, not again at every step that asks: a row's content hash
(its lookup of earlier imports, its run, a matched row's change, a row written alone)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.integration.test_import_bulk import import_twice, write_file

Factory = Callable[[], UnitOfWork]


@pytest.mark.parametrize("mode", ["valid_only", "all_or_nothing"])
def test_each_row_of_an_import_is_hashed_once(
    deployed: Factory, actors: dict[str, Actor], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    import engine.imports.rows as rows

    hashed: Counter[str] = Counter()
    row_hash = rows.row_hash

    def counted(entity: str, data: dict[str, Any]) -> str:
        digest = row_hash(entity, data)
        hashed[digest] += 1
        return digest

    monkeypatch.setattr(rows, "row_hash", counted)
    path = write_file(tmp_path / "contacts.csv", 120)  # repeats, matched rows, a reject, rows going alone
    [(status, counts, _, rejects)] = import_twice(deployed, actors["admin"], path, bulk=True, times=1, mode=mode)
    lines = len(path.read_text(encoding="utf-8").splitlines()) - 1
    assert lines == 123
    assert [number for number, _ in rejects] == [27, 62]
    if mode == "valid_only":  # all or nothing writes nothing for a file with rejected rows: only they count
        assert status == "done"
        assert counts["merged"] + counts["review"] > 0  # rows matching earlier ones were looked at again
    # before, a row was hashed for the batch's lookup of earlier imports, again to join a run, and again by the
    # path it then took: 2 to 4 times
    assert sum(hashed.values()) == lines
