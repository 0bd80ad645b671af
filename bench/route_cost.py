"""What every page and API call costs: for each GET route of the web UI and /api/v1 (walked from the app's
url_map), as the role that uses it, the SQL statements, database transactions and units of work one request takes
and its median time, on the demo data (1x) and on (1 + copies)x of it. A route whose statements grow with the data
is an N+1. `python -m bench.route_cost [--copies 4] [--repeats 5] [--postgres URL]`; `make bench --only routes`."""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter
from typing import Any

from flask import Flask
from sqlalchemy import event, text
from werkzeug.routing import Rule

from bench.bundle import deployed
from bench.common import NOW, ROOT, fresh_sqlite, postgres_schema
from bench.route_data import seeded
from engine.bootstrap import UowFactory, prepare_database
from engine.services.users import get_actor, issue_api_token

SEED = ROOT / "demo" / "seed.yaml"
USERS = {"seller": "anna", "head": "helen", "designer": "dana", "admin": "adam", "auditor": "olga"}
# the role whose page it is, by endpoint prefix (the longest prefix wins); the rest is the seller's
ROLES = {"admin.": "admin", "config_admin.": "admin", "incidents.": "admin", "schema.": "admin",
         "audit.": "auditor", "designer.": "designer", "reports.": "head", "boards.": "head",
         "duplicates.": "head", "segments.": "head", "imports.": "head", "engine_rest.": "admin",
         "api.audit_log": "auditor", "api.incidents": "admin", "api.list_process_versions": "designer",
         "api.reports": "head", "api.report_result": "head", "api.list_boards": "head", "api.get_board": "head",
         "api.list_pairs": "head", "api.get_pair": "head", "api.import": "head", "api.list_segments": "head",
         "api.get_segment": "head", "api.export_segment": "head", "api.segment_records": "head"}
SKIPPED = {"static"}  # files, no database
QUERIES = {"search.results": "?q=Соколов", "search.choices": "?q=Соколов", "api.search_records": "?q=Соколов",
           "api.record_as_of": "?at=2026-12-31T00:00:00Z"}


@dataclass(frozen=True)
class Route:
    """One GET request of the census: the rule, the concrete path and the role asking."""

    rule: str
    endpoint: str
    path: str
    role: str


def role_of(endpoint: str) -> str:
    """The role that uses the page of `endpoint`."""
    found = [prefix for prefix in ROLES if endpoint.startswith(prefix)]
    return ROLES[max(found, key=len)] if found else "seller"


def targets(factory: UowFactory) -> dict[str, str]:
    """Path values from the seeded data that are the same rows at every size: the seed's lead with the longest
    history (its copies keep editing it), its instance with the most steps, a task the seller sees."""
    queries = {
        "record_id": "SELECT r.id FROM record r JOIN field_change f ON f.record_id = r.id "
                     "JOIN user_account u ON u.id = r.owner_id WHERE r.entity = 'Lead' AND u.username = :seller "
                     "GROUP BY r.id ORDER BY count(*) DESC, r.id LIMIT 1",
        "instance_id": "SELECT i.id FROM process_instance i JOIN instance_event e ON e.instance_id = i.id "
                       "GROUP BY i.id ORDER BY count(*) DESC, i.id LIMIT 1",
        "task_id": "SELECT id FROM task WHERE completed_at IS NULL ORDER BY created_at, record_id, spec_name LIMIT 1",
        "process_version_id": "SELECT max(id) FROM process_version",
        "config_version_id": "SELECT max(id) FROM config_version",
        "pair_id": "SELECT min(id) FROM duplicate_pair",
        "segment_id": "SELECT min(id) FROM segment",
        "job_id": "SELECT min(id) FROM import_job",
        "id": "SELECT min(id) FROM external_task",
    }
    found = {"entity": "Lead", "catalog": "lead_status", "name": "deals", "report": "deals_by_product",
             "username": USERS["seller"], "fmt": "csv"}
    with factory.engine.connect() as conn:
        for name, sql in queries.items():
            value = conn.execute(text(sql), {"seller": USERS["seller"]} if ":seller" in sql else {}).scalar()
            if value is not None:
                found[name] = str(value)
    return found


def routes(app: Flask, values: dict[str, str]) -> tuple[list[Route], list[tuple[str, str]]]:
    """Every GET route with its path filled from `values`; and the rules left out, with why."""
    chosen, left = [], []
    adapter = app.url_map.bind("localhost")
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" not in (rule.methods or ()) or rule.endpoint in SKIPPED:
            continue
        args = {name: _value(rule, name, values) for name in rule.arguments}
        missing = [name for name, value in args.items() if value is None]
        if missing:
            left.append((rule.rule, f"no {', '.join(missing)} in the demo data"))
            continue
        path = adapter.build(rule.endpoint, {k: int(v) if v.isdigit() else v for k, v in args.items() if v})
        path += QUERIES.get(rule.endpoint, "")
        chosen.append(Route(rule.rule, rule.endpoint, path, "anonymous" if rule.endpoint == "auth.login"
                            else role_of(rule.endpoint)))
    return chosen, left


def _value(rule: Rule, name: str, values: dict[str, str]) -> str | None:
    if rule.endpoint == "api.report_result":
        return values.get("report")
    if name == "version_id":
        return values.get("config_version_id" if rule.endpoint.startswith("config_admin.") else "process_version_id")
    return values.get(name)


@dataclass
class Cost:
    """What one route took: statements, transactions and units of work per request, status, times."""

    status: int
    statements: int
    transactions: int
    units: int
    seconds: list[float]
    sent: list[str]

    @property
    def median_ms(self) -> float:
        return round(statistics.median(self.seconds) * 1000, 2) if self.seconds else 0.0


class Census:
    """A web app on one database, a signed-in client per role, and counters on its engine."""

    def __init__(self, factory: UowFactory) -> None:
        from web import create_app

        self.factory = factory
        self.app = create_app({"DATABASE_URL": "unused", "UOW_FACTORY": factory, "SECRET_KEY": "census",
                               "TESTING": True, "WTF_CSRF_ENABLED": False, "SESSION_COOKIE_SECURE": False})
        self.clients: dict[str, Any] = {"anonymous": self.app.test_client()}
        self.tokens: dict[str, str] = {}
        with factory() as uow:
            ids = {u.username: u.id for u in uow.users.all()}
        for role, username in USERS.items():
            client = self.app.test_client()
            with client.session_transaction() as session:
                session["user_id"] = ids[username]
            self.clients[role] = client
            self.tokens[role] = issue_api_token(factory(), get_actor(factory(), ids[username]), NOW)

    def get(self, route: Route) -> Any:
        """One GET of the route as its role (API routes with the role's bearer token)."""
        headers = {}
        if route.path.startswith(("/api/", "/engine-rest/")) and route.role in self.tokens:
            headers["Authorization"] = f"Bearer {self.tokens[route.role]}"
        response = self.clients[route.role].get(route.path, headers=headers)
        response.get_data()  # a streamed body (exports) reads the database while it is sent
        return response

    def cost(self, route: Route, repeats: int = 1) -> Cost:
        """Counts of one request after a warm-up one, and the times of `repeats` requests."""
        self.get(route)
        with counting(self.app, self.factory) as seen:
            response = self.get(route)
        seconds = []
        for _ in range(repeats):
            start = perf_counter()
            self.get(route)
            seconds.append(perf_counter() - start)
        return Cost(response.status_code, len(seen["statements"]), len(seen["transactions"]),
                    len(seen["units"]), seconds, seen["statements"])


@contextmanager
def counting(app: Flask, factory: UowFactory) -> Iterator[dict[str, list[str]]]:
    """The statements, transactions (BEGINs on the engine) and units of work made inside the block."""
    seen: dict[str, list[str]] = {"statements": [], "transactions": [], "units": []}
    make: Callable[[], Any] = app.extensions["flowcrm.uow"]

    def unit() -> Any:
        seen["units"].append("unit")
        return make()

    def statement(_conn: Any, _cursor: Any, sql: str, *_rest: Any) -> None:
        seen["statements"].append(" ".join(sql.split())[:240])

    def begin(_conn: Any) -> None:
        seen["transactions"].append("begin")

    app.extensions["flowcrm.uow"] = unit
    event.listen(factory.engine, "before_cursor_execute", statement)
    event.listen(factory.engine, "begin", begin)
    try:
        yield seen
    finally:
        event.remove(factory.engine, "begin", begin)
        event.remove(factory.engine, "before_cursor_execute", statement)
        app.extensions["flowcrm.uow"] = make


def build_sqlite(folder: Path, copies: int) -> tuple[str, str]:
    """Two SQLite files: the demo data, and the demo data with `copies` more copies (grown from a copy of the
    first)."""
    small = fresh_sqlite(folder / "routes-1x.sqlite")
    factory = deployed(small)
    seeded(factory, SEED, NOW)
    factory.dispose()
    shutil.copy(folder / "routes-1x.sqlite", folder / f"routes-{copies + 1}x.sqlite")
    large = f"sqlite:///{folder / f'routes-{copies + 1}x.sqlite'}"
    factory = _factory(large)
    seeded(factory, SEED, NOW, copies)
    factory.dispose()
    return small, large


def _factory(url: str) -> UowFactory:
    from engine.bootstrap import uow_factory

    return uow_factory(url)


def measure(urls: list[str], repeats: int) -> dict[str, Any]:
    """The census on databases of growing size (same routes, the same rows asked for: task ids differ between
    databases seeded apart, so each database names its own), interleaved route by route."""
    factories = [_factory(url) for url in urls]
    try:
        censuses = [Census(f) for f in factories]
        found = [routes(census.app, targets(census.factory)) for census in censuses]
        chosen, left = found[0]
        paths = [{route.rule: route for route in mine} for mine, _ in found]
        rows = []
        for route in chosen:
            costs = [census.cost(mine[route.rule], repeats) for census, mine in zip(censuses, paths, strict=True)]
            rows.append({"route": route.rule, "path": route.path, "role": route.role,
                         "status": [c.status for c in costs], "statements": [c.statements for c in costs],
                         "transactions": [c.transactions for c in costs], "units": [c.units for c in costs],
                         "median_ms": [c.median_ms for c in costs]})
        return {"rows": rows, "left_out": [{"route": r, "why": why} for r, why in left]}
    finally:
        for f in factories:
            f.dispose()


def run_sqlite(workdir: Path, copies: int, repeats: int) -> dict[str, Any]:
    """The census on SQLite files in `workdir`."""
    small, large = build_sqlite(workdir, copies)
    return {"database": "sqlite", "sizes": [1, copies + 1], **measure([small, large], repeats)}


def run_postgres(url: str, copies: int, repeats: int) -> dict[str, Any]:
    """The census on two throw-away PostgreSQL schemas."""
    with postgres_schema(url, "flowcrm_bench_routes_small") as small, \
            postgres_schema(url, "flowcrm_bench_routes_large") as large:
        for target, n in ((small, 0), (large, copies)):
            prepare_database(target)
            factory = deployed(target)
            seeded(factory, SEED, NOW, n)
            factory.dispose()
        return {"database": "postgresql", "sizes": [1, copies + 1], **measure([small, large], repeats)}


def table(result: dict[str, Any]) -> str:
    """The census as a Markdown table."""
    sizes = result["sizes"]
    head = ["route", "role", *(f"stmts {s}x" for s in sizes), *(f"tx {s}x" for s in sizes),
            *(f"ms {s}x" for s in sizes)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in result["rows"]:
        flag = "" if all(s == 200 for s in row["status"]) else f" ({'/'.join(map(str, row['status']))})"
        lines.append("| " + " | ".join([f"`{row['route']}`{flag}", row["role"], *map(str, row["statements"]),
                                         *map(str, row["transactions"]), *map(str, row["median_ms"])]) + " |")
    for item in result["left_out"]:
        lines.append(f"| `{item['route']}` | — | not measured: {item['why']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Print the census table of SQLite (and PostgreSQL with --postgres)."""
    parser = argparse.ArgumentParser(prog="python -m bench.route_cost", description=__doc__)
    parser.add_argument("--copies", type=int, default=4, help="copies of the demo data in the larger database")
    parser.add_argument("--repeats", type=int, default=5, help="timed requests per route and size")
    parser.add_argument("--postgres", help="a PostgreSQL URL")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        results = [run_sqlite(Path(folder), args.copies, args.repeats)]
    if args.postgres:
        results.append(run_postgres(args.postgres, args.copies, args.repeats))
    for result in results:
        print(f"\n{result['database']}\n{table(result)}")


if __name__ == "__main__":
    main()
