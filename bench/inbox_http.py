"""The inbox over HTTP on every tab, sort, direction and a set of column filters: p50/p95 per page, the SQL
statements each request sends, and the rows the page statement reads (PostgreSQL: EXPLAIN ANALYZE, rows filtered
out included; SQLite: virtual machine steps in hundreds), which do not depend on the machine's load."""

from __future__ import annotations

import random
from time import perf_counter, process_time
from typing import Any

from sqlalchemy import Engine, insert

from bench.common import NOW, StatementLog, summary_ms
from engine.bootstrap import UowFactory
from engine.services.users import get_actor
from engine.services.views import Actor
from engine.store.models import UserRow

TABS = ("mine", "pool", "overdue", "team", "all")
SORTS = ("", "due", "created", "assignee", "task", "record", "process")  # "": the tab's own order
# column filters as query strings: a record title, an assignee, a process, a week of due dates
FILTERS = {
    "record": "f.record=Lead+1",
    "assignee": "f.assignee=user0",
    "process": "f.process=lead_qualification",
    "due week": "f.due.from=2026-03-02&f.due.to=2026-03-08",
}
FILTERED_SORTS = ("", "due", "record")


def pages() -> list[tuple[str, str, str]]:
    """(label, tab, query string) of every page timed."""
    out = []
    for tab in TABS:
        for sort in SORTS:
            for direction in ("asc", "desc") if sort else ("",):
                query = f"sort={sort}&dir={direction}" if sort else ""
                out.append((f"{tab} {sort or 'plain'} {direction}".strip(), tab, query))
        for name, condition in FILTERS.items():
            for sort in FILTERED_SORTS:
                query = f"{condition}&sort={sort}" if sort else condition
                out.append((f"{tab} [{name}] {sort or 'plain'}", tab, query))
    return out


def rows_read(engine: Engine, statement: str, params: Any, planned_at_scale: bool = False,
              no_bitmaps: bool = False) -> int:
    """How much the database does for one statement: on PostgreSQL the rows its plan reads from the task tables
    (EXPLAIN ANALYZE, rows removed by a filter included, times loops), on SQLite its virtual machine steps in
    hundreds (SQLite counts no rows). `planned_at_scale`: PostgreSQL plans without sequential scans (a small
    table would be read whole where a large one is read through its indexes); `no_bitmaps`: nor bitmap scans (a
    range of a few hundred rows is read whole and sorted, where one of thousands is read in order)."""
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            steps = [0]

            def step() -> int:
                steps[0] += 1
                return 0

            raw: Any = conn.connection.dbapi_connection
            raw.set_progress_handler(step, 100)
            conn.exec_driver_sql(statement, params).all()
            raw.set_progress_handler(None, 100)
            return steps[0]
        if planned_at_scale:
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        if no_bitmaps:
            conn.exec_driver_sql("SET LOCAL enable_bitmapscan = off")
        (plan,) = conn.exec_driver_sql("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, params).scalar()
        conn.rollback()

    def read(node: dict[str, Any]) -> int:
        own = 0
        if node.get("Relation Name") in ("task", "task_candidate"):
            own = (node["Actual Rows"] + node.get("Rows Removed by Filter", 0)) * node["Actual Loops"]
        return int(own) + sum(read(child) for child in node.get("Plans", []))

    return read(plan["Plan"])


def _admin(factory: UowFactory) -> int:
    """An admin user (the All tab), added once."""
    with factory.engine.begin() as conn:
        result = conn.execute(
            insert(UserRow).returning(UserRow.id),
            [
                {
                    "username": "bench_admin",
                    "display_name": "Admin",
                    "password_hash": "!",
                    "roles": "admin",
                    "team": None,
                    "locale": "en",
                    "active": True,
                    "created_at": NOW,
                }
            ],
        )
        return int(result.scalar_one())


def measure_matrix(
    factory: UowFactory, people: list[Actor], repeats: int, app: Any, signed_in: Any, seed: int = 19
) -> dict[str, Any]:
    """Every page of `pages()` `repeats` times, each by a random user of the tab's role (a head of sales for
    Team, an admin for All), in rounds over the pages; with statements and rows read of one request each."""
    rng = random.Random(seed)
    heads = [a for a in people if a.has("head_of_sales")]
    admin = get_actor(factory(), _admin(factory))
    clients = {a.id: signed_in(app, a) for a in [*people, admin]}
    log = StatementLog(factory.engine)
    times: dict[str, list[float]] = {}
    statements: dict[str, int] = {}
    rows: dict[str, int] = {}
    matrix = pages()

    def who(tab: str) -> Actor:
        return admin if tab == "all" else rng.choice(heads if tab == "team" else people)

    for label, tab, query in matrix:  # warm every shape once; the rows read of one request
        with log.capture() as sent:
            response = clients[who(tab).id].get(f"/tasks?tab={tab}&{query}")
        if response.status_code != 200:
            raise RuntimeError(f"GET /tasks?tab={tab}&{query} answered {response.status_code}")
        page = next(((s, p) for s, p in sent if "FROM task" in s), None)
        rows[label] = rows_read(factory.engine, *page) if page else 0
    for _ in range(repeats):
        for label, tab, query in matrix:
            client = clients[who(tab).id]
            before, start = log.count, perf_counter()
            response = client.get(f"/tasks?tab={tab}&{query}")
            times.setdefault(label, []).append(perf_counter() - start)
            statements[label] = statements.get(label, 0) + log.count - before
            if response.status_code != 200:
                raise RuntimeError(f"GET /tasks?tab={tab}&{query} answered {response.status_code}")
    return {
        label: {
            "http_get": summary_ms(times[label]),
            "sql_statements_per_request": round(statements[label] / repeats, 1),
            "rows_read_by_page_statement": rows[label],
        }
        for label, _, _ in matrix
    }


def compare_databases(apps: dict[str, tuple[Any, dict[int, Any], Actor, list[Actor]]], labels: list[str],
                      repeats: int, seed: int = 3) -> dict[str, Any]:
    """The pages `labels` of `pages()` on two (or more) copies of one database — e.g. the schema before and after
    a migration — request by request in random order, so every side sees the same load; p50/p95 each and the
    ratio of the second side to the first (one side: its p50/p95 and CPU per request, to compare code by running
    two checkouts on one database). `apps`: side → (app, clients by user id, admin, readers)."""
    rng = random.Random(seed)
    shown = {label: (tab, query) for label, tab, query in pages()}
    times: dict[tuple[str, str], list[float]] = {}
    cpu: dict[tuple[str, str], float] = {}

    def get(side: str, label: str, who: int, timed: bool = True) -> None:
        _, clients, admin, readers = apps[side]
        tab, query = shown[label]
        reader = admin if tab == "all" else readers[who % len(readers)]
        start, used = perf_counter(), process_time()
        response = clients[reader.id].get(f"/tasks?tab={tab}&{query}")
        if timed:
            times.setdefault((side, label), []).append(perf_counter() - start)
            cpu[(side, label)] = cpu.get((side, label), 0.0) + process_time() - used
        if response.status_code != 200:
            raise RuntimeError(f"GET /tasks?tab={tab}&{query} on {side} answered {response.status_code}")

    for label in labels:  # warm each side's pool, plans and templates
        for side in apps:
            for who in range(3):
                get(side, label, who, timed=False)
    for _ in range(repeats):
        who = rng.randrange(1000)
        for label in labels:
            for side in rng.sample(list(apps), len(apps)):
                get(side, label, who)
    out: dict[str, Any] = {}
    if len(apps) == 1:  # one database: this checkout's code timed alone
        (side,) = apps
        return {label: {**summary_ms(times[(side, label)]),
                        "cpu_ms_per_request": round(cpu[(side, label)] / repeats * 1000, 2)} for label in labels}
    first, second = list(apps)[:2]
    for label in labels:
        a, b = summary_ms(times[(first, label)]), summary_ms(times[(second, label)])
        out[label] = {first: a, second: b, f"{second}/{first}_p50": round(b["median_ms"] / a["median_ms"], 2),
                      f"{second}/{first}_p95": round(b["p95_ms"] / a["p95_ms"], 2)}
    return out


def main() -> None:
    """`python -m bench.inbox_http URL_A [URL_B] --pages "pool [record] plain,..."`: two copies of a populated inbox
    database (bench/inbox.py `populate`, with a user `bench_admin`) compared page by page, interleaved; or one
    database timed with this checkout's code (run it from another checkout to compare code)."""
    import argparse
    import json
    from datetime import datetime

    from bench.inbox import actors, inbox_app, signed_in
    from engine.bootstrap import uow_factory

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("first")
    parser.add_argument("second", nargs="?")
    parser.add_argument("--pages", required=True, help="labels of pages(), comma-separated")
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    apps = {}
    for side, url in (("first", args.first), ("second", args.second)) if args.second else (("first", args.first),):
        factory = uow_factory(url)
        people = actors(factory)
        admin = next(a for a in people if a.username == "bench_admin")
        readers = [a for a in people if a.has("sales") and not a.has("head_of_sales")]
        app = inbox_app(factory)
        apps[side] = (app, {a.id: signed_in(app, a) for a in people}, admin, readers)
    with open("/proc/loadavg") as load:
        before = load.read().split()[:3]
    result = compare_databases(apps, args.pages.split(","), args.repeats)
    with open("/proc/loadavg") as load:
        after = load.read().split()[:3]
    print(json.dumps({"at": datetime.now().isoformat(timespec="seconds"), "load_before": before,
                      "load_after": after, "pages": result}, indent=1))


if __name__ == "__main__":
    main()
