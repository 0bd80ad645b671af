"""Every inbox tab × sort × direction × column filter gives the same tasks in the same order as the plain select
over the whole tab (engine/store/inbox_query.py `page_select`), whole, by offset and by keyset both ways — with
ties on every key, tasks without a due date, record or process, and several assignees."""

from __future__ import annotations

import random
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.services import tasks
from engine.services.task_pages import named_in
from engine.services.tasks import TaskFilter
from engine.store.inbox_query import SORTS, page_select
from engine.store.models import InstanceRow, ProcessVersionRow, RecordRow, TaskCandidateRow, TaskRow
from tests.conftest import NOW
from tests.integration.test_inbox_pages import _walk

DATABASES_IN_TURN = True  # each case on SQLite, then on PostgreSQL: the statements built are shared

TITLES = ("Анна Белова", "анна белова", "Борис Орлов", "Lead 1", "Lead 10", "Lead 2", "Glen")  # ties by case
STEPS = (("qualify_lead", "Qualify lead"), ("arrange_meeting", "Arrange first meeting"), ("call", "Call back"))
FILTERS = {
    "none": TaskFilter(),
    "record": TaskFilter(record="бел"),
    "assignee": TaskFilter(assignee="s"),
    "process": TaskFilter(process="lead_qualification"),
    "due": TaskFilter(due_from=NOW - timedelta(hours=3), due_before=NOW + timedelta(hours=4)),
    "task": TaskFilter(task="qualif", task_elements=("arrange_meeting",)),
    "all of them": TaskFilter(record="a", assignee="s", due_from=NOW - timedelta(hours=5), task="l"),
}
PAGED = ("none", "due", "all of them")  # the filters whose pages are also read by offset and by keyset


@pytest.fixture
def crowd(deployed, actors):
    """70 tasks (a tenth closed): assigned to sam, sue, hank or ada, or pooled for sales groups and users; records
    and due and creation times with ties, some without a due date, a record or a process."""
    rng = random.Random(5)  # noqa: S311 - test data, not secrets
    who = [actors[k].id for k in ("sales", "sales2", "head", "admin")] + [None] * 3
    with deployed() as uow:
        versions = dict(uow.session.execute(select(ProcessVersionRow.process_id, ProcessVersionRow.id)).all())
        records = [
            RecordRow(
                entity="Lead",
                title=t,
                data={"title": t},
                owner_id=None,
                created_at=NOW,
                created_by="test",
                updated_at=NOW,
                revision=1,
            )
            for t in TITLES
        ]
        instances = [
            InstanceRow(
                process_version_id=versions[p],
                record_id=None,
                status="running",
                state_json="{}",
                serializer_version="test",
                started_at=NOW,
                started_by="test",
                revision=1,
            )
            for p in ("lead_qualification", "deal", "lead_qualification")
        ]
        uow.session.add_all([*records, *instances])
        uow.session.flush()
        rows, candidates = [], []
        for n in range(70):
            assignee = rng.choice(who)
            step, title = rng.choice(STEPS)
            instance = rng.choice([*instances, None])
            due = None if rng.random() < 0.2 else NOW + timedelta(hours=rng.randint(-6, 6))
            task_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            closed = n % 10 == 0
            record = rng.choice(records) if rng.random() < 0.9 else None
            rows.append(
                TaskRow(
                    id=task_id,
                    instance_id=instance.id if instance else None,
                    process_version_id=instance.process_version_id if instance else None,  # as a step writes it
                    record_id=record.id if record else None,
                    record_title=record.title if record else None,
                    spec_name=step,
                    title=title if instance else f"{title} {n % 3}",
                    form_key=None,
                    lane=None,
                    candidate_groups="",
                    candidate_users="",
                    assignee_id=assignee,
                    state="completed" if closed else "open",
                    due_at=due,
                    created_at=NOW - timedelta(hours=rng.randint(10, 13)),
                )
            )
            for kind, name in rng.sample([("group", "sales"), ("group", "south"), ("user", "sam")], 2):
                candidates.append(
                    TaskCandidateRow(
                        task_id=task_id,
                        kind=kind,
                        name=name,
                        pooled=assignee is None and not closed,
                        sort_at=due or rows[-1].created_at,
                        due_at=due,
                    )
                )
        uow.session.add_all(rows)
        uow.session.flush()  # the tasks first: the candidate rows refer to them
        uow.session.add_all(candidates)
        uow.commit()


def _whole_tab(deployed, who, tab, user_ids, flt):
    """The tab as the plain select over all of its tasks reads it."""
    stmt = page_select(tab, len(who.groups), flt.sort, flt.descending, flt.given(), flt.label_shape())
    names = {**{f"cand_{n}": g for n, g in enumerate(sorted(who.groups))}, "cand_user": who.username}
    with deployed() as uow:
        return [
            t.id
            for t in uow.session.scalars(
                stmt,
                {
                    **names,
                    **flt.params(),
                    "user_ids": user_ids,
                    "user_id": who.id,
                    "now": NOW,
                    "limit": 500,
                    "offset": 0,
                },
            )
        ]


@pytest.mark.parametrize("tab", ["mine", "pool", "overdue", "team", "all"])
def test_every_sort_and_filter_of_a_tab_reads_what_the_whole_tab_select_reads(deployed, actors, crowd, tab):
    who = actors["head" if tab == "team" else "admin" if tab == "all" else "sales"]
    user_ids = sorted(a.id for a in (actors["sales"], actors["sales2"], actors["head"])) if tab == "team" else [who.id]
    seen = 0
    for sort in (None, *SORTS):
        for descending in (False, True) if sort else (False,):
            for name, given in FILTERS.items():
                if sort is None and name == "none" and tab in ("pool", "overdue"):
                    continue  # the plain pool and overdue tabs have an order of their own (test_inbox_pages)
                flt = named_in(deployed(), TaskFilter(**{**vars(given), "sort": sort, "descending": descending}), "ru")
                whole = _whole_tab(deployed, who, tab, user_ids, flt)
                seen += len(whole)
                case = (sort, descending, name)
                assert [t.id for t in tasks.list_tasks(deployed(), who, tab, limit=500, now=NOW, flt=flt)] == whole, (
                    case
                )
                if name not in PAGED:
                    continue  # pages are read the same way under every filter: a few of them paged suffice
                by_offset = [
                    t.id
                    for o in range(0, len(whole) + 1, 9)
                    for t in tasks.list_tasks(deployed(), who, tab, limit=9, offset=o, now=NOW, flt=flt)
                ]
                assert by_offset == whole, case
                forward, backward = _walk(deployed, who, tab, flt, 7, shown=lambda t: t.id)
                assert [i for p in forward for i in p] == whole, case
                assert backward == forward[-2::-1], case
    assert seen > 200  # the filters leave something to compare
