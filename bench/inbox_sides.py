"""Two checkouts' code on one populated inbox database (bench/inbox.py `populate`, with a user `bench_admin`),
request by request: each checkout serves the pages in a process of its own (`--serve`), and the driver sends every
request of bench/inbox_http.py's matrix to both, in random order of the two, as the matrix picks its readers. Both
sides share the machine's load and the database's caches minute by minute, which two runs one after the other do
not. Per page and side: p50 / p95 of the request, this process's CPU per request, SQL statements per request and the
transaction commands psycopg sends besides them (BEGIN, COMMIT, ROLLBACK: a round trip each; PostgreSQL only).

`python -m bench.inbox_sides URL OLD_CHECKOUT NEW_CHECKOUT [--rounds 20] [--pages "mine plain,pool plain"]`."""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
from datetime import datetime
from time import perf_counter, process_time
from typing import IO, Any

from bench.common import percentile
from bench.inbox_http import pages


def serve(url: str) -> None:
    """Answer `tab<TAB>query<TAB>user id` lines on stdin with `wall_ms cpu_ms statements commands status`."""
    from sqlalchemy import event

    from bench.inbox import actors, inbox_app, signed_in
    from engine.bootstrap import uow_factory

    factory = uow_factory(url)
    counts = {"statements": 0, "commands": 0}
    if factory.engine.dialect.name == "postgresql":
        import psycopg

        sent = psycopg.Connection._exec_command

        def command(self: Any, text: Any, *args: Any, **kwargs: Any) -> Any:
            counts["commands"] += 1
            return sent(self, text, *args, **kwargs)

        psycopg.Connection._exec_command = command  # type: ignore[method-assign]

    def statement(*_args: Any) -> None:
        counts["statements"] += 1

    event.listen(factory.engine, "before_cursor_execute", statement)
    people = actors(factory)
    app = inbox_app(factory)
    clients = {a.id: signed_in(app, a) for a in people}
    print("ready", json.dumps([[a.id, a.username, sorted(a.roles)] for a in people]), flush=True)
    for line in sys.stdin:
        tab, query, user = line.rstrip("\n").split("\t")
        statements, commands = counts["statements"], counts["commands"]
        start, used = perf_counter(), process_time()
        response = clients[int(user)].get(f"/tasks?tab={tab}&{query}")
        wall, cpu = perf_counter() - start, process_time() - used
        print(
            f"{wall * 1000:.3f} {cpu * 1000:.3f} {counts['statements'] - statements} "
            f"{counts['commands'] - commands} {response.status_code}",
            flush=True,
        )


def _load() -> list[str]:
    with open("/proc/loadavg") as load:
        return load.read().split()[:3]


def compare(
    url: str, checkouts: dict[str, str], rounds: int, labels: list[str] | None, seed: int = 19
) -> dict[str, Any]:
    """Every page of the matrix (or `labels`) `rounds` times on each side, interleaved; two warm-up rounds."""
    procs: dict[str, subprocess.Popen[str]] = {}
    people: list[list[Any]] = []
    for side, root in checkouts.items():
        procs[side] = subprocess.Popen(
            [f"{root}/.venv/bin/python", __file__, "--serve", url],  # this file, on the checkout's own code
            cwd=root,
            text=True,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": root},
        )
        word, _, listed = (_out(procs[side]).readline()).partition(" ")
        if word != "ready":
            raise RuntimeError(f"the {side} side did not start: {word} {listed}")
        people = json.loads(listed)
    admin = next(i for i, name, _ in people if name == "bench_admin")
    heads = [i for i, _, roles in people if "head_of_sales" in roles]
    readers = [i for i, name, _ in people if name != "bench_admin"]
    rng = random.Random(seed)
    matrix = [page for page in pages() if not labels or page[0] in labels]

    def who(tab: str) -> int:
        return admin if tab == "all" else rng.choice(heads if tab == "team" else readers)

    def ask(side: str, tab: str, query: str, user: int) -> tuple[float, float, int, int]:
        proc = procs[side]
        _in(proc).write(f"{tab}\t{query}\t{user}\n")
        _in(proc).flush()
        wall, cpu, statements, commands, status = _out(proc).readline().split()
        if status != "200":
            raise RuntimeError(f"GET /tasks?tab={tab}&{query} on the {side} side answered {status}")
        return float(wall), float(cpu), int(statements), int(commands)

    for _, tab, query in matrix:
        reader = who(tab)
        for side in checkouts:
            for _ in range(2):
                ask(side, tab, query, reader)
    seen: dict[tuple[str, str], list[tuple[float, float, int, int]]] = {}
    before = _load()
    for _ in range(rounds):
        for label, tab, query in matrix:
            reader = who(tab)
            for side in rng.sample(list(checkouts), len(checkouts)):
                seen.setdefault((label, side), []).append(ask(side, tab, query, reader))
    after = _load()
    for proc in procs.values():
        _in(proc).close()
        proc.wait()
    first, second = list(checkouts)
    out: dict[str, Any] = {}
    for label, _, _ in matrix:
        row: dict[str, Any] = {}
        for side in checkouts:
            got = seen[(label, side)]
            walls = [g[0] / 1000 for g in got]
            row[side] = {
                "p50_ms": round(percentile(walls, 50) * 1000, 2),
                "p95_ms": round(percentile(walls, 95) * 1000, 2),
                "cpu_ms_per_request": round(statistics.mean(g[1] for g in got), 2),
                "sql_statements_per_request": round(statistics.mean(g[2] for g in got), 2),
                "transaction_commands_per_request": round(statistics.mean(g[3] for g in got), 2),
            }
        for figure in ("p50_ms", "p95_ms", "cpu_ms_per_request"):
            row[f"{second}/{first} {figure}"] = round(row[second][figure] / row[first][figure], 2)
        out[label] = row
    return {
        "at": datetime.now().isoformat(timespec="seconds"),
        "load_before": before,
        "load_after": after,
        "rounds": rounds,
        "checkouts": checkouts,
        "pages": out,
    }


def _in(proc: subprocess.Popen[str]) -> IO[str]:
    assert proc.stdin is not None  # opened with PIPE
    return proc.stdin


def _out(proc: subprocess.Popen[str]) -> IO[str]:
    assert proc.stdout is not None  # opened with PIPE
    return proc.stdout


def main() -> None:
    """`python -m bench.inbox_sides URL OLD NEW [--rounds N] [--pages LABELS]`, or `--serve URL` (one side)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("checkouts", nargs="*", help="the old and the new checkout (each with its .venv)")
    parser.add_argument("--serve", action="store_true", help="serve this checkout's side on stdin/stdout")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--pages", help="labels of bench/inbox_http.py pages(), comma-separated (default: all)")
    args = parser.parse_args()
    if args.serve:
        serve(args.url)
        return
    old, new = args.checkouts
    labels = args.pages.split(",") if args.pages else None
    print(json.dumps(compare(args.url, {"old": old, "new": new}, args.rounds, labels), indent=1))


if __name__ == "__main__":
    main()
