"""Search and match keys held for one sorted INSERT (engine/store/waiting_keys.py, `UnitOfWork.keys_together`):
the database ends as if each key had been written at once — reads in the block see them, a record's replace takes
its waiting keys, a savepoint that rolls back undoes what it held, replaced or sent, and a key takes its record's
owner as it is when sent."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import event, select

from engine.services import records
from engine.store import waiting_keys
from engine.store.models import RecordRow
from engine.store.quality_models import MatchKeyRow
from engine.store.search_models import SearchKeyRow
from engine.store.uow import UnitOfWork
from tests.conftest import NOW

MakeUow = Callable[[], UnitOfWork]


def _keys(make_uow: MakeUow, record_id: int) -> tuple[list[tuple[str, int | None]], list[tuple[str, str]]]:
    """A record's search keys (key, owner) and match keys (name, value), sorted."""
    with make_uow() as uow:
        search = uow.session.execute(
            select(SearchKeyRow.key, SearchKeyRow.owner_id).where(SearchKeyRow.record_id == record_id)
        ).all()
        match = uow.session.execute(
            select(MatchKeyRow.key, MatchKeyRow.value).where(MatchKeyRow.record_id == record_id)
        ).all()
    return sorted((k, o) for k, o in search), sorted((k, v) for k, v in match)


def _fresh(make_uow: MakeUow, actors: dict, title: str) -> int:
    """A lead whose keys are removed, to be given test keys."""
    lead_id = records.create_record(make_uow(), actors["head"], "Lead", {"title": title}, NOW).id
    with make_uow() as uow:
        uow.search.delete_of([lead_id])
        uow.quality.replace_keys(lead_id, "Lead", [])
        uow.commit()
    return lead_id


@contextmanager
def _holding(make_uow: MakeUow, actors: dict, title: str) -> Iterator[tuple[UnitOfWork, RecordRow]]:
    """A fresh lead, loaded in a unit of work whose block holds keys; committed after the block."""
    lead_id = _fresh(make_uow, actors, title)
    uow = make_uow()
    with uow:
        row = uow.records.get(lead_id)
        assert row is not None
        with uow.keys_together():
            yield uow, row
        uow.commit()


def test_keys_wait_for_the_end_of_the_block_and_reads_in_it_see_them(deployed: MakeUow, actors: dict) -> None:
    with _holding(deployed, actors, "Waiting keys") as (uow, row):
        lead_id = row.id
        uow.search.add_many([row], [["zeta", "alpha"]])
        uow.quality.add_keys([(lead_id, "Lead", "phone", "+79120000000")])
        assert uow.session.execute(select(SearchKeyRow.id).where(SearchKeyRow.record_id == lead_id)).all() == []
        # a lookup of match keys sends them first
        assert uow.quality.key_matches("Lead", [("phone", "+79120000000")]) == [(lead_id, "phone", "+79120000000")]
        row.owner_id = actors["sales"].id  # a rule gave the record another owner after its keys were made
        uow.flush()
    owner = actors["sales"].id
    assert _keys(deployed, lead_id) == ([("alpha", owner), ("zeta", owner)], [("phone", "+79120000000")])


def test_a_replace_takes_the_waiting_keys_and_a_rolled_back_savepoint_gives_them_back(
    deployed: MakeUow, actors: dict
) -> None:
    with _holding(deployed, actors, "Replaced keys") as (uow, row):
        lead_id = row.id
        uow.search.add_many([row], [["first"]])
        uow.quality.add_keys([(lead_id, "Lead", "email", "a@example.com")])
        savepoint = uow.imports.savepoint()
        uow.search.replace(lead_id, "Lead", ["undone"], row.owner_id)
        uow.quality.replace_keys(lead_id, "Lead", [("email", "undone@example.com")])
        uow.search.add_many([row], [["also-undone"]])
        savepoint.rollback()
        uow.search.replace(lead_id, "Lead", ["second", "third"], row.owner_id)
    owner = row.owner_id
    assert _keys(deployed, lead_id) == ([("second", owner), ("third", owner)], [("email", "a@example.com")])


def test_keys_sent_in_a_savepoint_that_rolls_back_wait_again(deployed: MakeUow, actors: dict) -> None:
    with _holding(deployed, actors, "Sent and undone") as (uow, row):
        lead_id = row.id
        uow.quality.add_keys([(lead_id, "Lead", "phone", "+79121111111")])
        savepoint = uow.imports.savepoint()
        uow.quality.add_keys([(lead_id, "Lead", "phone", "+79122222222")])
        assert len(uow.quality.key_matches("Lead", [("phone", "+79121111111")])) == 1  # sent here
        savepoint.rollback()  # the database forgot both; the first waits again
    assert _keys(deployed, lead_id)[1] == [("phone", "+79121111111")]


def test_keys_a_replace_took_before_a_send_in_a_rolled_back_savepoint_come_back(
    deployed: MakeUow, actors: dict
) -> None:
    other_id = _fresh(deployed, actors, "Sent, undone")
    with _holding(deployed, actors, "Taken, sent, undone") as (uow, row):
        lead_id = row.id
        uow.quality.add_keys([(lead_id, "Lead", "email", "kept@example.com")])
        uow.quality.add_keys([(other_id, "Lead", "email", "other@example.com")])
        savepoint = uow.imports.savepoint()
        uow.quality.replace_keys(lead_id, "Lead", [])  # takes the lead's waiting key
        uow.quality.key_matches("Lead", [("email", "other@example.com")])  # sends the other's, here
        savepoint.rollback()  # both undone: the lead's key and the other's wait again
    assert (_keys(deployed, lead_id)[1], _keys(deployed, other_id)[1]) == (
        [("email", "kept@example.com")],
        [("email", "other@example.com")],
    )


def test_keys_sent_in_a_released_savepoint_are_let_go_or_undone_with_the_savepoint_around_it(
    deployed: MakeUow, actors: dict
) -> None:
    with _holding(deployed, actors, "Sent and released") as (uow, row):
        lead_id = row.id
        uow.quality.add_keys([(lead_id, "Lead", "phone", "+79123333333")])
        outer = uow.imports.savepoint()
        inner = uow.imports.savepoint()
        uow.quality.key_matches("Lead", [("phone", "+79123333333")])  # sent in the inner savepoint
        inner.commit()
        outer.rollback()  # undoes what the inner one sent: the key waits again
        uow.quality.key_matches("Lead", [("phone", "+79123333333")])  # sent again, in the transaction itself
        released = uow.imports.savepoint()
        uow.quality.add_keys([(lead_id, "Lead", "email", "released@example.com")])
        uow.quality.key_matches("Lead", [("email", "released@example.com")])  # sent in a savepoint
        released.commit()
        # nothing can undo those but the transaction: the block keeps none of the keys it sent (nor their records)
        assert uow.session.info[waiting_keys._HELD].sent == []
    assert _keys(deployed, lead_id)[1] == [("email", "released@example.com"), ("phone", "+79123333333")]


def _stored(make_uow: MakeUow, actors: dict, title: str, phone: str) -> int:
    """A fresh lead with a stored search key and match key (written before any block)."""
    lead_id = _fresh(make_uow, actors, title)
    with make_uow() as uow:
        row = uow.records.get(lead_id)
        assert row is not None
        uow.search.replace(lead_id, "Lead", ["stored"], row.owner_id)
        uow.quality.replace_keys(lead_id, "Lead", [("phone", phone)])
        uow.commit()
    return lead_id


def test_stored_keys_a_replace_removes_go_in_one_delete_per_table_just_before_the_waiting_keys(
    deployed: MakeUow, actors: dict
) -> None:
    first = _stored(deployed, actors, "Stored one", "+79124444441")
    second = _stored(deployed, actors, "Stored two", "+79124444442")
    sent: list[str] = []

    def note(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        sent.append(statement)

    uow = deployed()
    with uow:
        bind = uow.session.get_bind()
        event.listen(bind, "before_cursor_execute", note)
        try:
            rows = uow.records.by_ids([first, second])
            with uow.keys_together():
                for lead_id, phone in ((first, "+79125555551"), (second, "+79125555552")):
                    uow.search.replace(lead_id, "Lead", ["new", "newer"], rows[lead_id].owner_id)
                    uow.quality.replace_keys(lead_id, "Lead", [("phone", phone)])
                assert not [s for s in sent if s.lstrip().upper().startswith(("DELETE", "INSERT"))]
                # a read of match keys sends the waiting ones: the stored keys of both records go first
                assert uow.quality.key_matches("Lead", [("phone", "+79124444441"), ("phone", "+79125555551")]) == [
                    (first, "phone", "+79125555551")]
            uow.commit()
        finally:
            event.remove(bind, "before_cursor_execute", note)
    writes = [" ".join(s.split()[:3]) for s in sent if s.lstrip().upper().startswith(("DELETE", "INSERT"))]
    assert writes == ["DELETE FROM match_key", "INSERT INTO match_key", "DELETE FROM search_key",
                      "INSERT INTO search_key"]
    owner = rows[first].owner_id
    assert _keys(deployed, first) == ([("new", owner), ("newer", owner)], [("phone", "+79125555551")])
    assert _keys(deployed, second)[1] == [("phone", "+79125555552")]


def test_a_replace_of_stored_keys_undone_by_a_savepoint_leaves_them_and_the_next_replace_deletes_them(
    deployed: MakeUow, actors: dict
) -> None:
    lead_id = _stored(deployed, actors, "Stored, undone", "+79126666661")
    with deployed() as uow:
        row = uow.records.get(lead_id)
        assert row is not None
        with uow.keys_together():
            savepoint = uow.imports.savepoint()
            uow.search.replace(lead_id, "Lead", ["undone"], row.owner_id)
            uow.quality.replace_keys(lead_id, "Lead", [("phone", "+79126666662")])
            savepoint.rollback()
            assert uow.quality.keys_of(lead_id) == [("phone", "+79126666661")]
            uow.search.replace(lead_id, "Lead", ["after"], row.owner_id)
            uow.quality.replace_keys(lead_id, "Lead", [("phone", "+79126666663")])
        uow.commit()
    owner = row.owner_id
    assert _keys(deployed, lead_id) == ([("after", owner)], [("phone", "+79126666663")])
