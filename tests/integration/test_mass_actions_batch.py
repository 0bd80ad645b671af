"""Mass actions on fields no rule watches write through the batch path: one multi-row history INSERT and one
executemany UPDATE for all the records, so the statements an action runs do not grow with the records it changes
(counted with SQLAlchemy events: a regression to one write per record fails here)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from engine.errors import ConflictError
from engine.processes.deployed import active_bundle
from engine.rules.dispatch import rules_watch
from engine.services.mass_actions import parse_action, run_action
from engine.services.records import create_record, get_record, record_history
from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.conftest import NOW
from tests.statements import as_insert

MakeUow = Callable[[], UnitOfWork]
ALL_CONTACTS = {"entity": "Contact"}
AUDITOR = Actor(None, "check", "check", frozenset({"auditor"}))


@contextmanager
def counted(make_uow: MakeUow) -> Iterator[list[str]]:
    """Every SQL statement sent to the database inside the block (an executemany counts once)."""
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(" ".join(as_insert(statement).split()))

    engine = make_uow.engine  # type: ignore[attr-defined]
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def contacts(make_uow: MakeUow, actors: dict[str, Actor], start: int, count: int) -> list[int]:
    """`count` contacts owned by sue (sales2), created by the admin."""
    return [
        create_record(
            make_uow(),
            actors["admin"],
            "Contact",
            {"full_name": f"Person {i}", "email": f"p{i}@example.com"},
            NOW,
            owner_id=actors["sales2"].id,
        ).id
        for i in range(start, start + count)
    ]


def writes(statements: list[str]) -> list[str]:
    return [
        s.split(" (")[0] if s.startswith("INSERT") else s.split(" SET")[0]
        for s in statements
        if s.startswith(("INSERT", "UPDATE", "DELETE"))
    ]


@pytest.mark.parametrize(
    ("action", "check"),
    [
        ({"action": "tag", "code": "vip"}, lambda data, owner: data.get("tags") == ["vip"]),
        (
            {"action": "set", "field": "category", "value": "regular"},
            lambda data, owner: data.get("category") == "regular",
        ),
        ({"action": "assign", "to": "sam"}, lambda data, owner: owner == "sam"),
    ],
)
def test_a_mass_action_runs_as_many_statements_for_60_records_as_for_20(
    deployed: MakeUow,
    actors: dict[str, Actor],
    action: dict[str, Any],
    check: Callable[[dict[str, Any], str | None], bool],
) -> None:
    bundle, _ = active_bundle(deployed())
    entity = bundle.entities["Contact"]
    assert not rules_watch(bundle, entity, "tags")
    assert not rules_watch(bundle, entity, "category")
    counts, written = [], []
    for size in (20, 60):
        ids = contacts(deployed, actors, 1000 * size, size)
        chosen = {"entity": "Contact", "where": {"all": [{"field": "id", "op": "in", "value": ids}]}}
        with counted(deployed) as statements:
            summary = run_action(deployed(), actors["admin"], chosen, parse_action(action), NOW)
        assert (summary.records, summary.changed, summary.errors) == (size, size, [])
        counts.append(len(statements))
        written.append(writes(statements))
        for record_id in ids:
            record = get_record(deployed(), actors["admin"], record_id)
            assert check(record.data, record.owner), record
            assert record.revision == 2  # created at revision 1 (one INSERT with its values), then this one write
        field = "owner" if action["action"] == "assign" else action.get("field", "tags")
        changes = [c for c in record_history(deployed(), AUDITOR, ids[-1]) if c.field == field]
        assert (changes[-1].source, changes[-1].actor) == ("mass action", actors["admin"].username)
    assert written[0] == written[1] == ["INSERT INTO field_change", "UPDATE record"], written
    assert counts[0] == counts[1], counts  # nothing per record
    assert counts[1] <= 12, counts


def test_a_record_changed_by_someone_else_meanwhile_stops_the_batch(
    db_url: str, deployed: MakeUow, actors: dict[str, Actor], monkeypatch: pytest.MonkeyPatch
) -> None:
    if db_url.startswith("sqlite"):
        # SQLite has one writer at a time: nobody can commit while the action's transaction writes, so the race
        # below cannot happen there (the second writer waited out the busy timeout, 30 s, and only then failed)
        pytest.skip("SQLite has one writer at a time: no concurrent commit can overtake a mass action")
    ids = contacts(deployed, actors, 0, 3)
    from engine.store.repositories import RecordRepository

    real = RecordRepository.update_many

    def behind_the_back(self: RecordRepository, rows: Any, values: Any) -> None:
        with deployed() as other:  # another transaction writes the second record first
            row = other.records.get(ids[1])
            assert row is not None
            row.data = {**row.data, "notes": "changed elsewhere"}
            other.commit()
        real(self, rows, values)

    monkeypatch.setattr(RecordRepository, "update_many", behind_the_back)
    with pytest.raises(ConflictError):
        run_action(deployed(), actors["admin"], ALL_CONTACTS, parse_action({"action": "tag", "code": "vip"}), NOW)
    for record_id in ids:
        assert "tags" not in get_record(deployed(), actors["admin"], record_id).data
