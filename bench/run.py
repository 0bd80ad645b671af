"""`make bench`: lead-process throughput (persisted vs SpiffWorkflow alone), inbox query times and timer worker
figures (latency, rate, three workers with one SIGKILLed), duplicate detection quality and speed, CSV import rate,
filter query times (engine vs hand-written SQL), the sandbox's cost per evaluation and an HTTP load test (Locust
against a live `flowcrm run`), as a table and as JSON (bench/results/<date>.json).
`--quick` is the small smoke run a test uses."""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from time import perf_counter
from typing import Any

from bench import dedup, dedup_en, filters, import_rate, inbox, lead_flow, load, route_cost, sandbox, search, timers
from bench.common import ROOT
from bench.report import render

FULL = {"leads": 300, "warmup": 5, "profile_leads": 50, "tasks": 100_000, "repeats": 200,
        "dedup_sizes": [10_000, 100_000], "import_rows": 100_000, "filters_rows": 100_000,
        "filters_pg_rows": 1_000_000, "filters_warmup": 5, "filters_runs": 30, "filters_budget": 120.0,
        "dedup_max_pairs": 3_000_000, "sandbox_calls": 2000, "load_users": [20, 100], "load_seconds": 30,
        "load_leads": 600, "import_repeats": 3, "import_row_by_row_rows": 5_000,
        "search_rows": 1_000_000, "search_runs": 20, "route_copies": 4, "route_repeats": 5}
QUICK = {"leads": 20, "warmup": 2, "profile_leads": 10, "tasks": 2_000, "repeats": 20,
         "dedup_sizes": [2_000], "import_rows": 300, "filters_rows": 5_000,
         "filters_pg_rows": 5_000, "filters_warmup": 1, "filters_runs": 3, "filters_budget": 5.0,
         "dedup_max_pairs": 3_000_000, "sandbox_calls": 100, "load_users": [3], "load_seconds": 4, "load_leads": 20,
         "import_repeats": 1, "import_row_by_row_rows": 300,
         "search_rows": 2_000, "search_runs": 3, "route_copies": 1, "route_repeats": 1}
PARTS = ("flow", "inbox", "timers", "dedup", "import", "filters", "sandbox", "load", "search", "routes")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options; sizes default to the full run, or the quick one with --quick."""
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small smoke run (20 leads, 2,000 tasks, "
                        "2,000 contacts)")
    parser.add_argument("--leads", type=int, help="lead instances per tier (default 300; quick 20)")
    parser.add_argument("--warmup", type=int, help="untimed instances per tier first (default 5; quick 2)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds over the tiers (default 5)")
    parser.add_argument("--profile-leads", type=int, help="leads run under cProfile (default 50; quick 10; 0: off)")
    parser.add_argument("--tasks", type=int, help="open tasks in the inbox database (default 100,000; quick 2,000)")
    parser.add_argument("--repeats", type=int, help="list_tasks calls per scope (default 200; quick 20)")
    parser.add_argument("--dedup-sizes", type=int, nargs="+", help="contacts per dedup run (default 10,000 and "
                        "100,000; quick 2,000)")
    parser.add_argument("--dedup-max-pairs", type=int, help="skip a scan whose candidate-pair bound exceeds this "
                        "and report the bound with a time estimate (default 3,000,000; 0: never skip)")
    parser.add_argument("--import-rows", type=int, help="CSV rows imported (default 100,000; quick 300)")
    parser.add_argument("--import-repeats", type=int, help="timed runs per import variant after an untimed "
                        "warm-up, median reported (default 3; quick 1)")
    parser.add_argument("--import-row-by-row-rows", type=int, help="rows of the dedup import with the batch "
                        "path off (default 5,000; quick 300)")
    parser.add_argument("--filters-rows", type=int, help="contacts of the SQLite filter database, with three deals "
                        "each (default 100,000; quick 5,000)")
    parser.add_argument("--filters-pg-rows", type=int, help="contacts of the PostgreSQL filter database, with three "
                        "deals each (default 1,000,000; quick 5,000)")
    parser.add_argument("--filters-warmup", type=int, help="untimed runs per filter and variant (default 5; quick 1)")
    parser.add_argument("--filters-runs", type=int, help="timed runs per filter and variant (default 30; quick 3)")
    parser.add_argument("--filters-budget", type=float, help="seconds of timed runs per filter and variant after "
                        "which a slow filter stops early, with at least 3 runs (default 120; quick 5)")
    parser.add_argument("--keep-filters-data", action="store_true", help="keep the PostgreSQL filter schema "
                        "(flowcrm_bench_filters_<contacts>_<deals>) and reuse it on the next run")
    parser.add_argument("--seed", type=int, default=1, help="seed of the synthetic contact base (default 1)")
    parser.add_argument("--sandbox-calls", type=int, help="evaluations per timed batch of the sandbox part "
                        "(default 2,000; quick 100)")
    parser.add_argument("--load-users", type=int, nargs="+", help="concurrent Locust users per HTTP load run "
                        "(default 20 and 100; quick 3)")
    parser.add_argument("--load-seconds", type=int, help="measured seconds per load run, after every user signed in "
                        "(default 30; quick 4)")
    parser.add_argument("--load-leads", type=int, help="distinct leads waiting in the pool before the load runs "
                        "(default 600; quick 20)")
    parser.add_argument("--search-rows", type=int, help="contacts of the global search part, on each database "
                        "(default 1,000,000; quick 2,000)")
    parser.add_argument("--search-runs", type=int, help="timed runs per search query (default 20; quick 3)")
    parser.add_argument("--route-copies", type=int, help="copies of the demo data added for the larger database of "
                        "the route census (default 4: 1x and 5x; quick 1)")
    parser.add_argument("--route-repeats", type=int, help="timed requests per route and size of the route census "
                        "(default 5; quick 1)")
    parser.add_argument("--only", choices=PARTS, help="run one part only")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        default=os.environ.get("TEST_DATABASE_URL"),
        help="also run the inbox, timers, dedup, import and filters parts on this PostgreSQL, each in a schema "
        "of its own "
        "(default: $TEST_DATABASE_URL)",
    )
    parser.add_argument("--no-postgres", action="store_true", help="ignore --postgres and $TEST_DATABASE_URL")
    parser.add_argument("--workdir", type=Path, help="keep the SQLite files here (default: a temporary folder)")
    parser.add_argument("--out", type=Path, help="JSON results (default bench/results/<date>[-quick].json)")
    args = parser.parse_args(argv)
    for name, value in (QUICK if args.quick else FULL).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.leads < 1 or args.tasks < 1 or args.repeats < 1:
        parser.error("--leads, --tasks and --repeats must be at least 1")
    if min(args.dedup_sizes) < 10 or args.import_rows < 1 or min(args.filters_rows, args.filters_pg_rows) < 10:
        parser.error("--dedup-sizes and --filters-rows must be at least 10, --import-rows at least 1")
    if args.filters_runs < 1 or args.filters_warmup < 0:
        parser.error("--filters-runs must be at least 1 and --filters-warmup not negative")
    return args


def _git() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+uncommitted changes" if dirty else "")


def environment() -> dict[str, Any]:
    """What the numbers were measured on."""
    return {
        "python": platform.python_version(),
        "spiffworkflow": version("SpiffWorkflow"),
        "sqlalchemy": version("SQLAlchemy"),
        "sqlite": sqlite3.sqlite_version,
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "git": _git(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def headline(results: dict[str, Any]) -> dict[str, Any]:
    """The few numbers to compare between runs."""
    head: dict[str, Any] = {}
    flow = results.get("lead_flow")
    if flow:
        tiers = flow["tiers"]
        ratio = flow["ratio_to_in_memory"]["persisted_sqlite_file"]
        head.update(
            {
                "persisted_instances_per_s": tiers["persisted_sqlite_file"]["instances_per_s"],
                "in_memory_instances_per_s": tiers["spiff_in_memory"]["instances_per_s"],
                "serialized_instances_per_s": tiers["spiff_serialize_each_wait"]["instances_per_s"],
                "persisted_to_in_memory_ratio": ratio,
                "meets_3x_target": ratio <= flow["target_ratio"]["persisted_sqlite_file"],
            }
        )
        if "persisted_postgres" in tiers:
            pg_ratio = flow["ratio_to_in_memory"]["persisted_postgres"]
            head.update(
                {
                    "persisted_postgres_instances_per_s": tiers["persisted_postgres"]["instances_per_s"],
                    "persisted_postgres_to_in_memory_ratio": pg_ratio,
                    "meets_4x_postgres_target": pg_ratio <= flow["target_ratio"]["persisted_postgres"],
                }
            )
    for run in results.get("inbox", []):
        for scope in ("mine", "pool"):
            head[f"inbox_{run['backend']}_{scope}_median_ms"] = run[scope]["list_tasks"]["median_ms"]
            head[f"inbox_{run['backend']}_{scope}_p95_ms"] = run[scope]["list_tasks"]["p95_ms"]
    for run in results.get("timers", []):
        latency = run["latency"]["tick_end_minus_due"] or {}
        head[f"timers_{run['backend']}_latency_median_ms"] = latency.get("median_ms")
        head[f"timers_{run['backend']}_latency_p95_ms"] = latency.get("p95_ms")
        before = (run.get("latency_before") or {}).get("tick_end_minus_due") or {}
        head[f"timers_{run['backend']}_latency_p95_ms_old_5s_tick"] = before.get("p95_ms")
        head[f"timers_{run['backend']}_fired_per_s"] = run["throughput"]["timers_per_s"]
        if "workers" in run:
            head["timers_kill_duplicated"] = run["workers"]["duplicated_effects"]
            head["timers_kill_lost"] = run["workers"]["lost_effects"]
    for case in results.get("sandbox", {}).get("cases", []):
        head[f"sandbox_{case['case']}_us"] = case["now_us"]
    for part in results.get("load", []):
        for one in part["runs"]:
            prefix = f"load_{part['backend']}_{one['users']}_users"
            head.update({f"{prefix}_{k}": one[k] for k in ("requests_per_s", "p50_ms", "p95_ms", "errors")})
    head.update(_quality_headline(results))
    return head


def _quality_headline(results: dict[str, Any]) -> dict[str, Any]:
    head: dict[str, Any] = {}
    for name in ("dedup", "dedup_en"):
        for part in results.get(name, []):
            for one in part["runs"]:
                prefix = f"{name}_{part['backend']}_{one['records']}"
                head.update({f"{prefix}_{k}": one.get(k) for k in ("precision", "recall", "f1", "scan_s")})
    for part in results.get("import", []):
        for name, variant in part["variants"].items():
            head[f"import_{part['backend']}_{name}_rows_per_s"] = variant["rows_per_s"]
    for part in results.get("filters", []):
        for case in part["cases"]:
            prefix = f"filters_{part['backend']}_{case['name']}"
            head[f"{prefix}_compiled_median_ms"] = case["compiled"]["median_ms"]
            head[f"{prefix}_ratio_to_hand"] = case["ratio_compiled_to_hand_median"]
            head[f"{prefix}_same_ids"] = case["same_ids"]
    return head


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Every requested part, in this process."""
    started = perf_counter()
    results: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "environment": environment(),
    }
    if args.only in (None, "flow"):
        postgres_url = args.postgres if args.postgres and not args.no_postgres else None
        results["lead_flow"] = lead_flow.run(
            workdir, args.leads, args.warmup, args.profile_leads, args.rounds, postgres=postgres_url
        )
    if args.only in (None, "inbox"):
        results["inbox"] = [inbox.run_sqlite(workdir, args.tasks, args.repeats)]
        if args.postgres and not args.no_postgres:
            results["inbox"].append(inbox.run_postgres(args.postgres, args.tasks, args.repeats))
    if args.only in (None, "timers"):
        results["timers"] = [timers.run_sqlite(workdir, args.quick)]
        if args.postgres and not args.no_postgres:
            results["timers"].append(timers.run_postgres(args.postgres, workdir, args.quick))
    postgres = args.postgres if args.postgres and not args.no_postgres else None
    if args.only in (None, "dedup"):
        most = args.dedup_max_pairs or None
        results["dedup"] = [dedup.run_sqlite(workdir, args.dedup_sizes, args.seed, most)]
        if postgres:
            results["dedup"].append(dedup.run_postgres(postgres, args.dedup_sizes, args.seed, most))
        results["dedup_en"] = [dedup_en.run_sqlite(workdir, args.dedup_sizes, args.seed)]
        if postgres:
            results["dedup_en"].append(dedup_en.run_postgres(postgres, args.dedup_sizes, args.seed))
    if args.only in (None, "import"):
        sizes = {"repeats": args.import_repeats, "row_by_row_rows": args.import_row_by_row_rows}
        results["import"] = [import_rate.run_sqlite(workdir, args.import_rows, args.seed, **sizes)]
        if postgres:
            results["import"].append(import_rate.run_postgres(postgres, workdir, args.import_rows, args.seed,
                                                              **sizes))
    if args.only in (None, "filters"):
        timing = (args.filters_warmup, args.filters_runs, args.filters_budget)
        results["filters"] = [filters.run_sqlite(workdir, args.filters_rows, 3 * args.filters_rows, *timing)]
        if postgres:
            results["filters"].append(filters.run_postgres(postgres, args.filters_pg_rows, 3 * args.filters_pg_rows,
                                                           *timing, keep=args.keep_filters_data))
    if args.only in (None, "search"):
        results["search"] = [search.run_sqlite(workdir, args.search_rows, args.search_runs)]
        if postgres:
            results["search"].append(search.run_postgres(postgres, args.search_rows, args.search_runs))
    if args.only in (None, "routes"):
        results["routes"] = [route_cost.run_sqlite(workdir, args.route_copies, args.route_repeats)]
        if postgres:
            results["routes"].append(route_cost.run_postgres(postgres, args.route_copies, args.route_repeats))
    if args.only in (None, "sandbox"):
        results["sandbox"] = sandbox.run(args.sandbox_calls)
    if args.only in (None, "load"):
        sizes = (args.load_users, args.load_seconds, args.load_leads)
        results["load"] = [load.run_sqlite(workdir, *sizes)]
        if postgres:
            results["load"].append(load.run_postgres(postgres, workdir, *sizes))
    results["environment"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["duration_s"] = round(perf_counter() - started, 1)
    results["headline"] = headline(results)
    return results


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run, print the table, write the JSON; returns the results."""
    args = parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="flowcrm-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        results = run(args, workdir)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    out = args.out or ROOT / "bench" / "results" / f"{datetime.now(UTC):%Y-%m-%d}{'-quick' if args.quick else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(render(results))
    print(f"\nresults written to {out}")
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
