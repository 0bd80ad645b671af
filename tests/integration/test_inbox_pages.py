"""Keyset pages of the inbox: after / before a task in the page's order, stable while tasks come and go, one
statement with the tab counts; the task and process sorts by the names the reader sees, in the database."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.errors import ValidationError
from engine.services import tasks
from engine.services.task_pages import around
from engine.services.tasks import TaskFilter
from tests.conftest import NOW
from tests.integration.test_inbox_filters import _lead
from tests.statements import selects_of


@pytest.fixture
def pooled(deployed, actors):
    """Seven pooled qualify_lead tasks, created a day apart (each due four hours after its creation)."""
    return [_lead(deployed, actors, f"Lead {n}", NOW - timedelta(days=10 - n)) for n in range(7)]


def _walk(deployed, who, scope, flt, size=2, now=NOW, shown=lambda t: t.record_title):
    """Every page forward by `after`, then every page back by `before`: what each page shows (`shown` of each
    task: its record's title)."""
    forward, after = [], None
    while True:
        page = around(
            tasks.list_tasks(deployed(), who, scope, limit=size + 1, now=now, flt=flt, after=after), size, after, None
        )
        forward.append([shown(t) for t in page.tasks])
        if page.next_after is None:
            break
        after = page.next_after
    backward, before = [], page.prev_before
    while before is not None:
        page = around(
            tasks.list_tasks(deployed(), who, scope, limit=size + 1, now=now, flt=flt, before=before),
            size,
            None,
            before,
        )
        backward.append([shown(t) for t in page.tasks])
        before = page.prev_before
    return forward, backward


@pytest.mark.parametrize(
    ("scope", "flt"),
    [
        ("pool", TaskFilter()),  # the candidate index's merged heads
        ("overdue", TaskFilter()),
        ("all", TaskFilter()),
        ("pool", TaskFilter(sort="record", descending=True)),  # the sorted select
        ("pool", TaskFilter(sort="due", record="lead")),
        ("all", TaskFilter(sort="assignee")),
    ],
)
def test_pages_forward_and_back_cover_the_tab_once_in_order(deployed, actors, pooled, scope, flt):
    who = actors["admin"] if scope == "all" else actors["sales"]
    whole = [t.record_title for t in tasks.list_tasks(deployed(), who, scope, limit=500, now=NOW, flt=flt)]
    assert len(whole) == 7
    forward, backward = _walk(deployed, who, scope, flt)
    assert [title for page in forward for title in page] == whole
    assert [len(page) for page in forward] == [2, 2, 2, 1]
    assert backward == forward[-2::-1]  # from the last page back to the first, each page as it was


def test_a_task_added_ahead_of_the_cursor_does_not_repeat_a_row_on_the_next_page(deployed, actors, pooled):
    sam = actors["sales"]
    first = tasks.list_tasks(deployed(), sam, "pool", limit=3, now=NOW)
    assert [t.record_title for t in first] == ["Lead 0", "Lead 1", "Lead 2"]
    _lead(deployed, actors, "Older lead", NOW - timedelta(days=30))  # sorts first: everything shifts by one
    after = tasks.list_tasks(deployed(), sam, "pool", limit=3, now=NOW, after=first[-1].id)
    assert [t.record_title for t in after] == ["Lead 3", "Lead 4", "Lead 5"]
    by_offset = tasks.list_tasks(deployed(), sam, "pool", limit=3, offset=3, now=NOW)
    assert by_offset[0].record_title == "Lead 2"  # what offset paging shows: a row seen again


def test_a_cursor_page_and_the_tab_counts_are_one_statement(deployed, actors, pooled):
    sam = actors["sales"]
    cursor = tasks.list_tasks(deployed(), sam, "pool", limit=2, now=NOW)[-1].id
    for flt in (TaskFilter(), TaskFilter(sort="task", descending=True)):
        for scope in ("pool", "overdue"):  # (an empty page reads the counts alone: nothing to ride along with)
            for paging in ({"after": cursor}, {"before": cursor}):
                page, sent = selects_of(
                    deployed(),
                    lambda work, s=scope, f=flt, p=paging: tasks.inbox_page(work, sam, s, NOW, limit=2, flt=f, **p),
                )
                # by task name the tab's name groups are counted first (inbox_names), a statement of its own that
                # opens with WITH RECURSIVE (the statement count once saw only those opening with SELECT)
                assert len(sent) == (2 if flt.sort == "task" else 1), sent
                assert sent[-1].count("count_pool") == 1  # the counts ride with the page
                assert page.tasks
                assert page.counts == {"mine": 0, "pool": 7, "overdue": 7}


def test_a_cursor_with_an_offset_or_both_cursors_is_refused(deployed, actors, pooled):
    sam, some = actors["sales"], pooled[0].id
    with pytest.raises(ValidationError, match="no offset"):
        tasks.list_tasks(deployed(), sam, "pool", offset=2, after=some)
    with pytest.raises(ValidationError, match="either after or before"):
        tasks.list_tasks(deployed(), sam, "pool", after=some, before=some)


def test_the_task_sort_orders_by_the_labels_given_not_the_bpmn_names(deployed, actors, pooled):
    sam, ada = actors["sales"], actors["admin"]
    tasks.claim_task(deployed(), sam, pooled[0].id, NOW)
    tasks.complete_task(
        deployed(), sam, pooled[0].id, {"outcome": "convert", "relationship": "potential_client"}, NOW
    )  # Lead 0 moves on to "Arrange first meeting"
    plain = tasks.list_tasks(deployed(), ada, "all", limit=3, now=NOW, flt=TaskFilter(sort="task"))
    assert [t.title for t in plain] == ["Arrange first meeting", "Qualify lead", "Qualify lead"]
    russian = TaskFilter(
        sort="task",
        task_labels=(
            ("arrange_meeting", None, "Назначить первую встречу"),
            ("qualify_lead", None, "Квалифицировать лид"),
        ),
    )
    sorted_ru = tasks.list_tasks(deployed(), ada, "all", limit=500, now=NOW, flt=russian)
    assert [t.title for t in sorted_ru][-1] == "Arrange first meeting"  # К… before Н…
    forward, backward = _walk(deployed, ada, "all", russian, size=3)
    assert [title for page in forward for title in page] == [t.record_title for t in sorted_ru]
    assert backward == forward[-2::-1]
    # a label of an element id two processes share applies to the task whose stored name is that process's
    for bpmn_name, first in (("Qualify lead", "Qualify lead"), ("Another process's name", "Arrange first meeting")):
        shared = TaskFilter(sort="task", task_labels=(("qualify_lead", bpmn_name, "0 first"),))
        assert tasks.list_tasks(deployed(), ada, "all", limit=1, now=NOW, flt=shared)[0].title == first
    by_process = TaskFilter(sort="process", process_labels=(("lead_qualification", "Квалификация лида"),))
    assert len(tasks.list_tasks(deployed(), ada, "all", limit=500, now=NOW, flt=by_process)) == 7


def test_the_overdue_tab_pages_across_tasks_assigned_without_candidates(deployed, actors, pooled):
    sam, later = actors["sales"], NOW + timedelta(days=30)  # a month on, every open task is overdue
    for task in pooled[:3]:
        tasks.claim_task(deployed(), sam, task.id, NOW)
        tasks.complete_task(deployed(), sam, task.id, {"outcome": "convert", "relationship": "potential_client"}, NOW)
    whole = tasks.list_tasks(deployed(), sam, "overdue", limit=500, now=later)
    assert [t.title for t in whole].count("Arrange first meeting") == 3  # assigned to sam by the process
    forward, backward = _walk(deployed, sam, "overdue", TaskFilter(), size=2, now=later)
    assert [title for page in forward for title in page] == [t.record_title for t in whole]
    assert backward == forward[-2::-1]


def test_a_cursor_naming_no_task_is_refused_and_a_completed_one_still_marks_its_place(deployed, actors, pooled):
    sam = actors["sales"]
    with pytest.raises(ValidationError, match="no task 'gone'"):
        tasks.list_tasks(deployed(), sam, "pool", after="gone")
    with pytest.raises(ValidationError, match="no task 'gone'"):
        tasks.inbox_page(deployed(), sam, "pool", NOW, before="gone")
    done = pooled[2]
    tasks.claim_task(deployed(), sam, done.id, NOW)
    tasks.complete_task(deployed(), sam, done.id, {"outcome": "convert", "relationship": "potential_client"}, NOW)
    after = tasks.list_tasks(deployed(), sam, "pool", limit=2, now=NOW, after=done.id)
    assert [t.record_title for t in after] == ["Lead 3", "Lead 4"]
