"""HTTP load test: Locust users against a live `flowcrm run` (gunicorn, default workers) on a free loopback port.

The database gets the shipped bundle, sellers and heads of sales (password hashes made once each) and distinct
leads waiting in the sellers' pool. Locust then runs headless (bench/locustfile.py) at each user count for a
fixed time, measured from the moment every user has signed in, so the figures are the steady state:
requests/s, p50/p95 latency and the error count (must be 0). A lost claim race (409) is the UI's normal answer,
not an error."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import ROOT, deployed_factory, fresh_sqlite, percentile, postgres_schema
from bench.live import live_server
from engine.bootstrap import prepare_database
from engine.services.records import create_record
from engine.services.users import create_user, get_actor

PASSWORD = "load-test-1"  # noqa: S105  # throw-away accounts of a bench database
SELLERS_PER_HEAD = 9
SIGN_IN_BUDGET_S = 180  # every user signs in once (argon2, ~100 ms each, far more on a loaded machine)
COMPANIES = ("Romashka", "Vector", "Severstal-Trade", "Lotos", "Orion", "Baikal", "Kedr", "Volna", "Granit")
PRODUCTS = ("laptops", "office chairs", "monitors", "workplace setup", "support contract", "printers")


def seed(url: str, users: int, leads: int) -> dict[str, int]:
    """Deploy the bundle; create enough sellers and heads for `users` simulated users and `leads` distinct leads."""
    factory = deployed_factory(url)
    now = datetime.now(UTC)
    try:
        heads = max(1, users // (SELLERS_PER_HEAD + 1))
        sellers = max(1, users - heads)
        head_ids = [
            create_user(factory(), f"head{n}", PASSWORD, ["head_of_sales"], now, team="moscow").id for n in range(heads)
        ]
        for n in range(sellers):
            create_user(factory(), f"seller{n}", PASSWORD, ["sales"], now, team="moscow")
        creator = get_actor(factory(), head_ids[0])
        for n in range(leads):
            company = f"{COMPANIES[n % len(COMPANIES)]} {n // len(COMPANIES) + 1}"
            create_record(
                factory(),
                creator,
                "Lead",
                {
                    "title": f"{(n % 40) + 2} {PRODUCTS[n % len(PRODUCTS)]} for {company}",
                    "company": company,
                    "contact_name": f"Buyer {n}",
                    "email": f"buyer{n}@load.example",
                    "channel": "website",
                },
                now,
            )
        return {"sellers": sellers, "heads": heads, "leads": leads}
    finally:
        factory.dispose()


def locust_command() -> str:
    """The `locust` executable beside this Python."""
    exe = Path(sys.executable).with_name("locust")
    return str(exe if exe.exists() else shutil.which("locust") or "locust")


def run_locust(base: str, users: int, seconds: int, accounts: dict[str, int], out: Path) -> dict[str, Any]:
    """One headless Locust run; the figures of its measured window (every user signed in) and, per request name,
    Locust's own statistics of the whole run (sign-ins included)."""
    prefix, window_file = out / f"locust_{users}", out / f"window_{users}.json"
    env = {
        **os.environ,
        "FLOWCRM_LOAD_PASSWORD": PASSWORD,
        "FLOWCRM_LOAD_SELLERS": str(accounts["sellers"]),
        "FLOWCRM_LOAD_HEADS": str(accounts["heads"]),
        "FLOWCRM_LOAD_USERS": str(users),
        "FLOWCRM_LOAD_SECONDS": str(seconds),
        "FLOWCRM_LOAD_OUT": str(window_file),
        "PYTHONPATH": str(ROOT),
    }
    cap = seconds + SIGN_IN_BUDGET_S  # the run stops itself when its window closes; this bounds a stuck one
    command = [
        locust_command(),
        "-f",
        str(ROOT / "bench" / "locustfile.py"),
        "--headless",
        "--host",
        base,
        "-u",
        str(users),
        "-r",
        str(max(1, users // 5)),
        "--run-time",
        f"{cap}s",
        "--only-summary",
        "--csv",
        str(prefix),
        "--stop-timeout",
        "10",
        "--loglevel",
        "WARNING",
    ]
    finished = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=cap + 60, check=False)
    window = json.loads(window_file.read_text())
    if window["started"] is None:
        raise RuntimeError(f"not all {users} users signed in within {SIGN_IN_BUDGET_S} s: {finished.stderr[-2000:]}")
    times = window["times_ms"]
    with (prefix.parent / f"{prefix.name}_stats.csv").open() as stats:
        rows = list(csv.DictReader(stats))
    return {
        "users": users,
        "seconds": round(window["window_s"], 1),
        "requests": len(times),
        "errors": len(window["errors"]),
        "error_samples": window["errors"][:20],
        "requests_per_s": round(len(times) / window["window_s"], 1),
        "p50_ms": round(percentile(times, 50), 1) if times else None,
        "p95_ms": round(percentile(times, 95), 1) if times else None,
        "max_ms": round(max(times), 1) if times else None,
        "whole_run_by_request": {
            f"{row['Type']} {row['Name']}": {
                "requests": int(row["Request Count"]),
                "errors": int(row["Failure Count"]),
                "p50_ms": float(row["50%"]),
                "p95_ms": float(row["95%"]),
            }
            for row in rows
            if row["Name"] != "Aggregated"
        },
        "locust_exit_code": finished.returncode,
    }


def _tracebacks(log: str) -> list[str]:
    """The server log's tracebacks, each up to 3,000 characters (its last lines name the error)."""
    return [("Traceback" + part)[-3000:] for part in log.split("Traceback")[1:]]


def measure(
    url: str, backend: str, users: list[int], seconds: int, leads: int, workdir: Path, server_args: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Seed `url`, start `flowcrm run` on it and run Locust at each user count."""
    accounts = seed(url, max(users), leads)
    load_before = round(os.getloadavg()[0], 2)  # the machine may be shared: say how busy it was
    out = workdir / f"load-{backend}"
    out.mkdir(parents=True, exist_ok=True)
    with live_server(url, out / "server.log", *server_args) as base:
        runs = [run_locust(base, n, seconds, accounts, out) for n in users]
    server_log = (out / "server.log").read_text(errors="replace")
    return {
        "backend": backend,
        "accounts": accounts,
        "server_args": list(server_args),
        "server_workers": server_log.count("Booting worker with pid"),
        "server_errors_logged": server_log.count("Traceback"),
        "server_error_samples": _tracebacks(server_log)[:3],  # what a failed request raised, for the report
        "runs": runs,
        "load_average": [load_before, round(os.getloadavg()[0], 2)],
    }


def run_sqlite(workdir: Path, users: list[int], seconds: int, leads: int) -> dict[str, Any]:
    """The load test on a SQLite file."""
    return measure(fresh_sqlite(workdir / "load.sqlite"), "sqlite", users, seconds, leads, workdir)


def run_postgres(url: str, workdir: Path, users: list[int], seconds: int, leads: int) -> dict[str, Any]:
    """The load test on PostgreSQL, in a schema dropped afterwards."""
    with postgres_schema(url, "flowcrm_bench_load") as scoped:
        prepare_database(scoped)
        return measure(scoped, "postgresql", users, seconds, leads, workdir)


def render(run: dict[str, Any]) -> list[str]:
    """One backend's runs as a table."""
    from bench.report import _table

    accounts = run["accounts"]
    out = [
        f"HTTP load ({run['backend']}): Locust against `flowcrm run` ({run['server_workers']} gunicorn workers), "
        f"{accounts['sellers']} sellers + {accounts['heads']} heads of sales signed in once each, "
        f"{accounts['leads']} distinct leads in the pool"
    ]
    rows = [
        [r["users"], r["seconds"], r["requests"], r["requests_per_s"], r["p50_ms"], r["p95_ms"], r["errors"]]
        for r in run["runs"]
    ]
    return out + _table(["users", "s", "requests", "req/s", "p50 ms", "p95 ms", "errors"], rows)
