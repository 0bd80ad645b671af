"""Inbox query time over many open tasks: synthetic rows bulk-inserted with SQLAlchemy core, then
`engine.services.tasks.list_tasks` timed for "mine" and "pool", with the query plans, a deep page by offset and
by keyset (also sorted by the task's name in Russian), and the inbox page over HTTP (Flask test client) with its
SQL statements per request."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from time import perf_counter
from typing import Any

from sqlalchemy import Connection, insert, select, text

from bench.common import NOW, StatementLog, deployed_factory, fresh_sqlite, postgres_schema, summary_ms
from bench.inbox_http import measure_matrix
from engine.bootstrap import UowFactory, prepare_database
from engine.services.task_pages import named_in
from engine.services.tasks import TaskFilter, list_tasks
from engine.services.users import get_actor
from engine.services.views import Actor
from engine.store.models import InstanceRow, ProcessVersionRow, RecordRow, TaskCandidateRow, TaskRow, UserRow

TEAMS = ("north", "south", "east", "key_accounts")
GROUP_WEIGHTS = {"sales": 0.4, **dict.fromkeys(TEAMS, 0.15)}  # five candidate groups
USERS = 50
TASKS_PER_INSTANCE = 100
ASSIGNED = 0.20
SECOND_GROUP = 0.10
CANDIDATE_USER = 0.05
NO_DUE_DATE = 0.10
DUE_SPREAD_DAYS = 60
CHUNK = 5000
PAGE = 50
BARE_EVERY = 4  # time the repository query alone on every 4th user: enough to attribute the cost


def _users(conn: Connection) -> list[tuple[int, str]]:
    rows = []
    for n in range(USERS):
        team = TEAMS[n % len(TEAMS)]
        roles = "head_of_sales" if n < len(TEAMS) else "sales"
        rows.append(
            {
                "username": f"user{n:02d}",
                "display_name": f"User {n:02d}",
                "password_hash": "!",
                "roles": roles,
                "team": team,
                "locale": "en",
                "active": True,
                "created_at": NOW,
            }
        )
    conn.execute(insert(UserRow), rows)
    return [(r.id, r.username) for r in conn.execute(select(UserRow.id, UserRow.username).order_by(UserRow.id))]


def _chunks(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def populate(factory: UowFactory, count: int, seed: int = 7) -> dict[str, Any]:
    """Insert `count` open tasks (with records, candidates and one instance per hundred tasks); row counts."""
    rng = random.Random(seed)
    start = perf_counter()
    with factory.engine.begin() as conn:
        version_id = conn.scalar(
            select(ProcessVersionRow.id).where(ProcessVersionRow.process_id == "lead_qualification")
        )
        users = _users(conn)
        instances = (count + TASKS_PER_INSTANCE - 1) // TASKS_PER_INSTANCE
        conn.execute(
            insert(InstanceRow),
            [
                {
                    "id": n + 1,
                    "process_version_id": version_id,
                    "record_id": None,
                    "status": "running",
                    "state_json": "{}",
                    "serializer_version": "bench",
                    "started_at": NOW - timedelta(days=30),
                    "started_by": "bench",
                    "ended_at": None,
                    "revision": 1,
                }
                for n in range(instances)
            ],
        )
        tasks: list[dict[str, Any]] = []
        for n in range(count):
            assignee = rng.choice(users) if rng.random() < ASSIGNED else None
            groups = rng.choices(list(GROUP_WEIGHTS), weights=list(GROUP_WEIGHTS.values()))
            if rng.random() < SECOND_GROUP:
                groups = sorted({*groups, rng.choice(list(GROUP_WEIGHTS))})
            cand_users = [rng.choice(users)[1]] if rng.random() < CANDIDATE_USER else []
            created = NOW - timedelta(seconds=rng.uniform(0, 30 * 86400))
            due = (
                None
                if rng.random() < NO_DUE_DATE
                else NOW + timedelta(seconds=rng.uniform(-10 * 86400, (DUE_SPREAD_DAYS - 10) * 86400))
            )
            arrange = assignee is not None and rng.random() < 0.5
            tasks.append(
                {
                    "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    "instance_id": n // TASKS_PER_INSTANCE + 1,
                    "process_version_id": version_id,
                    "record_id": n + 1,
                    "record_title": f"Lead {n + 1}",
                    "spec_name": "arrange_meeting" if arrange else "qualify_lead",
                    "title": "Arrange first meeting" if arrange else "Qualify lead",
                    "form_key": "arrange_meeting" if arrange else "qualify_lead",
                    "lane": None,
                    "candidate_groups": ",".join(groups),
                    "candidate_users": ",".join(cand_users),
                    "assignee_id": assignee[0] if assignee else None,
                    "state": "open",
                    "due_at": due,
                    "created_at": created,
                    "completed_at": None,
                    "completed_by": None,
                }
            )
        for chunk in _chunks(
            {
                "id": t["record_id"],
                "entity": "Lead",
                "title": f"Lead {t['record_id']}",
                "data": {"title": f"Lead {t['record_id']}", "status": "new"},
                "owner_id": t["assignee_id"],
                "created_at": t["created_at"],
                "created_by": "bench",
                "updated_at": t["created_at"],
                "revision": 1,
            }
            for t in tasks
        ):
            conn.execute(insert(RecordRow), chunk)
        for chunk in _chunks(iter(tasks)):
            conn.execute(insert(TaskRow), chunk)
        candidates = 0
        for chunk in _chunks(_candidates(tasks)):
            conn.execute(insert(TaskCandidateRow), chunk)
            candidates += len(chunk)
    return {
        "open_tasks": count,
        "users": len(users),
        "instances": instances,
        "records": count,
        "task_candidates": candidates,
        "insert_seconds": round(perf_counter() - start, 2),
    }


def _candidates(tasks: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for t in tasks:
        pooled, sort_at = t["assignee_id"] is None, t["due_at"] or t["created_at"]
        for kind, names in (("group", t["candidate_groups"]), ("user", t["candidate_users"])):
            for name in filter(None, names.split(",")):
                yield {"task_id": t["id"], "kind": kind, "name": name, "pooled": pooled, "sort_at": sort_at,
                       "due_at": t["due_at"]}


def actors(factory: UowFactory) -> list[Actor]:
    """Every bench user as the services see them."""
    with factory.engine.connect() as conn:
        ids = conn.scalars(select(UserRow.id).order_by(UserRow.id)).all()
    return [get_actor(factory(), i) for i in ids]


def _query_only(factory: UowFactory, actor: Actor, scope: str) -> tuple[list[str], float]:
    with factory() as uow:
        start = perf_counter()
        if scope == "mine":
            rows = uow.tasks.assigned([actor.id or 0], PAGE, 0)
        else:
            rows = uow.tasks.pool(actor.groups, actor.username, PAGE, 0)
        return [r.id for r in rows], perf_counter() - start


def measure(factory: UowFactory, people: list[Actor], repeats: int, seed: int = 11) -> dict[str, Any]:
    """`list_tasks` (first page of 50) for random users, mine and pool alternating; on every BARE_EVERY-th user
    also the repository query alone."""
    rng = random.Random(seed)
    log = StatementLog(factory.engine)
    service: dict[str, list[float]] = {"mine": [], "pool": []}
    bare: dict[str, list[float]] = {"mine": [], "pool": []}
    rows: dict[str, list[int]] = {"mine": [], "pool": []}
    statements = dict.fromkeys(service, 0)
    for scope in service:  # warm the connection pool and statement caches
        list_tasks(factory(), people[0], scope)
    for n in range(repeats):
        actor = rng.choice(people)
        for scope in service:
            before, start = log.count, perf_counter()
            views = list_tasks(factory(), actor, scope)
            service[scope].append(perf_counter() - start)
            statements[scope] += log.count - before
            rows[scope].append(len(views))
        if n % BARE_EVERY == 0:
            bare["mine"].append(_query_only(factory, actor, "mine")[1])
            bare["pool"].append(_query_only(factory, actor, "pool")[1])
    result: dict[str, Any] = {
        scope: {
            "list_tasks": summary_ms(service[scope]),
            "repository_query_only": summary_ms(bare[scope]),
            "sql_statements_per_call": round(statements[scope] / repeats, 1),
            "mean_rows_returned": round(sum(rows[scope]) / repeats, 1),
        }
        for scope in service
    }
    sales = next(a for a in people if a.has("sales"))
    result["plans"] = {
        "mine": explain(factory, log, sales, lambda: list_tasks(factory(), sales, "mine")),
        "pool": explain(factory, log, sales, lambda: list_tasks(factory(), sales, "pool")),
    }
    return result


DEEP_PAGE = 20  # the page timed deep in a tab: rows 951-1000


def measure_pages(factory: UowFactory, people: list[Actor], repeats: int, seed: int = 17) -> dict[str, Any]:
    """Page DEEP_PAGE of the pool by offset against the same page by keyset (after the last task of the page
    before), unsorted (the candidate index's merged heads) and sorted by the task's name in Russian (the labels
    mapped in the database); and the first page of that sort. Per call: `list_tasks` of 50 rows."""
    rng = random.Random(seed)
    offset = (DEEP_PAGE - 1) * PAGE
    variants = {"pool": TaskFilter(), "pool by task name (ru)": named_in(factory(), TaskFilter(sort="task"), "ru")}
    times: dict[str, list[float]] = {}
    same = True
    for _ in range(repeats):
        actor = rng.choice(people)
        for label, flt in variants.items():
            # the cursor: the last task of the page before (what the previous page's "next" link carries)
            before = list_tasks(factory(), actor, "pool", limit=PAGE, offset=offset - PAGE, flt=flt)
            if len(before) < PAGE:
                continue
            timed = {
                "offset": lambda a=actor, f=flt: list_tasks(factory(), a, "pool", limit=PAGE, offset=offset, flt=f),
                "keyset": lambda a=actor, f=flt, c=before[-1].id: list_tasks(factory(), a, "pool", limit=PAGE,
                                                                          flt=f, after=c),
            }
            pages = {}
            for how, call in timed.items():
                start = perf_counter()
                pages[how] = call()
                times.setdefault(f"{label}: page {DEEP_PAGE} by {how}", []).append(perf_counter() - start)
            same = same and [t.id for t in pages["offset"]] == [t.id for t in pages["keyset"]]
            start = perf_counter()
            list_tasks(factory(), actor, "pool", limit=PAGE, flt=flt)
            times.setdefault(f"{label}: first page", []).append(perf_counter() - start)
    return {"pages": {label: summary_ms(values) for label, values in times.items()},
            "keyset_equals_offset": same}


def inbox_app(factory: UowFactory) -> Any:
    """The web app on the bench database (Flask test client: routing, session, the request's unit of work, the
    template; no network)."""
    from web import create_app

    return create_app(
        {
            "DATABASE_URL": "unused",
            "UOW_FACTORY": factory,
            "SECRET_KEY": "bench",
            "TESTING": True,
            "WTF_CSRF_ENABLED": False,
            "SESSION_COOKIE_SECURE": False,
        }
    )


def signed_in(app: Any, actor: Actor) -> Any:
    """A test client with `actor`'s session (bench users have no password)."""
    client = app.test_client()
    with client.session_transaction() as session:
        session["user_id"] = actor.id
    return client


class HttpTimer:
    """Timed GETs through a test client, with the SQL statements each sends, by label."""

    def __init__(self, factory: UowFactory) -> None:
        self.log = StatementLog(factory.engine)
        self.times: dict[str, list[float]] = {}
        self.statements: dict[str, int] = {}

    def get(self, client: Any, label: str, path: str) -> None:
        """GET `path`, timed under `label`; anything but 200 stops the bench."""
        before, start = self.log.count, perf_counter()
        response = client.get(path)
        self.times.setdefault(label, []).append(perf_counter() - start)
        self.statements[label] = self.statements.get(label, 0) + self.log.count - before
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} answered {response.status_code}")

    def summary(self) -> dict[str, Any]:
        """Latency and statements per request of each label."""
        return {
            label: {
                "http_get": summary_ms(times),
                "sql_statements_per_request": round(self.statements[label] / len(times), 1),
            }
            for label, times in self.times.items()
        }


SORTED_HTTP = (("due", "desc"), ("created", ""), ("assignee", ""), ("task", ""))  # (sort, dir) timed over HTTP


def measure_http(factory: UowFactory, people: list[Actor], repeats: int, seed: int = 13) -> dict[str, Any]:
    """GET /tasks?tab=mine and ?tab=pool over HTTP for random users: latency and SQL statements per request; then
    mine, pool and overdue sorted by a column (SORTED_HTTP), a quarter as many times."""
    rng = random.Random(seed)
    app = inbox_app(factory)
    clients = {a.id: signed_in(app, a) for a in people}
    scopes = ("mine", "pool")
    for scope in scopes:  # warm the pool, the template cache and the bundle cache
        assert clients[people[0].id].get(f"/tasks?tab={scope}").status_code == 200
    timer = HttpTimer(factory)
    for _ in range(repeats):
        client = clients[rng.choice(people).id]
        for scope in scopes:
            timer.get(client, scope, f"/tasks?tab={scope}")
    sorted_rng = random.Random(seed + 1)
    for _ in range(max(repeats // 4, 5)):  # a sorted page: no tab read whole (inbox_segments) but task sort
        client = clients[sorted_rng.choice(people).id]
        for scope in ("mine", "pool", "overdue"):
            for sort, direction in SORTED_HTTP:
                timer.get(client, f"{scope} by {sort}{' ' + direction if direction else ''}",
                          f"/tasks?tab={scope}&sort={sort}&dir={direction}")
    out = timer.summary()
    with timer.log.capture() as sent:
        clients[people[-1].id].get("/tasks?tab=pool")
    out["statements_of_one_pool_request"] = [" ".join(stmt.split())[:160] for stmt, _ in sent]
    return out


def explain(factory: UowFactory, log: StatementLog, actor: Actor, call: Callable[[], object]) -> dict[str, Any]:
    """The first statement on the task tables that `call` sends, and the database's plan for it."""
    with log.capture() as sent:
        call()
    statement, params = next((s, p) for s, p in sent if "FROM task" in s)
    with factory.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params).all()
            depth: dict[int, int] = {0: -1}
            plan = []
            for node, parent, _unused, detail in rows:
                depth[node] = depth.get(parent, -1) + 1
                plan.append("  " * depth[node] + detail)
        else:
            plan = [r[0] for r in conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, params).all()]
    return {"user": actor.username, "groups": sorted(actor.groups), "sql": " ".join(statement.split()), "plan": plan}


def run_sqlite(workdir: Path, count: int, repeats: int) -> dict[str, Any]:
    """The inbox benchmark on a SQLite file."""
    path = workdir / "inbox.sqlite"
    factory = deployed_factory(fresh_sqlite(path))
    try:
        data = populate(factory, count)
        data["database_mb"] = round(sum(p.stat().st_size for p in workdir.glob("inbox.sqlite*")) / 2**20, 1)
        people = actors(factory)
        return {
            "backend": "sqlite",
            "data": data,
            **measure(factory, people, repeats),
            **measure_pages(factory, people, repeats),
            "http": measure_http(factory, people, repeats),
            "http_matrix": measure_matrix(factory, people, max(repeats // 4, 1), inbox_app(factory), signed_in),
        }
    finally:
        factory.dispose()


def run_postgres(url: str, count: int, repeats: int) -> dict[str, Any]:
    """The inbox benchmark on PostgreSQL, in a schema of its own that is dropped afterwards."""
    with postgres_schema(url, "flowcrm_bench") as scoped:
        prepare_database(scoped)
        factory = deployed_factory(scoped)
        try:
            data = populate(factory, count)
            # what autovacuum would have done by the time anyone looks: statistics, and the visibility map that
            # lets the inbox's index-only scans skip the table (VACUUM runs outside a transaction)
            with factory.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
            people = actors(factory)
            return {
                "backend": "postgresql",
                "data": data,
                **measure(factory, people, repeats),
                **measure_pages(factory, people, repeats),
                "http": measure_http(factory, people, repeats),
                "http_matrix": measure_matrix(factory, people, max(repeats // 4, 1), inbox_app(factory),
                                              signed_in),
            }
        finally:
            factory.dispose()
