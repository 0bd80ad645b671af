"""Exports: CSV with a BOM and labels, XLSX with typed cells, rows produced in id batches."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import pytest
from openpyxl import load_workbook

from engine.errors import Forbidden, ValidationError
from engine.services.exports import csv_chunks, export_rows, segment_rows, write_xlsx
from engine.services.records import create_record
from engine.services.segments import create_segment
from engine.services.users import create_user
from engine.services.views import Actor
from engine.store.quality_repos import SegmentRepository
from engine.store.uow import UnitOfWork
from tests.conftest import NOW

MakeUow = Callable[[], UnitOfWork]
DEALS = {"entity": "Deal", "where": {"field": "amount", "op": "gte", "value": "1000"}}


@pytest.fixture
def deals(deployed: MakeUow, actors: dict[str, Actor]) -> dict[str, int]:
    """A client (Contact) and two deals of it owned by sam, one small deal of sue."""
    head = actors["head"]
    client = create_record(deployed(), head, "Contact", {"full_name": "Иван Петров", "email": "ivan@example.com",
                                                         "tags": ["vip", "partner"], "status": "interested"}, NOW,
                           owner_id=actors["sales"].id)
    big = create_record(deployed(), head, "Deal", {"title": "Ноутбуки", "client": client.id, "amount": "150000.50",
                                                   "close_date": "2026-04-30", "stage": "won"}, NOW,
                        owner_id=actors["sales"].id)
    other = create_record(deployed(), head, "Deal", {"title": "Chairs", "amount": "2000"}, NOW,
                          owner_id=actors["sales2"].id)
    create_record(deployed(), head, "Deal", {"title": "Small", "amount": "10"}, NOW, owner_id=actors["sales"].id)
    return {"client": client.id, "big": big.id, "other": other.id}


def csv_text(make_uow: MakeUow, actor: Actor, data: Any, **kwargs: Any) -> str:
    columns, batches = export_rows(make_uow(), actor, data, NOW, **kwargs)
    locale = kwargs.get("locale", "en")
    return "".join(csv_chunks(columns, batches, locale=locale))


def test_csv_starts_with_a_bom_and_shows_labels_and_titles(deployed: MakeUow, actors: dict[str, Actor],
                                                            deals: dict[str, int]) -> None:
    text = csv_text(deployed, actors["admin"], DEALS, columns=["id", "title", "client", "stage", "amount",
                                                                "close_date", "owner"], locale="ru")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows[0] == ["ID", "Название", "Клиент", "Этап", "Сумма", "Дата закрытия", "Ответственный"]
    assert rows[1:] == [[str(deals["big"]), "Ноутбуки", "Иван Петров", "Выиграна", "150000.50", "2026-04-30", "sam"],
                        [str(deals["other"]), "Chairs", "", "Новая", "2000", "", "sue"]]
    contacts = csv_text(deployed, actors["admin"], {"entity": "Contact"}, columns=["full_name", "tags"])
    assert list(csv.reader(io.StringIO(contacts.removeprefix("\ufeff"))))[1] == ["Иван Петров", "VIP, Partner"]
    assert text.encode("utf-8").startswith(b"\xef\xbb\xbf")


def test_exports_see_only_what_the_actor_sees(deployed: MakeUow, actors: dict[str, Actor],
                                              deals: dict[str, int]) -> None:
    text = csv_text(deployed, actors["sales"], DEALS, columns=["title"])
    assert text.splitlines()[1:] == ["Ноутбуки"]
    with pytest.raises(Forbidden):
        export_rows(deployed(), actors["designer"], DEALS, NOW)
    with pytest.raises(ValidationError) as exc:
        export_rows(deployed(), actors["admin"], DEALS, NOW, columns=["title", "nosuch"])
    assert "nosuch" in exc.value.errors["columns"][0]


def test_xlsx_cells_are_typed(deployed: MakeUow, actors: dict[str, Actor], deals: dict[str, int]) -> None:
    saved = create_segment(deployed(), actors["head"], "Deal", "Big deals", DEALS, NOW)
    columns, batches = segment_rows(deployed(), actors["admin"], saved.id, NOW,
                                    columns=["id", "title", "amount", "close_date", "created_at", "stage"])
    target = io.BytesIO()
    write_xlsx(columns, batches, target)
    target.seek(0)
    book = load_workbook(target, read_only=True)
    try:
        rows = list(book.active.iter_rows(values_only=True))
    finally:
        book.close()
    assert rows[0] == ("ID", "Title", "Amount", "Close date", "Created (UTC)", "Stage")  # the zone of its times
    ident, title, amount, close_date, created_at, stage = rows[1]
    assert (ident, title, stage) == (deals["big"], "Ноутбуки", "Won")
    assert isinstance(amount, float | int)
    assert amount == pytest.approx(150000.50)
    assert isinstance(close_date, datetime)
    assert close_date.date() == date(2026, 4, 30)
    assert created_at == NOW.replace(tzinfo=None)
    assert rows[2][2] == 2000
    assert rows[2][3] is None


def test_a_large_export_is_read_in_id_batches(deployed: MakeUow, actors: dict[str, Actor],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(23):
        create_record(deployed(), actors["admin"], "Contact", {"full_name": f"Person {i:02}",
                                                                "email": f"p{i}@example.com"}, NOW)
    loaded: list[int] = []
    real = SegmentRepository.records_in_order

    def spy(self: SegmentRepository, ids: Any) -> Any:
        rows = real(self, ids)
        loaded.append(len(rows))
        return rows

    monkeypatch.setattr(SegmentRepository, "records_in_order", spy)
    columns, batches = export_rows(deployed(), actors["admin"], {"entity": "Contact"}, NOW, columns=["full_name"],
                                   batch=10)
    assert loaded == []  # nothing is read before the rows are asked for
    chunks = csv_chunks(columns, batches)
    assert next(chunks) == "\ufeffFull name\r\n"
    assert next(chunks).splitlines() == [f"Person {i:02}" for i in range(10)]
    assert loaded == [10]
    rest = list(chunks)
    assert loaded == [10, 10, 3]
    assert len(rest) == 2
    assert rest[-1].splitlines()[-1] == "Person 22"


def test_an_export_gives_the_owners_name_beside_the_login(deployed: MakeUow, actors: dict[str, Actor]) -> None:
    vera = create_user(deployed(), "vera", "correct-horse-1", ["sales"], NOW, display_name="Вера Лебедева")
    create_record(deployed(), actors["head"], "Deal", {"title": "Кресла", "amount": "5000"}, NOW, owner_id=vera.id)
    text = csv_text(deployed, actors["admin"], DEALS, locale="ru")
    header, row = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert (row[header.index("Ответственный")], row[header.index("Имя ответственного")]) == ("vera", "Вера Лебедева")
