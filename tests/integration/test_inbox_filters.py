"""The inbox sorted by a column and narrowed by column filters (task, record, due range, process, assignee), with
the tab counts under the same filters, in one statement, on every backend."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.errors import ValidationError
from engine.services import records, tasks
from engine.services.tasks import TaskFilter
from tests.conftest import NOW
from tests.statements import selects_of


def _lead(deployed, actors, title, created):
    lead = records.create_record(deployed(), actors["head"], "Lead", {"title": title}, created)
    (task,) = [t for t in tasks.list_tasks(deployed(), actors["sales"], "pool", limit=500) if t.record_id == lead.id]
    return task


@pytest.fixture
def leads(deployed, actors):
    """Four pooled qualify_lead tasks (due a day after creation), one claimed by sam and one by sue."""
    made = {
        title: _lead(deployed, actors, title, NOW - timedelta(days=days))
        for title, days in (("Борис Орлов", 5), ("Анна Белова", 3), ("вера белкина", 1), ("Глеб Исаев", 0))
    }
    tasks.claim_task(deployed(), actors["sales"], made["Анна Белова"].id, NOW)
    tasks.claim_task(deployed(), actors["sales2"], made["Глеб Исаев"].id, NOW)
    return made


def _titles(page):
    return [t.record_title for t in page]


def test_pool_sorts_by_record_title_both_ways(deployed, actors, leads):
    sam = actors["sales"]
    up = tasks.list_tasks(deployed(), sam, "pool", now=NOW, flt=TaskFilter(sort="record"))
    assert _titles(up) == ["Борис Орлов", "вера белкина"]
    down = tasks.list_tasks(deployed(), sam, "pool", now=NOW, flt=TaskFilter(sort="record", descending=True))
    assert _titles(down) == ["вера белкина", "Борис Орлов"]
    everything = tasks.list_tasks(
        deployed(), actors["admin"], "all", now=NOW, flt=TaskFilter(sort="assignee", descending=True)
    )
    # empty values last either way, ties by due time
    assert [t.assignee for t in everything] == ["sue", "sam", None, None]
    assert _titles(everything)[2:] == ["Борис Орлов", "вера белкина"]
    assert {t.process for t in everything} == {"Lead qualification"}


def test_filters_narrow_the_page_and_the_tab_counts(deployed, actors, leads):
    sam = actors["sales"]
    plain = tasks.inbox_page(deployed(), sam, "pool", NOW)
    assert plain.counts == {"mine": 1, "pool": 2, "overdue": 3}  # qualify_lead is due 4 hours after creation
    # record title contains "бел", in any case and script: Белова (sam's) and белкина (pooled)
    flt = TaskFilter(record="БЕЛ")
    page = tasks.inbox_page(deployed(), sam, "pool", NOW, flt=flt)
    assert _titles(page.tasks) == ["вера белкина"]
    assert page.counts == {"mine": 1, "pool": 1, "overdue": 2}
    # due range: [NOW - 5 days, NOW - 4 days) holds Орлов's task only (due NOW - 5 days + 4 hours)
    ranged = TaskFilter(due_from=NOW - timedelta(days=5), due_before=NOW - timedelta(days=4))
    assert _titles(tasks.list_tasks(deployed(), sam, "pool", now=NOW, flt=ranged)) == ["Борис Орлов"]
    assert tasks.inbox_page(deployed(), sam, "pool", NOW, flt=ranged).counts == {"mine": 0, "pool": 1, "overdue": 1}
    # process: every task here is of lead_qualification; none of the deal process
    assert len(tasks.list_tasks(deployed(), sam, "pool", flt=TaskFilter(process="lead_qualification"))) == 2
    assert tasks.inbox_page(deployed(), sam, "pool", NOW, flt=TaskFilter(process="deal")) == tasks.InboxPage(
        [], {"mine": 0, "pool": 0, "overdue": 0}
    )
    # task: the stored name, or an element whose translated name matched (the web passes those ids)
    assert len(tasks.list_tasks(deployed(), sam, "pool", flt=TaskFilter(task="qualify"))) == 2
    assert tasks.list_tasks(deployed(), sam, "pool", flt=TaskFilter(task="квалиф")) == []
    by_label = TaskFilter(task="квалиф", task_elements=("qualify_lead",))
    assert len(tasks.list_tasks(deployed(), sam, "pool", flt=by_label)) == 2
    # assignee contains, on the team tab of the head of sales
    team = tasks.list_tasks(deployed(), actors["head"], "team", flt=TaskFilter(assignee="su"))
    assert [t.assignee for t in team] == ["sue"]


def test_wildcards_in_a_filter_are_literal(deployed, actors, leads):
    assert tasks.list_tasks(deployed(), actors["sales"], "pool", flt=TaskFilter(record="%")) == []
    assert tasks.list_tasks(deployed(), actors["sales"], "pool", flt=TaskFilter(record="_")) == []


def test_a_sorted_filtered_page_with_counts_is_one_statement(deployed, actors, leads):
    sam = actors["sales"]
    flt = TaskFilter(sort="created", descending=True, record="а", due_from=NOW - timedelta(days=10))
    for scope in ("mine", "pool", "overdue"):
        page, sent = selects_of(deployed(), lambda work, scope=scope: tasks.inbox_page(work, sam, scope, NOW, flt=flt))
        assert len(sent) == 1, sent
        assert page.tasks == tasks.list_tasks(deployed(), sam, scope, now=NOW, flt=flt)
        assert page.counts == {"mine": 1, "pool": 1, "overdue": 2}  # "а": Белова (sam's), белкина; not Орлов


def test_paging_a_sorted_tab_by_offset(deployed, actors, leads):
    sam = actors["sales"]
    flt = TaskFilter(sort="record", descending=True)
    pages = [tasks.list_tasks(deployed(), actors["admin"], "all", flt=flt, limit=1, offset=n) for n in range(5)]
    assert [_titles(p) for p in pages] == [["вера белкина"], ["Глеб Исаев"], ["Борис Орлов"], ["Анна Белова"], []]
    assert tasks.list_tasks(deployed(), sam, "mine", flt=flt) == tasks.list_tasks(deployed(), sam, "mine")


def test_a_bad_sort_or_an_inverted_due_range_is_refused_by_column(deployed, actors):
    with pytest.raises(ValidationError) as bad_sort:
        tasks.list_tasks(deployed(), actors["sales"], "pool", flt=TaskFilter(sort="owner"))
    assert "sort" in bad_sort.value.errors
    with pytest.raises(ValidationError) as inverted:
        tasks.list_tasks(deployed(), actors["sales"], "pool", flt=TaskFilter(due_from=NOW, due_before=NOW))
    assert "due" in inverted.value.errors
