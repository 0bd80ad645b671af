"""Sorted inbox tabs read by bounded index range scans (engine/store/inbox_segments.py): the same tasks in the same
order as the select over the whole tab, by offset and by keyset both ways, with ties and empty due dates."""

from __future__ import annotations

import random
import uuid
from datetime import timedelta
from functools import partial
from typing import Any

import pytest
from sqlalchemy import event, insert, text

from bench.inbox_http import rows_read
from engine.services import tasks
from engine.services.task_pages import around
from engine.services.tasks import TaskFilter
from engine.store.inbox_query import page_select
from engine.store.models import RecordRow, TaskCandidateRow, TaskRow
from tests.conftest import NOW

DATABASES_IN_TURN = True  # each case on SQLite, then on PostgreSQL: the statements built are shared


@pytest.fixture
def crowd(deployed, actors):
    """60 open tasks: assigned to sam, to sue or pooled for groups and users; due and creation times with ties,
    a fifth without a due date."""
    rng = random.Random(3)  # noqa: S311 - test data, not secrets
    who = [actors["sales"].id, actors["sales2"].id, None, None, None]
    candidates = []
    with deployed() as uow:
        for n in range(60):
            assignee = rng.choice(who)
            due = None if rng.random() < 0.2 else NOW + timedelta(hours=rng.randint(-6, 6))
            created = NOW - timedelta(hours=rng.randint(10, 14))
            task_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            uow.session.add(TaskRow(id=task_id, instance_id=None, record_id=None, spec_name="s", title=f"T{n}",
                                    form_key=None, lane=None, candidate_groups="", candidate_users="",
                                    assignee_id=assignee, state="open" if n % 11 else "completed", due_at=due,
                                    created_at=created))
            for kind, name in rng.sample([("group", "sales"), ("group", "south"), ("user", "sam")], 2):
                candidates.append(TaskCandidateRow(task_id=task_id, kind=kind, name=name,
                                                   pooled=assignee is None and n % 11 != 0,
                                                   sort_at=due or created, due_at=due))
        uow.session.flush()  # the tasks first: the candidate rows refer to them
        uow.session.add_all(candidates)
        uow.commit()


def _whole_tab(deployed, who, tab, flt):
    """The tab in the sort's order as the select over the whole tab reads it."""
    stmt = page_select(tab, len(who.groups), flt.sort, flt.descending, ())
    names = {**{f"cand_{n}": g for n, g in enumerate(sorted(who.groups))}, "cand_user": who.username}
    with deployed() as uow:
        return [t.id for t in uow.session.scalars(stmt, {**names, "user_ids": [who.id], "user_id": who.id,
                                                         "now": NOW, "limit": 500, "offset": 0})]


@pytest.mark.parametrize("tab", ["mine", "pool", "overdue"])
@pytest.mark.parametrize("sort", ["due", "created", "assignee"])
@pytest.mark.parametrize("descending", [False, True])
def test_sorted_tab_pages_match_the_whole_tab_select(deployed, actors, crowd, tab, sort, descending):
    sam, flt = actors["sales"], TaskFilter(sort=sort, descending=descending)
    whole = _whole_tab(deployed, sam, tab, flt)
    assert len(whole) > 5
    assert [t.id for t in tasks.list_tasks(deployed(), sam, tab, limit=500, now=NOW, flt=flt)] == whole
    offset_pages = [t.id for o in range(0, len(whole), 4)
                    for t in tasks.list_tasks(deployed(), sam, tab, limit=4, offset=o, now=NOW, flt=flt)]
    assert offset_pages == whole
    keyset_pages(deployed, sam, tab, flt, whole, 3)


def keyset_pages(deployed, who, tab, flt, whole, size):
    """Pages of `size` by "Next →" to the end, then by "← Previous" back to the first: the whole list in order."""
    forward, after = [], None
    while True:
        page = around(tasks.list_tasks(deployed(), who, tab, limit=size + 1, now=NOW, flt=flt, after=after), size,
                      after, None)
        forward.append([t.id for t in page.tasks])
        if page.next_after is None:
            break
        after = page.next_after
    assert [i for p in forward for i in p] == whole
    backward, before = [], page.prev_before
    while before is not None:
        page = around(tasks.list_tasks(deployed(), who, tab, limit=size + 1, now=NOW, flt=flt, before=before),
                      size, None, before)
        backward.append([t.id for t in page.tasks])
        before = page.prev_before
    assert backward == forward[-2::-1]

def _more_tasks(deployed, actors, count, start):
    """`count` more open tasks pooled for sales, every tenth assigned to sam, two of three on a record of their own
    (Core inserts: this is about size)."""
    rng = random.Random(start)  # noqa: S311 - test data, not secrets
    rows, candidates, records = [], [], []
    for n in range(start, start + count):
        task_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        assignee = actors["sales"].id if n % 10 == 0 else None
        due = None if n % 7 == 0 else NOW + timedelta(minutes=rng.randint(-9000, 9000))
        created = NOW - timedelta(minutes=rng.randint(0, 90000))
        title = f"Lead {rng.randint(1, 99_999)}"
        record = None if n % 3 == 0 else {"id": 10_000_000 + n, "entity": "Lead", "title": title, "data": {},
                                           "owner_id": None, "created_at": NOW, "created_by": "test",
                                           "updated_at": NOW, "revision": 1}
        records += [record] if record else []
        rows.append({"id": task_id, "instance_id": None, "record_id": record and record["id"],
                     "record_title": record and record["title"], "spec_name": "s", "title": f"T{n}",
                     "form_key": None, "lane": None, "candidate_groups": "sales", "candidate_users": "",
                     "assignee_id": assignee, "state": "open", "due_at": due, "created_at": created,
                     "completed_at": None, "completed_by": None})
        candidates.append({"task_id": task_id, "kind": "group", "name": "sales", "pooled": assignee is None,
                           "sort_at": due or created, "due_at": due})
    with deployed() as uow:
        uow.session.execute(insert(RecordRow), records)
        uow.session.execute(insert(TaskRow), rows)
        uow.session.execute(insert(TaskCandidateRow), candidates)
        uow.commit()


@pytest.fixture
def grown(deployed, actors, seeded_databases, db_url):
    """A unit-of-work factory on the deployed database with the first 1,000 or 5,000 tasks of `_more_tasks`, the
    same rows for every case (which only reads them): seeded once per session, 1,000 and then 4,000 more."""

    def seed(count, start):
        _more_tasks(deployed, actors, count, start)
        with deployed() as uow:
            if uow.session.get_bind().dialect.name == "postgresql":  # what autovacuum does by the time anyone looks
                uow.session.execute(text("ANALYZE record"))
                uow.session.execute(text("ANALYZE task"))
                uow.session.execute(text("ANALYZE task_candidate"))
                uow.commit()

    def grow(count):
        small = seeded_databases.get(deployed, db_url, "inbox_tasks_1000", partial(seed, 1000, 0))
        # the test database holds the first 1,000 when the 5,000 are seeded: both are seeded in the first case
        big = seeded_databases.get(deployed, db_url, "inbox_tasks_5000", partial(seed, 4000, 1000))
        return {1000: small, 5000: big}[count]

    return grow


def task_statements(deployed, call):
    """The database `call` (given a unit of work) talks to, and the statements reading the task table it sent."""
    sent: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    work = deployed()
    with work:
        bind = work.session.get_bind()
        event.listen(bind, "before_cursor_execute", keep)
        try:
            call(work)
        finally:
            event.remove(bind, "before_cursor_execute", keep)
    return bind, [(s, p) for s, p in sent if "FROM task" in s]


def _rows_read(deployed, call, last=False, no_bitmaps=False):
    """How much the database does for the page statement `call` sends (the first reading the task table, or the
    `last`): on PostgreSQL the rows its plan reads from the task tables (EXPLAIN ANALYZE, rows filtered out
    included), on SQLite its virtual machine steps (hundreds); `no_bitmaps`: see bench.inbox_http.rows_read."""
    bind, sent = task_statements(deployed, call)
    statement, params = sent[-1 if last else 0]
    # a few thousand tasks fit a handful of pages: the planner would read them whole, where at 100,000 it takes
    # the indexes; without sequential scans it plans as it does at scale (the whole-tab select it replaces still
    # reads every task of the tab, through an index)
    return rows_read(bind, statement, params, planned_at_scale=True, no_bitmaps=no_bitmaps)


@pytest.mark.parametrize("tab", ["mine", "pool", "overdue", "all"])
@pytest.mark.parametrize(("sort", "descending"), [("record", False), ("record", True)])
def test_a_page_by_record_title_reads_about_a_page_however_big_the_tab(deployed, actors, grown, tab, sort, descending):
    reader = actors["admin" if tab == "all" else "sales"]
    _reads_about_a_page(deployed, grown, reader, tab, TaskFilter(sort=sort, descending=descending))


@pytest.mark.parametrize("tab", ["mine", "pool", "overdue", "all"])
@pytest.mark.parametrize("sort", [None, "due", "record"])
def test_a_page_filtered_by_record_title_reads_about_a_page_however_big_the_tab(deployed, actors, grown, tab, sort):
    # the page alone: a tab count under a filter reads up to its cap of matching tasks (a tab the reader has no
    # candidate name for: all of it), more than a page
    reader = actors["admin" if tab == "all" else "sales"]
    _reads_about_a_page(deployed, grown, reader, tab, TaskFilter(sort=sort, record="lead"), counted=False)


@pytest.mark.parametrize("tab", ["mine", "pool", "overdue"])
@pytest.mark.parametrize(("sort", "descending"), [("due", True), ("created", False), ("assignee", False)])
def test_a_sorted_page_reads_about_a_page_however_big_the_tab(deployed, actors, grown, tab, sort, descending):
    _reads_about_a_page(deployed, grown, actors["sales"], tab, TaskFilter(sort=sort, descending=descending))


def _reads_about_a_page(deployed, grown, reader, tab, flt, counted=True):
    """A page of ten of the tab costs about the same at 1,000 and at 5,000 tasks (and has ten tasks); `counted`:
    with the tab counts that ride along."""

    def page(work):
        if not counted:
            return tasks.list_tasks(work, reader, tab, limit=10, now=NOW, flt=flt)
        return tasks.inbox_page(work, reader, tab, NOW, limit=10, flt=flt).tasks

    small = _rows_read(grown(1000), page)
    big = _rows_read(grown(5000), page)
    assert len(page(grown(5000)())) == 10
    # the whole tab read (the select it replaces) grows with the tab: five times the tasks, ~five times the work
    assert big < 1.5 * small, (small, big)


@pytest.mark.parametrize(
    ("who", "tab", "flt"),
    [
        ("admin", "all", TaskFilter()),
        ("admin", "all", TaskFilter(sort="created", descending=True)),
        ("admin", "all", TaskFilter(sort="due", due_from=NOW - timedelta(days=2), due_before=NOW + timedelta(days=3))),
        ("sales", "pool", TaskFilter(sort="due", task="T1")),
        ("sales", "mine", TaskFilter(sort="created", descending=True, task="t")),
        ("sales", "overdue", TaskFilter(due_from=NOW - timedelta(days=4))),
    ],
    ids=["all", "all by created", "all in a due range", "pool by task name",
         "mine by task name", "overdue in a due range"],
)
def test_team_all_and_filtered_pages_read_about_a_page_however_big_the_tab(deployed, actors, grown, who, tab, flt):
    _reads_about_a_page(deployed, grown, actors[who], tab, flt)


def _plan_nodes(node: dict[str, Any]) -> list[dict[str, Any]]:
    return [node, *[n for child in node.get("Plans", []) for n in _plan_nodes(child)]]


@pytest.mark.parametrize("tab", ["mine", "pool", "overdue", "all"])
@pytest.mark.parametrize("sort", [None, "due", "created", "record"])
def test_a_record_filtered_page_checks_its_rows_in_the_index_not_the_table(deployed, actors, grown, tab, sort):
    # PostgreSQL: the scans that check the record-title filter row by row read the index alone (the title and the
    # columns the scans carry are held in it, migration 0022); each row they check was a read of the task table
    reader = actors["admin" if tab == "all" else "sales"]
    units = grown(5000)  # the session's seeded tasks (this case only reads them)
    work = units()
    with work:
        bind = work.session.get_bind()
    if bind.dialect.name != "postgresql":
        pytest.skip("SQLite has no INCLUDE columns: its indexes are as before")
    with bind.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE task"))  # the visibility map autovacuum keeps, as at any real size
    sent: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    event.listen(bind, "before_cursor_execute", keep)
    try:
        tasks.inbox_page(units(), reader, tab, NOW, limit=10, flt=TaskFilter(sort=sort, record="lead 1"))
    finally:
        event.remove(bind, "before_cursor_execute", keep)
    statement, params = next((s, p) for s, p in sent if "FROM task" in s)
    with bind.connect() as conn:
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")  # planned as at scale (see _rows_read)
        (plan,) = conn.exec_driver_sql("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, params).scalar()
        conn.rollback()
    checked = [n for n in _plan_nodes(plan["Plan"]) if n.get("Relation Name") == "task" and "record_title" in
               n.get("Filter", "")]
    assert checked, "no scan checks the record-title filter"
    from_table = [(n["Node Type"], n.get("Index Name")) for n in checked
                  if n["Node Type"] != "Index Only Scan" or n.get("Heap Fetches", 0)]
    assert not from_table, from_table


@pytest.mark.parametrize("tab", ["mine", "pool", "overdue"])
def test_record_filtered_tab_counts_check_the_title_in_the_title_index(deployed, actors, grown, tab):
    # SQLite (its indexes hold no INCLUDE columns): the tab counts under a record-title filter read the (…, record
    # title, …) indexes and check the title there, so a task is read from the table only when its title matches; by
    # the creation index every task the count passed was read from the table to check its title
    units = grown(5000)
    flt = TaskFilter(record="lead 1")
    bind, sent = task_statements(units, lambda work: tasks.inbox_page(work, actors["sales"], tab, NOW, limit=10,
                                                                      flt=flt))
    if bind.dialect.name != "sqlite":
        pytest.skip("PostgreSQL reads the title from either index (INCLUDE)")
    statement, params = sent[0]
    with bind.connect() as conn:
        plan = [row[3] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params)]
    read_by_title = [d for d in plan if "ix_task_assignee_state_record" in d and "record_title>?" in d]
    assert len(read_by_title) >= 2, plan  # the mine count and the pool count (overdue's is read by due time)
    assert not [d for d in plan if "ix_task_assignee_state_created" in d], plan


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
@pytest.mark.parametrize(
    ("tab", "sort", "given", "paging"),
    [
        ("pool", None, ("record",), None),
        ("pool", "record", (), None),
        ("overdue", "due", (), "after"),
        ("mine", "assignee", ("record",), "before"),
    ],
)
def test_each_segment_scan_is_written_once(dialect, tab, sort, given, paging):
    # a segment's first tasks and the ties of the last of them: the ties are looked up from the rows the scan read,
    # not by a second copy of the scan (PostgreSQL ran it twice: a third of the buffers of a Pool page)
    from sqlalchemy.dialects import postgresql, sqlite

    from engine.store.inbox_segments import _segments, segmented_page

    stmt = segmented_page(tab, 2, sort, False, given, paging)
    compiled = stmt.compile(dialect=sqlite.dialect() if dialect == "sqlite" else postgresql.dialect())
    names = list(compiled.positiontup or []) if dialect == "sqlite" else compiled.string.split("%(")[1:]
    scans = sum(1 for name in names if name.startswith("head_limit"))
    assert scans == len(_segments(tab, 2, sort, given)), compiled.string
