"""The review-pair key groups of a batch of new records (`QualityRepository.groups_of`, what an import asks after
each batch) cost about the same however many records the entity already has — also on PostgreSQL whose
statistics still say the tables are empty, as they do while an import grows them faster than autovacuum analyzes
them (a 100k import once spent tens of seconds a batch in this lookup)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import event, insert, text, update

from engine.store.models import RecordRow
from engine.store.uow import UnitOfWork
from tests.conftest import NOW

Factory = Callable[[], UnitOfWork]
KEYS = ("email", "phone", "name_initials", "name_sounds")
LIMITS = dict.fromkeys(KEYS, 50)
BATCH = 200


def _add_contacts(make_uow: Factory, first: int, count: int) -> None:
    """`count` contacts from id `first` with four match keys each; every value is shared by three consecutive
    records (a group of three per key value)."""
    ids = range(first, first + count)
    with make_uow() as uow:
        uow.session.execute(insert(RecordRow), [
            {"id": n, "entity": "Contact", "title": f"c{n}", "data": {}, "owner_id": None, "created_at": NOW,
             "created_by": "test", "updated_at": NOW, "revision": 1} for n in ids])
        uow.quality.add_keys([(n, "Contact", key, f"{key}-{n // 3}") for n in ids for key in KEYS])
        uow.commit()


def _work(make_uow: Factory, record_ids: list[int]) -> tuple[int, list[tuple[str, str, list[int]]]]:
    """What `groups_of` costs the database for these records — on PostgreSQL the buffers its statements touch
    (EXPLAIN ANALYZE, BUFFERS), on SQLite its virtual machine steps (hundreds) — and what it returns."""
    sent: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    with make_uow() as uow:
        bind = uow.session.get_bind()
        event.listen(bind, "before_cursor_execute", keep)
        try:
            groups = uow.quality.groups_of("Contact", record_ids, LIMITS)
        finally:
            event.remove(bind, "before_cursor_execute", keep)
    total = 0
    with bind.connect() as conn:
        for statement, params in sent:
            if conn.dialect.name == "sqlite":
                steps = [0]

                def step(steps: list[int] = steps) -> int:
                    steps[0] += 1
                    return 0

                raw = conn.connection.dbapi_connection
                raw.set_progress_handler(step, 100)  # type: ignore[union-attr]
                conn.exec_driver_sql(statement, params).all()
                raw.set_progress_handler(None, 100)  # type: ignore[union-attr]
                total += steps[0]
            else:
                (plan,) = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement,
                                               params).scalar()
                total += plan["Plan"]["Shared Hit Blocks"] + plan["Plan"]["Shared Read Blocks"]
                PLANS.append(_shape(plan["Plan"]))
                NODES.extend(_nodes(plan["Plan"]))
    return total, groups


PLANS: list[str] = []  # the plans measured on PostgreSQL, in order: named when the cost assertion fails
NODES: list[dict[str, Any]] = []  # every node of those plans


def _nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from _nodes(child)


def _shape(node: dict[str, Any], depth: int = 0) -> str:
    """A plan's nodes, one a line: type, relation or index, rows, buffers."""
    line = (f"{'  ' * depth}{node['Node Type']} {node.get('Index Name') or node.get('Relation Name') or ''} "
            f"rows={node.get('Actual Rows')} loops={node.get('Actual Loops')} "
            f"buffers={node.get('Shared Hit Blocks', 0) + node.get('Shared Read Blocks', 0)}")
    return "\n".join([line, *(_shape(child, depth + 1) for child in node.get("Plans", []))])


@pytest.fixture
def no_autovacuum(make_uow: Factory) -> Iterator[None]:
    """On PostgreSQL, fresh tables whose statistics stay those the test took: the suite's reset between tests
    DELETEs rows, and the dead index entries earlier tests left were read by these index scans (21,591 buffers
    against about 500); autovacuum analyzing the tables between the two measures, whenever it happened to run,
    changed the plans under them."""
    def autovacuum(on: bool) -> None:
        with make_uow() as uow:
            if uow.session.get_bind().dialect.name == "postgresql":
                if not on:
                    uow.session.execute(text("TRUNCATE match_key, record CASCADE"))
                    # and no column statistics either: ANALYZE of an empty table keeps those an earlier test's
                    # ANALYZE left (test_inbox_segments analyzes record), and they decided the plans measured here
                    # by which tests had run on the worker before (a superuser's delete: the suite's user)
                    uow.session.execute(text("DELETE FROM pg_statistic WHERE starelid IN "
                                             "('record'::regclass, 'match_key'::regclass)"))
                for table in ("record", "match_key"):
                    uow.session.execute(text(f"ALTER TABLE {table} SET (autovacuum_enabled = {str(on).lower()})"))
                uow.commit()

    autovacuum(False)
    yield
    autovacuum(True)


def _empty_statistics(make_uow: Factory) -> bool:
    """On PostgreSQL, the statistics of the tables an import grows: analyzed empty (the fixture cleared the columns'
    statistics), then filled without ANALYZE. Whether the database is PostgreSQL."""
    with make_uow() as uow:
        if uow.session.get_bind().dialect.name != "postgresql":
            return False
        uow.session.execute(text("ANALYZE record"))
        uow.session.execute(text("ANALYZE match_key"))
        uow.commit()
    PLANS.clear()
    NODES.clear()
    return True


@pytest.mark.usefixtures("no_autovacuum")
def test_key_groups_of_a_batch_cost_the_same_however_many_records_exist(make_uow: Factory) -> None:
    postgres = _empty_statistics(make_uow)
    _add_contacts(make_uow, 1, 1_000 + BATCH)
    small, found = _work(make_uow, list(range(1_001, 1_001 + BATCH)))
    _add_contacts(make_uow, 10_001, 5_000)
    big, again = _work(make_uow, list(range(1_001, 1_001 + BATCH)))
    # the batch's groups: three records per value (two at the edges of the batch, whose third is outside it)
    assert again == found
    assert len(found) == len(KEYS) * (BATCH // 3 + 1)
    assert found[0] == ("email", "email-333", [999, 1000, 1001])
    if not postgres:  # six times the records, about the same work (a plan scanning the entity's keys per key: 6-36×)
        assert big < 1.5 * small, f"{big} steps against {small}"
        return
    # PostgreSQL without statistics scans tables this small whole (a cheaper plan than 200 index look-ups at this
    # size, chosen on the sizes it reads from the files), so its work may grow with the table, never faster: no
    # node runs once per row of another (a per-row scan of every unmerged record read 11,244 buffers against 134)
    looped = [n for n in NODES if n.get("Actual Loops", 1) > 1]
    if looped or not big < 7 * small:  # the plans in full (an assertion message is shortened)
        pytest.fail(f"{big} buffers against {small}, {len(looped)} nodes run per row; the plans measured:\n"
                    + "\n\n".join(PLANS))


@pytest.mark.usefixtures("no_autovacuum")
def test_key_group_members_are_read_by_primary_key_whatever_the_statistics_say(make_uow: Factory) -> None:
    if not _empty_statistics(make_uow):
        pytest.skip("SQLite's planner keeps no statistics unless asked")
    _add_contacts(make_uow, 1, 1_000 + BATCH)
    _, found = _work(make_uow, list(range(1_001, 1_001 + BATCH)))
    assert len(found) == len(KEYS) * (BATCH // 3 + 1)
    # without statistics PostgreSQL takes `merged_into_id IS NULL` for rare (0.5 %): a join of match_key to record
    # on it was driven through that index once per key row, reading every unmerged record each time
    used = sorted({n["Index Name"] for n in NODES if "Index Name" in n})
    assert "ix_record_merged_into_id" not in used, "\n\n".join(PLANS)


def test_merged_records_and_groups_over_the_limit_are_left_out(make_uow: Factory) -> None:
    _add_contacts(make_uow, 1, 9)
    with make_uow() as uow:
        uow.quality.add_keys([(n, "Contact", "email", "shared") for n in range(1, 10)])
        uow.session.execute(update(RecordRow).where(RecordRow.id == 2).values(merged_into_id=1))
        uow.commit()
        groups = uow.quality.groups_of("Contact", [1, 4], {"email": 8, "phone": 50})
    # record 1's own values are held by no other unmerged record; email "shared" by nine records, eight of
    # them unmerged: within its limit of 8, over a limit of 7
    assert groups == [
        ("email", "email-1", [3, 4, 5]),
        ("email", "shared", [1, 3, 4, 5, 6, 7, 8, 9]),
        ("phone", "phone-1", [3, 4, 5]),
    ]
    with make_uow() as uow:
        assert uow.quality.groups_of("Contact", [1, 4], {"email": 7, "phone": 50}) == [
            ("email", "email-1", [3, 4, 5]),
            ("phone", "phone-1", [3, 4, 5]),
        ]


def test_members_of_every_chunk_are_sorted_out_by_one_primary_key_read(make_uow: Factory) -> None:
    _add_contacts(make_uow, 1, 1_500)
    sent: list[str] = []
    bound: list[Any] = []

    def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append(" ".join(statement.split()))
        bound.append(parameters)

    with make_uow() as uow:
        bind = uow.session.get_bind()
        event.listen(bind, "before_cursor_execute", keep)
        try:
            groups = uow.quality.groups_of("Contact", range(1, 1_501), LIMITS)  # three chunks of 500 records
        finally:
            event.remove(bind, "before_cursor_execute", keep)
    assert len(groups) == len(KEYS) * 500
    assert groups[0] == ("email", "email-0", [1, 2])
    # one read of the members' records for the three chunks, by primary key alone
    reads = [n for n, s in enumerate(sent) if s.startswith("SELECT record.id, record.merged_into_id FROM record")]
    assert len(reads) == 1, sent
    assert "merged_into_id IS NULL" not in sent[reads[0]]
    if bind.dialect.name == "postgresql":  # the ids as one array, not a parameter each (8× the client's CPU)
        assert len(bound[reads[0]]) == 1


def test_lists_of_a_look_at_the_pairs_go_as_one_parameter_each_on_postgresql(make_uow: Factory) -> None:
    _add_contacts(make_uow, 1, 1_500)
    sent: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((" ".join(statement.replace('"', "").split()), parameters))  # SQLite quotes "key"

    with make_uow() as uow:
        bind = uow.session.get_bind()
        event.listen(bind, "before_cursor_execute", keep)
        try:
            groups = uow.quality.groups_of("Contact", range(1, 1_501), LIMITS)  # three chunks of 500 records
            statuses = uow.quality.statuses_of("Contact", range(1, 1_501))
            data = uow.quality.record_data(range(1, 1_501))
        finally:
            event.remove(bind, "before_cursor_execute", keep)
    assert (len(groups), statuses, len(data)) == (len(KEYS) * 500, {}, 1_500)
    kinds = {"held keys": "SELECT match_key.key, match_key.value FROM match_key WHERE match_key.record_id",
             "counts": "SELECT match_key.key, match_key.value, count(*)",
             "members": "SELECT match_key.record_id, match_key.key, match_key.value FROM match_key",
             "pairs": "SELECT duplicate_pair.record_a_id", "records": "SELECT record.id, record.title"}
    found = {kind: [parameters for statement, parameters in sent if statement.startswith(prefix)]
             for kind, prefix in kinds.items()}
    if bind.dialect.name == "postgresql":
        # one statement of each per look, every list one array parameter: a statement with thousands of
        # placeholders cost more client CPU to build (SQLAlchemy) and parse (psycopg) than the query
        assert {kind: len(found[kind]) for kind in kinds} == dict.fromkeys(kinds, 1)
        assert max(len(parameters[0]) for parameters in found.values()) <= 2 * len(KEYS) + 2  # entity, HAVING
    else:  # SQLite: a chunk of 500 records a statement, a parameter per value, as before
        assert {kind: len(found[kind]) for kind in kinds} == dict.fromkeys(kinds, 3)
