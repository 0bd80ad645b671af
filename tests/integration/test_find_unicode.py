"""Case-insensitive text operators fold every script the same way on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

from engine.services.finding import count_records
from engine.services.records import create_record
from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.conftest import NOW


def test_cyrillic_starts_with_and_contains_ignore_case(deployed: Callable[[], UnitOfWork],
                                                        actors: dict[str, Actor]) -> None:
    head = actors["head"]
    for name in ("Смирнов Иван", "СМИРНОВА Ольга", "Петров Смирнов", "Ёлкин Пётр"):
        create_record(deployed(), head, "Contact", {"full_name": name}, NOW)

    def count(op: str, value: str) -> int:
        where = {"field": "full_name", "op": op, "value": value}
        return count_records(deployed(), actors["admin"], {"entity": "Contact", "where": where}, NOW)

    assert count("starts_with", "смирнов") == 2
    assert count("contains", "СМИРНОВ") == 3
    assert count("starts_with", "ЁЛКИН") == 1
    assert count("contains", "пётр") == 1
