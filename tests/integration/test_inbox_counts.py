"""Inbox tabs: the overdue tab (mine and claimable tasks past due, most overdue first) and the tab counts,
exact up to a cap, on every backend."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.errors import ValidationError
from engine.services import records, tasks
from tests.conftest import NOW
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
