"""Inbox tabs: the overdue tab (mine and claimable tasks past due, most overdue first) and the tab counts,
exact up to a cap, on every backend."""

from __future__ import annotations

import random
import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import insert, select, text

from engine.errors import ValidationError
from engine.services import records, tasks
from engine.services.tasks import TaskFilter
from engine.store.models import InstanceRow, ProcessVersionRow, TaskCandidateRow, TaskRow
from tests.conftest import NOW
from tests.integration.test_inbox_segments import task_statements
from tests.statements import selects_of


def _lead(deployed, actors, title, created):
    lead = records.create_record(deployed(), actors["head"], "Lead", {"title": title}, created)
    (task,) = [t for t in tasks.list_tasks(deployed(), actors["sales"], "pool", limit=500) if t.record_id == lead.id]
    return task


def test_overdue_tab_and_counts(deployed, actors):
    sam, sam2 = actors["sales"], actors["sales2"]
    oldest = _lead(deployed, actors, "oldest", NOW - timedelta(days=5))  # qualify_lead is due a day after
    old = _lead(deployed, actors, "old", NOW - timedelta(days=3))
    fresh = _lead(deployed, actors, "fresh", NOW)
    claimed = _lead(deployed, actors, "claimed late", NOW - timedelta(days=4))
    tasks.claim_task(deployed(), sam, claimed.id, NOW)
    others = _lead(deployed, actors, "someone else's", NOW - timedelta(days=6))
    tasks.claim_task(deployed(), sam2, others.id, NOW)

    overdue = tasks.list_tasks(deployed(), sam, "overdue", now=NOW)
    assert [t.id for t in overdue] == [oldest.id, claimed.id, old.id]  # most overdue first; not fresh, not sam2's
    assert tasks.inbox_counts(deployed(), sam, NOW) == {"mine": 1, "pool": 3, "overdue": 3}
    assert tasks.inbox_counts(deployed(), sam2, NOW) == {"mine": 1, "pool": 3, "overdue": 3}
    assert [t.id for t in tasks.list_tasks(deployed(), sam, "overdue", now=NOW, limit=1, offset=1)] == [claimed.id]
    assert fresh.id not in {t.id for t in overdue}
    # beyond the cap the count stops at cap + 1 ("more than cap") instead of counting every row
    assert tasks.inbox_counts(deployed(), sam, NOW, cap=2) == {"mine": 1, "pool": 3, "overdue": 3}
    assert tasks.inbox_counts(deployed(), sam, NOW, cap=1) == {"mine": 1, "pool": 2, "overdue": 2}
    # a week later every open task is overdue
    assert tasks.inbox_counts(deployed(), sam, NOW + timedelta(days=7))["overdue"] == 4


def test_overdue_scope_needs_the_time(deployed, actors):
    with pytest.raises(ValidationError, match="current time"):
        tasks.list_tasks(deployed(), actors["sales"], "overdue")


def test_inbox_page_reads_tasks_titles_assignees_and_counts_in_one_statement(deployed, actors):
    sam = actors["sales"]
    _lead(deployed, actors, "late one", NOW - timedelta(days=3))
    claimed = _lead(deployed, actors, "mine", NOW)
    tasks.claim_task(deployed(), sam, claimed.id, NOW)
    for scope in ("mine", "pool", "overdue"):
        page, sent = selects_of(deployed(), lambda work, scope=scope: tasks.inbox_page(work, sam, scope, NOW))
        assert len(sent) == 1, sent
        assert page.tasks == tasks.list_tasks(deployed(), sam, scope, now=NOW)
        assert page.counts == tasks.inbox_counts(deployed(), sam, NOW) == {"mine": 1, "pool": 1, "overdue": 1}
    assert tasks.list_tasks(deployed(), sam, "mine", now=NOW)[0].assignee == "sam"
    assert tasks.list_tasks(deployed(), sam, "mine", now=NOW)[0].record_title == "mine"
    empty = tasks.inbox_page(deployed(), actors["sales2"], "mine", NOW)  # no rows: the counts are read alone
    assert (empty.tasks, empty.counts) == ([], {"mine": 0, "pool": 1, "overdue": 1})


SHARE = 6  # one pooled task in six is the reader's, the others are other groups'


@pytest.fixture
def shared_pool(deployed, actors):
    """720 open pooled tasks of Lead qualification, due yesterday or tomorrow, one in six pooled for a group of
    the salesperson's and the others for groups of no one's (Core inserts: this is about size)."""
    rng = random.Random(6)  # noqa: S311 - test data, not secrets
    mine = sorted(actors["sales"].groups)[0]
    with deployed() as uow:
        version = uow.session.scalar(select(ProcessVersionRow.id).where(
            ProcessVersionRow.process_id == "lead_qualification"))
        (instance,) = uow.session.scalars(insert(InstanceRow).returning(InstanceRow.id), [
            {"process_version_id": version, "record_id": None, "status": "running", "state_json": "{}",
             "serializer_version": "test", "started_at": NOW, "started_by": "test", "revision": 1}])
        rows, candidates = [], []
        for n in range(720):
            task_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            group = mine if n % SHARE == 0 else f"other{n % SHARE}"
            due = NOW + timedelta(days=-1 if (n // SHARE) % 2 else 1, minutes=n)
            created = NOW - timedelta(minutes=rng.randint(0, 90000))
            rows.append({"id": task_id, "instance_id": instance, "process_version_id": version, "record_id": None,
                         "record_title": None, "spec_name": "qualify_lead", "title": "Qualify lead",
                         "form_key": None, "lane": None, "candidate_groups": group, "candidate_users": "",
                         "assignee_id": None, "state": "open", "due_at": due, "created_at": created,
                         "completed_at": None, "completed_by": None})
            candidates.append({"task_id": task_id, "kind": "group", "name": group, "pooled": True,
                               "sort_at": due, "due_at": due})
        uow.session.execute(insert(TaskRow), rows)
        uow.session.execute(insert(TaskCandidateRow), candidates)
        if uow.session.get_bind().dialect.name == "postgresql":  # what autovacuum does by the time anyone looks
            uow.session.execute(text("ANALYZE task"))
            uow.session.execute(text("ANALYZE task_candidate"))
        uow.commit()


@pytest.mark.parametrize("tab", ["pool", "overdue", "mine"])
def test_process_filtered_tab_counts_read_the_readers_candidate_rows_not_the_whole_pool(deployed, actors,
                                                                                        shared_pool, tab):
    # the pool and overdue counts under a process filter: the reader's candidate rows, each task looked up once;
    # read from the pooled tasks, the candidates of every task were probed to find the reader's one in six
    flt = TaskFilter(process="lead_qualification")
    page = tasks.inbox_page(deployed(), actors["sales"], tab, NOW, limit=10, flt=flt)
    assert page.counts == {"mine": 0, "pool": 100, "overdue": 60}  # 99+; the reader's 60 due yesterday
    _bind, sent = task_statements(deployed, lambda work: tasks.inbox_page(work, actors["sales"], tab, NOW,
                                                                         limit=10, flt=flt))
    statement, _params = sent[0]
    # per candidate name of the reader (two groups and the user): the pool count's read, and the overdue count's.
    # At 100,000 tasks PostgreSQL read the whole pool's tasks in creation order and probed each one's candidates
    # for the reader's (Team by process: 564 tasks, 2,834 buffers for a count of 100; now 743 buffers)
    from_candidates = re.findall(r"FROM task_candidate JOIN task ON task\.id = task_candidate\.task_id", statement)
    assert len(from_candidates) == 2 * 3, statement
