"""What a page costs in Python beyond its SQL: the inbox tabs and a record card through the Flask app (routing,
session, the request's unit of work, the template; no network) on a populated inbox database (bench/inbox.py
`populate`), p50/p95, requests per second and this process's CPU per request (the app's Python: the database
server's work is not in it on PostgreSQL), and the Python function calls per request (cProfile), which do not
depend on the machine's load. Run it from two checkouts at once on one database to compare code:
`python -m bench.page_floor URL` in each (both processes share the machine's load)."""

from __future__ import annotations

import cProfile
import json
import pstats
from datetime import datetime
from time import perf_counter, process_time
from typing import Any

from sqlalchemy import text

from bench.common import summary_ms
from bench.inbox import actors, inbox_app, signed_in
from engine.bootstrap import uow_factory

PAGES = ("/tasks?tab=pool", "/tasks?tab=mine", "card")  # card: a record the reader sees through a pool task
PROFILED = 50  # requests per page run under cProfile to count calls


def _load() -> list[str]:
    with open("/proc/loadavg") as load:
        return load.read().split()[:3]


def measure(url: str, repeats: int, warm: int = 20) -> dict[str, Any]:
    """Each page `repeats` times in rounds over the pages, by one salesperson, after `warm` requests each."""
    factory = uow_factory(url)
    reader = next(a for a in actors(factory) if a.has("sales") and not a.has("head_of_sales"))
    with factory.engine.connect() as conn:  # a record of someone else's that the reader sees through the pool
        record_id = conn.execute(text(
            "SELECT t.record_id FROM task t JOIN task_candidate c ON c.task_id = t.id JOIN record r "
            "ON r.id = t.record_id WHERE c.pooled AND c.kind = 'group' AND c.name = 'sales' AND t.state = 'open' "
            "AND (r.owner_id IS NULL OR r.owner_id <> :me) ORDER BY t.record_id LIMIT 1"), {"me": reader.id}).scalar()
    paths = {page: f"/records/{record_id}" if page == "card" else page for page in PAGES}
    client = signed_in(inbox_app(factory), reader)

    def get(path: str) -> None:
        response = client.get(path)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} answered {response.status_code}")

    for path in paths.values():
        for _ in range(warm):
            get(path)
    times: dict[str, list[float]] = {page: [] for page in PAGES}
    cpu = dict.fromkeys(PAGES, 0.0)
    before = _load()
    for _ in range(repeats):
        for page, path in paths.items():
            start, used = perf_counter(), process_time()
            get(path)
            times[page].append(perf_counter() - start)
            cpu[page] += process_time() - used
    after = _load()
    calls = {}
    for page, path in paths.items():
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(PROFILED):
            get(path)
        profile.disable()
        calls[page] = round(pstats.Stats(profile).total_calls / PROFILED)  # type: ignore[attr-defined]
    factory.dispose()
    return {
        "at": datetime.now().isoformat(timespec="seconds"), "load_before": before, "load_after": after,
        "pages": {page: {**summary_ms(times[page]), "requests_per_s": round(len(times[page]) / sum(times[page]), 1),
                         "cpu_ms_per_request": round(cpu[page] / repeats * 1000, 2),
                         "python_calls_per_request": calls[page], "path": paths[page]} for page in PAGES},
    }


def main() -> None:
    """`python -m bench.page_floor URL [--repeats N]`."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    print(json.dumps(measure(args.url, args.repeats), indent=1))


if __name__ == "__main__":
    main()
