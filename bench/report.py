"""The bench results as a plain-text table."""

from __future__ import annotations

from typing import Any

TIER_NAMES = {
    "spiff_in_memory": "SpiffWorkflow in memory",
    "spiff_serialize_each_wait": "SpiffWorkflow + JSON round-trip at each wait",
    "engine_runtime_no_db": "engine adapter (sandbox, spec-less state), no DB",
    "persisted_sqlite_file": "engine services, SQLite file",
}


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    cells = [header] + [[_cell(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]

    def line(row: list[str]) -> str:
        first = row[0].ljust(widths[0])
        return "  " + "  ".join([first] + [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)])

    return [line(cells[0]), "  " + "-" * (sum(widths) + 2 * (len(widths) - 1))] + [line(r) for r in cells[1:]]


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if value < 100 else f"{value:,.1f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _flow(flow: dict[str, Any]) -> list[str]:
    persisted = flow["tiers"]["persisted_sqlite_file"]
    out = [
        f"Lead process end to end: {flow['leads']} leads per tier after {flow['warmup']} warm-up, "
        f"{flow['rounds']} interleaved rounds",
        "  create_record -> claim qualify_lead -> complete (convert) -> complete arrange_meeting -> completed",
    ]
    rows = [
        [TIER_NAMES[name], t["instances_per_s"], t["ms_per_instance"], f"{flow['ratio_to_in_memory'][name]:.2f}x"]
        for name, t in flow["tiers"].items()
    ]
    out += _table(["tier", "instances/s", "ms/instance", "vs in memory"], rows)
    ratio = flow["ratio_to_in_memory"]["persisted_sqlite_file"]
    verdict = "meets" if ratio <= flow["target_ratio"] else "MISSES"
    out.append(
        f"  persisted / in-memory time per instance = {ratio:.2f}x: {verdict} the <= {flow['target_ratio']:.0f}x aim"
    )
    out.append(
        f"  persisted without the two inbox lookups: {persisted['instances_per_s_without_inbox_lookups']} "
        f"instances/s; {persisted['sql_statements_per_instance']} SQL statements per instance; "
        f"{persisted['verified_completed_instances']} instances verified completed"
    )
    out += ["", "Persisted path, per service call"]
    out += _table(
        ["call", "median ms", "p95 ms", "mean ms", "SQL stmts"],
        [
            [name, s["median_ms"], s["p95_ms"], s["mean_ms"], f"{s['sql_statements']:.1f}"]
            for name, s in flow["persisted_steps"].items()
        ],
    )
    out.append("  (the statements each call sends are listed under lead_flow.sql_of_one_instance in the JSON)")
    profile = flow.get("profile")
    if profile:
        out += [
            "",
            f"Hotspots: cProfile over {profile['profiled_instances']} more leads "
            f"({profile['profiled_ms_per_instance']} ms/instance under the profiler); ms per instance",
        ]
        for key, title in (
            ("top_cumulative", "top 10 by cumulative time"),
            ("top_cumulative_engine", "engine functions by cumulative time"),
            ("top_own_time", "top 10 by own time"),
        ):
            out += ["", f"  {title}"]
            out += _table(
                ["function", "cum ms", "own ms", "calls", "share"],
                [
                    [
                        r["function"],
                        r["cum_ms_per_instance"],
                        r["own_ms_per_instance"],
                        f"{r['calls_per_instance']:,.1f}",
                        f"{r['cum_share']:.0%}",
                    ]
                    for r in profile[key]
                ],
            )
    return out


def _inbox(run: dict[str, Any]) -> list[str]:
    data = run["data"]
    size = f", {data['database_mb']} MB" if "database_mb" in data else ""
    out = [
        f"Inbox on {run['backend']}: {data['open_tasks']:,} open tasks, {data['task_candidates']:,} candidate rows, "
        f"{data['users']} users, {data['instances']:,} instances (bulk insert {data['insert_seconds']} s{size})",
        "  list_tasks first page (50 rows) for random users; 'query only' = the repository query alone",
    ]
    rows = []
    for scope in ("mine", "pool"):
        s = run[scope]
        rows.append(
            [
                f"{scope}: list_tasks",
                s["list_tasks"]["median_ms"],
                s["list_tasks"]["p95_ms"],
                s["list_tasks"]["n"],
                f"{s['sql_statements_per_call']:.1f}",
            ]
        )
        rows.append(
            [
                f"{scope}: query only",
                s["repository_query_only"]["median_ms"],
                s["repository_query_only"]["p95_ms"],
                s["repository_query_only"]["n"],
                1,
            ]
        )
    out += _table(["", "median ms", "p95 ms", "calls", "SQL stmts"], rows)
    for name, plan in run["plans"].items():
        out += ["", f"  plan, {name} (user {plan['user']}, groups {', '.join(plan['groups'])}):"]
        out += [f"    {line}" for line in plan["plan"]]
    return out


def render(results: dict[str, Any]) -> str:
    """Everything a reader needs from one run, as text."""
    env = results["environment"]
    out = [
        f"flowcrm bench, {results['started_at']}{' (quick)' if results['quick'] else ''}: git {env['git']}, "
        f"Python {env['python']}, SpiffWorkflow {env['spiffworkflow']}, SQLAlchemy {env['sqlalchemy']}, "
        f"SQLite {env['sqlite']}, {env['cpus']} CPUs, load average {env['load_average_at_start'][0]} at start, "
        f"{env['load_average_at_end'][0]} at end; {results['duration_s']} s",
        "",
    ]
    if "lead_flow" in results:
        out += [*_flow(results["lead_flow"]), ""]
    for run in results.get("inbox", []):
        out += [*_inbox(run), ""]
    return "\n".join(out).rstrip()
