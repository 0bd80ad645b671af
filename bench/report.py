"""The bench results as a plain-text table."""

from __future__ import annotations

from typing import Any

TIER_NAMES = {
    "spiff_in_memory": "SpiffWorkflow in memory",
    "spiff_serialize_each_wait": "SpiffWorkflow + JSON round-trip at each wait",
    "engine_runtime_no_db": "engine adapter (sandbox, spec-less state), no DB",
    "persisted_sqlite_file": "engine services, SQLite file",
    "persisted_postgres": "engine services, PostgreSQL",
}
PERSISTED = ("persisted_sqlite_file", "persisted_postgres")


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
    out = [
        f"Lead process end to end: {flow['leads']} leads per tier after {flow['warmup']} warm-up, "
        f"{flow['rounds']} interleaved rounds",
        "  create_record -> claim qualify_lead -> complete (convert) -> complete arrange_meeting -> completed",
    ]
    rows = [
        [
            TIER_NAMES[name],
            t["instances_per_s"],
            t["ms_per_instance"],
            f"{flow['ratio_to_in_memory'][name]:.2f}x",
            t["cpu_ms_per_instance"],
            f"{flow['cpu_ratio_to_in_memory'][name]:.2f}x",
        ]
        for name, t in flow["tiers"].items()
    ]
    out += _table(["tier", "instances/s", "ms/instance", "vs in memory", "CPU ms", "CPU vs in memory"], rows)
    out.append(
        "  (CPU: this process's CPU time; SQLite runs in it, the PostgreSQL server and the sandbox worker do not)"
    )
    for tier in (t for t in PERSISTED if t in flow["tiers"]):
        persisted, target = flow["tiers"][tier], flow["target_ratio"][tier]
        ratio = flow["ratio_to_in_memory"][tier]
        verdict = "meets" if ratio <= target else "MISSES"
        out.append(
            f"  {TIER_NAMES[tier]} / in-memory time per instance = {ratio:.2f}x: {verdict} the <= {target:.0f}x aim"
        )
        out.append(
            f"    without the two inbox lookups: {persisted['instances_per_s_without_inbox_lookups']} "
            f"instances/s; {persisted['sql_statements_per_instance']} SQL statements and "
            f"{persisted['transactions_per_instance']} transactions per instance; "
            f"{persisted['verified_completed_instances']} instances verified completed"
        )
        if "hot_workflow_hits" in persisted:  # results written before the caches were counted have none
            steps = persisted["hot_workflow_hits"] + persisted["hot_workflow_misses"]
            out.append(
                f"    hot workflow cache: {persisted['hot_workflow_hits']} of {steps} steps found their workflow "
                f"live (the others deserialized it); {persisted['spec_parses']} spec parses"
            )
    for tier, steps in flow["persisted_steps"].items():
        out += ["", f"Persisted path ({TIER_NAMES[tier]}), per service call"]
        out += _table(
            ["call", "median ms", "p95 ms", "mean ms", "SQL stmts", "txns"],
            [
                [
                    name,
                    s["median_ms"],
                    s["p95_ms"],
                    s["mean_ms"],
                    f"{s['sql_statements']:.1f}",
                    f"{s['transactions']:.1f}",
                ]
                for name, s in steps.items()
            ],
        )
    out.append("  (the statements each call sends are listed under lead_flow.sql_of_one_instance in the JSON)")
    for tier, floor in flow.get("database_floor", {}).items():
        out.append(
            f"  database floor, {TIER_NAMES[tier]}: the statements of {floor['leads']} leads replayed by the raw "
            f"driver take {floor['ms_per_instance']} ms/instance ({floor['floor_ratio_to_in_memory']:.2f}x in "
            f"memory; commits {floor['of_which_commit_ms_per_instance']} ms) against "
            f"{floor['services_same_leads_ms_per_instance']} ms through the services"
        )
        if "pipelined_ms_per_instance" in floor:
            out.append(
                f"  database floor, {TIER_NAMES[tier]}, pipelined as the services send them "
                f"({floor['held_statements_per_instance']} held writes a lead): {floor['pipelined_ms_per_instance']} "
                f"ms/instance ({floor['pipelined_floor_ratio_to_in_memory']:.2f}x in memory)"
            )
    for key, tier in (("profile", "persisted_sqlite_file"), ("profile_postgres", "persisted_postgres")):
        if flow.get(key):
            out += _profile(flow[key], TIER_NAMES[tier])
    return out


def _profile(profile: dict[str, Any], tier: str) -> list[str]:
    out = [
        "",
        f"Hotspots ({tier}): cProfile over {profile['profiled_instances']} more leads "
        f"({profile['profiled_ms_per_instance']} ms/instance under the profiler); ms per instance",
        "",
        "  own time by part",
    ]
    out += _table(["part", "share"], [[part, f"{share:.0%}"] for part, share in profile["own_time_by_part"].items()])
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
    if "pages" in run and not run["pages"]:
        out += ["", "  pool pages: no user's pool reaches the deep page at this size (not measured)"]
    elif "pages" in run:
        out += ["", "  pool pages of 50: a deep page by offset and by keyset (`after` the page before's last task)"
                f"{'' if run['keyset_equals_offset'] else ' -- KEYSET AND OFFSET PAGES DIFFER'}"]
        out += _table(["", "median ms", "p95 ms", "calls"],
                      [[label, s["median_ms"], s["p95_ms"], s["n"]] for label, s in run["pages"].items()])
    for name, plan in run["plans"].items():
        out += ["", f"  plan, {name} (user {plan['user']}, groups {', '.join(plan['groups'])}):"]
        out += [f"    {line}" for line in plan["plan"]]
    return out


def _timers(run: dict[str, Any]) -> list[str]:
    made, rate = run["creation"], run["throughput"]
    out = [
        f"Timers on {run['backend']}: {made['instances']:,} instances waiting on a timer, created in "
        f"{made['total_s']} s ({made['real_path']} by the real start path at {made['real_path_per_s']}/s, median "
        f"{made['real_path_ms']['median_ms']} ms; {made['bulk_cloned']:,} cloned from one in {made['bulk_s']} s)",
    ]
    if made.get("warning"):
        out.append(f"  warning: {made['warning']}")
    for label, lat in (("(a) before", run.get("latency_before")), ("(a) now", run["latency"])):
        if not lat:
            continue
        out.append(f"  {label}: one worker, {lat['worker']}: {lat['came_due']:,} timers came due over "
                   f"{lat['window_s']} s among {lat['pending_timers']:,} pending; {lat['fired']:,} fired, "
                   f"{lat['not_fired']} not fired, {lat['ticks']} ticks")
        if lat.get("warning"):
            out.append(f"  warning: {lat['warning']}")
        rows = [[name, s["median_ms"], s["p95_ms"], s["max_ms"], s["n"]]
                for name, s in (("due -> history event time", lat["history_time_minus_due"]),
                                ("due -> end of the tick that fired it", lat["tick_end_minus_due"]))
                if s]
        out += _table(["latency", "median ms", "p95 ms", "max ms", "timers"], rows)
    out.append(f"  (b) one worker, backlog of {rate['backlog']:,} due timers "
               f"({rate['pending_not_due']:,} more pending, not due): {rate['fired']:,} fired in {rate['seconds']} s "
               f"= {rate['timers_per_s']} timers/s "
               f"({rate['ms_per_timer']} ms each)")
    w = run.get("workers")
    if w:
        killed = "NO worker killed"
        if w["killed_when_fired"] is not None:
            killed = (f"worker pid {w['killed_worker_pid']} SIGKILLed after {w['killed_after_s']} s "
                      f"with {w['killed_when_fired']:,} fired")
        out += [
            f"  (c) {w['workers']} `flowcrm worker --interval {w['worker_interval_s']}` processes, backlog of "
            f"{w['backlog']:,} due timers; {killed}; drained {w['drained_s']} s after start "
            f"(first fire at {w['first_fired_s']} s; {w['timers_per_s_all_workers']} timers/s together); "
            f"fired per surviving worker log: {w['fired_per_worker_log']}; exit codes {w['worker_exit_codes']}",
            f"      instances with exactly one timer event: {w['instances_with_one_timer_event']:,} of "
            f"{w['backlog']:,}; DUPLICATED effects: {w['duplicated_effects']}; LOST effects: {w['lost_effects']}; "
            f"due timer rows left: {w['due_timer_rows_left']}; instances not completed: "
            f"{w['instances_not_completed']}; timer_failed events: {w['timer_failed_events']}",
        ]
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
    for run in results.get("timers", []):
        out += [*_timers(run), ""]
    from bench import report_quality  # it borrows _table from here

    for key, render_part in (("dedup", report_quality.dedup), ("dedup_en", report_quality.dedup_en),
                             ("import", report_quality.imports),
                             ("filters", report_quality.filters)):
        for run in results.get(key, []):
            out += [*render_part(run), ""]
    if "sandbox" in results:
        from bench import sandbox

        out += [*sandbox.render(results["sandbox"]), ""]
    for run in results.get("search", []):
        from bench import search

        out += [*search.render(run), ""]
    for run in results.get("routes", []):
        from bench import route_cost

        out += [f"route census on {run['database']}: statements, transactions and median ms per GET request",
                route_cost.table(run), ""]
    for run in results.get("load", []):
        from bench import load

        out += [*load.render(run), ""]
    return "\n".join(out).rstrip()
