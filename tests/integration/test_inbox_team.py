"""The Team tab sorted or filtered (engine/store/inbox_team.py): its page is cut from the task's own columns and
copies, so the records, instances, process versions and users of the team's tasks are not looked up task by task
(the same tasks in the same order as the whole-tab select: tests/integration/test_inbox_keys.py)."""

from __future__ import annotations

import random
import re
import uuid
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select, text

from bench.inbox_http import rows_read
from engine.services import tasks
from engine.services.task_pages import named_in
from engine.services.tasks import TaskFilter
from engine.store.models import InstanceRow, ProcessVersionRow, RecordRow, TaskRow
from tests.conftest import NOW
from tests.integration.test_inbox_segments import task_statements

TEAM_TASKS = 600
LOOKED_UP = ("record", "process_instance", "process_version", "user_account")  # what a task's keys read besides it
CASES = {
    "by record": TaskFilter(sort="record"),
    "by record, descending": TaskFilter(sort="record", descending=True),
    "by process": TaskFilter(sort="process"),
    "by assignee": TaskFilter(sort="assignee", descending=True),
    "filtered by record": TaskFilter(record="lead 1"),
    "filtered by process": TaskFilter(process="lead_qualification", sort="due"),
}


@pytest.fixture
def team_tasks(deployed, actors):
    """The team's tasks (_fill_team) in the test's own database, for the test whose unit's connection must be new."""
    _fill_team(deployed, actors)


@pytest.fixture
def team(request, seeded_databases, db_url):
    """The team's tasks (_fill_team) for the cases that only read them: seeded once per session (and database) and
    read through a factory of their own; `team.actors` are the role users it was seeded with."""
    return seeded_databases.for_test(request, db_url, "inbox_team", _fill_team)


def _fill_team(deployed, actors):
    """600 open tasks of the north team (sam, sue, hank), each on a record of its own and in one of 20 instances of
    Lead qualification, a tenth of them standalone, and as many pooled ones (Core inserts: this is about size)."""
    rng = random.Random(12)  # noqa: S311 - test data, not secrets
    team = [actors[k].id for k in ("sales", "sales2", "head")]
    with deployed() as uow:
        version = uow.session.scalar(select(ProcessVersionRow.id).where(
            ProcessVersionRow.process_id == "lead_qualification"))
        instances = [int(i) for i in uow.session.scalars(insert(InstanceRow).returning(InstanceRow.id), [
            {"process_version_id": version, "record_id": None, "status": "running", "state_json": "{}",
             "serializer_version": "test", "started_at": NOW, "started_by": "test", "revision": 1}
            for _ in range(20)])]
        records, rows = [], []
        for n in range(2 * TEAM_TASKS):
            standalone = n % 10 == 0
            title = f"Lead {rng.randint(1, 99_999)}"
            records.append({"id": 20_000_000 + n, "entity": "Lead", "title": title, "data": {}, "owner_id": None,
                            "created_at": NOW, "created_by": "test", "updated_at": NOW, "revision": 1})
            rows.append({"id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                         "instance_id": None if standalone else rng.choice(instances),
                         "process_version_id": None if standalone else version, "record_id": 20_000_000 + n,
                         "record_title": title, "spec_name": "qualify_lead", "title": "Qualify lead",
                         "form_key": None, "lane": None, "candidate_groups": "sales", "candidate_users": "",
                         "assignee_id": team[n % 3] if n < TEAM_TASKS else None, "state": "open",
                         "due_at": NOW + timedelta(minutes=rng.randint(-9000, 9000)),
                         "created_at": NOW - timedelta(minutes=rng.randint(0, 90000)),
                         "completed_at": None, "completed_by": None})
        uow.session.execute(insert(RecordRow), records)
        uow.session.execute(insert(TaskRow), rows)
        if uow.session.get_bind().dialect.name == "postgresql":  # what autovacuum does by the time anyone looks
            uow.session.execute(text("ANALYZE task"))
            uow.session.execute(text("ANALYZE record"))
        uow.commit()


def _page(deployed, actors, flt):
    hank = actors["head"]
    flt = named_in(deployed(), flt, "en")

    def page(work: Any) -> Any:
        return tasks.list_tasks(work, hank, "team", limit=10, now=NOW, flt=flt)  # the page alone (no tab counts)

    bind, sent = task_statements(deployed, page)
    (statement, params), *_ = sent
    assert len(page(deployed())) == 10
    return bind, statement, params


def _looked_up(node: dict[str, Any]) -> int:
    own = 0
    if node.get("Relation Name") in LOOKED_UP:
        own = int((node["Actual Rows"] + node.get("Rows Removed by Filter", 0)) * node["Actual Loops"])
    return own + sum(_looked_up(child) for child in node.get("Plans", []))


@pytest.mark.parametrize("case", list(CASES))
def test_a_sorted_or_filtered_team_page_looks_up_the_rows_of_its_page_only(team, case):
    deployed, actors = team, team.actors  # the seeded database, read only
    bind, statement, params = _page(deployed, actors, CASES[case])
    if bind.dialect.name != "postgresql":
        pytest.skip("rows read per table: PostgreSQL's plan (SQLite: the steps test below)")
    with bind.connect() as conn:
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")  # planned as at scale
        (plan,) = conn.exec_driver_sql("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, params).scalar()
        conn.rollback()
    # the page's ten rows, each with its record, instance and version, assignee and assignee's name, and the
    # few versions of one process a filter names; the select over the team looked up ~600 of each
    assert _looked_up(plan["Plan"]) < 100, _looked_up(plan["Plan"])


@pytest.mark.parametrize("case", list(CASES))
def test_a_sorted_or_filtered_team_page_costs_about_what_one_by_due_time_does(team, case):
    deployed, actors = team, team.actors  # the seeded database, read only
    # both read the team's 600 tasks from an index; a page whose keys were looked up per task cost 2-4x more
    bind, statement, params = _page(deployed, actors, CASES[case])
    plain = _page(deployed, actors, TaskFilter(sort="due"))
    cost, baseline = rows_read(bind, statement, params), rows_read(*plain)
    if bind.dialect.name == "postgresql":
        pytest.skip("PostgreSQL counts rows, not work: the test above")
    assert cost < 1.5 * baseline, (cost, baseline)


def _instances_read(node: dict[str, Any]) -> int:
    own = 0
    if node.get("Relation Name") == "process_instance":
        own = int((node["Actual Rows"] + node.get("Rows Removed by Filter", 0)) * node["Actual Loops"])
    return own + sum(_instances_read(child) for child in node.get("Plans", []))


@pytest.mark.parametrize(("who", "tab", "sort"), [("sales", "mine", "record"), ("sales", "mine", None),
                                                  ("sales", "overdue", "due"), ("head", "team", "record")])
def test_a_process_filtered_page_and_its_counts_read_no_instance(team, who, tab, sort):
    deployed, actors = team, team.actors  # the seeded database, read only
    # PostgreSQL: the task's copy of its version among the process's versions (read once), not an EXISTS through
    # each task's instance and version, which it estimated at one task in five and sorted a whole tab for
    # (engine/store/inbox_query.InProcess)
    flt = named_in(deployed(), TaskFilter(process="lead_qualification", sort=sort), "en")
    bind, sent = task_statements(deployed, lambda work: tasks.inbox_page(work, actors[who], tab, NOW, flt=flt))
    if bind.dialect.name != "postgresql":
        pytest.skip("SQLite keeps the EXISTS through the instance, which it runs well")
    (statement, params), *_ = sent
    with bind.connect() as conn:
        (plan,) = conn.exec_driver_sql("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, params).scalar()
        conn.rollback()
    assert _instances_read(plan["Plan"]) <= 51  # the page's rows show their process's name; the filter reads none
    whole = tasks.list_tasks(deployed(), actors[who], tab, limit=500, now=NOW, flt=flt)
    every = tasks.list_tasks(deployed(), actors[who], tab, limit=500, now=NOW, flt=replace(flt, process=""))
    assert len(whole) > 50, len(whole)  # (the fixture's pooled tasks have no candidate rows: Mine, Overdue, Team)
    assert [t.id for t in whole][:50] == [t.id for t in every if t.instance_id is not None][:50]  # no standalone


def test_a_sorted_or_filtered_page_is_planned_for_its_values_each_time(deployed, actors, team_tasks):
    # psycopg prepares a statement on its sixth run, and PostgreSQL then may keep one plan for any values, which for
    # pages filtered by record or process read up to 289 times the rows (engine/store/db.PLANNED_PER_RUN); the plain
    # tabs keep theirs
    flt = named_in(deployed(), TaskFilter(record="lead 1", sort="record"), "en")
    work = deployed()
    with work:
        if work.session.get_bind().dialect.name != "postgresql":
            pytest.skip("psycopg's prepared statements")
        for _ in range(8):
            tasks.inbox_page(work, actors["sales"], "mine", NOW, flt=flt)
            tasks.inbox_page(work, actors["sales"], "mine", NOW)
        prepared = work.session.execute(text("SELECT statement FROM pg_prepared_statements")).scalars().all()
    pages = [s for s in prepared if s.startswith(("SELECT task.id", "WITH"))]  # a page may open with its scans
    assert len(pages) == 1, "the plain Mine page stays prepared, Mine filtered by record is not"


_READS_TABLE = re.compile(r"\b(?:FROM|JOIN)\s+(record|process_instance)\b", re.IGNORECASE)


@pytest.mark.parametrize(("who", "tab", "sort"), [("sales", "mine", None), ("sales", "overdue", "due"),
                                                  ("head", "team", None), ("head", "team", "record")])
def test_a_page_shows_its_record_titles_and_processes_from_the_tasks_own_copies(team, who, tab, sort):
    deployed, actors = team, team.actors  # the seeded database, read only
    # the record's title and the process version are copied onto the task (migrations 0021, 0024): the page
    # statement looked up each row's record and instance besides (~6 buffers a row at 100,000 tasks)
    flt = named_in(deployed(), TaskFilter(sort=sort), "en")
    _bind, sent = task_statements(deployed, lambda work: tasks.inbox_page(work, actors[who], tab, NOW, flt=flt))
    (statement, _params), *_ = sent
    assert _READS_TABLE.findall(statement) == []
    page = tasks.inbox_page(deployed(), actors[who], tab, NOW, flt=flt).tasks
    assert len(page) == 50
    with deployed() as uow:
        titles = dict(uow.session.execute(select(RecordRow.id, RecordRow.title).where(
            RecordRow.id.in_([t.record_id for t in page]))).tuples().all())
        versions = dict(uow.session.execute(select(InstanceRow.id, ProcessVersionRow.name).join(
            ProcessVersionRow, ProcessVersionRow.id == InstanceRow.process_version_id)).tuples().all())
    assert [(t.record_title, t.process) for t in page] == [
        (titles[t.record_id], versions.get(t.instance_id) if t.instance_id else None) for t in page]
    assert {t.process for t in page} == {None, "Lead qualification"}  # standalone tasks and the process's
