"""The import's exact-duplicate finder (engine/imports/duplicates.py) without a database."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

from engine.config.model import Bundle, Entity
from engine.imports.duplicates import ExactDuplicates
from engine.store.models import RecordRow
from engine.store.uow import UnitOfWork


class CountingRecords(dict[int, RecordRow]):
    """The finder's held records, counting how often all of them are gone through."""

    walks = 0

    def __iter__(self) -> Any:
        CountingRecords.walks += 1
        return super().__iter__()


def test_holding_records_already_held_goes_through_none_of_the_held_ones() -> None:
    finder = ExactDuplicates(cast(Bundle, SimpleNamespace(duplicates={})), cast(Entity, SimpleNamespace(name="E")))
    records = CountingRecords({record_id: cast(RecordRow, object()) for record_id in range(2000)})
    finder.records = records
    for record_id in range(500):  # a row of the batch each: the records it may be are held already
        finder.hold(cast(UnitOfWork, None), {record_id, record_id + 1})
    assert CountingRecords.walks == 0  # before: 500, a set of the 2,000 held ids made for every row
    assert finder.records is records
    assert len(records) == 2000
