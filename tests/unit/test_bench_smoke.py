"""`make bench` keeps working: a tiny run of every part on SQLite files in a temporary folder.

One test per part (`--only`): the parts share nothing but the workdir, and as one test of 1-4 minutes the smoke
run was the suite's longest, the tail of a parallel run; as ten they spread over the xdist workers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench.run import PARTS, main

TINY = [
    "--quick",
    "--leads",
    "3",
    "--warmup",
    "1",
    "--rounds",
    "2",
    "--profile-leads",
    "2",
    "--tasks",
    "300",
    "--repeats",
    "4",
    "--dedup-sizes",
    "300",
    "--import-rows",
    "60",
    "--filters-rows",
    "600",
    "--filters-warmup",
    "1",
    "--filters-runs",
    "2",
    "--sandbox-calls",
    "20",
    "--search-rows",
    "300",
    "--load-seconds",
    "2",
    # the census counts statements and transactions of a warm-up and a counted request per route; timing more
    # requests is what the full run does (tests/web/test_route_statements.py holds the counts to their budgets)
    "--route-repeats",
    "0",
    "--no-postgres",
]


def check_flow(results: dict[str, Any]) -> None:
    flow = results["lead_flow"]
    assert set(flow["tiers"]) == {
        "spiff_in_memory",
        "spiff_serialize_each_wait",
        "engine_runtime_no_db",
        "persisted_sqlite_file",
    }
    assert flow["tiers"]["persisted_sqlite_file"]["verified_completed_instances"] == 3 + 1
    assert len(flow["profile"]["top_cumulative"]) == 10
    assert results["headline"]["persisted_instances_per_s"] > 0


def check_inbox(results: dict[str, Any]) -> None:
    sqlite = results["inbox"][0]
    assert sqlite["data"]["open_tasks"] == 300
    # a range of the reader's open tasks on either (assignee, state, ...) index (migration 0018): the planner picks
    assert "USING INDEX ix_task_assignee_state_" in "\n".join(sqlite["plans"]["mine"]["plan"])
    assert sqlite["mine"]["list_tasks"]["n"] == sqlite["pool"]["list_tasks"]["n"] == 4
    # every tab, sort and a few filters over HTTP, one statement for the page and its counts
    assert sqlite["http_matrix"]["all due desc"]["http_get"]["n"] == 1
    assert sqlite["http_matrix"]["team [record] due"]["rows_read_by_page_statement"] > 0


def check_timers(results: dict[str, Any]) -> None:
    (sqlite,) = results["timers"]
    assert sqlite["backend"] == "sqlite"
    assert sqlite["throughput"]["timers_per_s"] > 0
    assert results["headline"]["timers_sqlite_latency_p95_ms"] is not None


def check_dedup(results: dict[str, Any]) -> None:
    english = results["dedup_en"][0]["runs"][0]
    assert (english["records"], english["trained"]) == (300, ["same_person"])
    assert english["true_pairs"] > 0
    assert english["f1"] > 0.9
    dedup = results["dedup"][0]["runs"][0]
    assert dedup["records"] == 300
    assert dedup["true_duplicate_pairs"] > 0
    assert dedup["precision"] is not None
    assert dedup["recall"] is not None


def check_import(results: dict[str, Any]) -> None:
    imported = results["import"][0]["variants"]
    assert set(imported) == {"plain_executemany", "import_dedup_off", "import_dedup_on", "import_dedup_on_row_by_row"}
    assert imported["plain_executemany"]["records_after"] == 60
    assert imported["import_dedup_on"]["records_after"] <= imported["import_dedup_off"]["records_after"]
    assert imported["import_dedup_on_row_by_row"]["records_after"] == imported["import_dedup_on"]["records_after"]


def check_filters(results: dict[str, Any]) -> None:
    cases = results["filters"][0]["cases"]
    assert len(cases) == 5
    assert all(case["same_ids"] for case in cases), [(c["name"], c["only_engine"], c["only_hand"]) for c in cases]
    assert results["filters"][0]["data"]["rows"]["Deal"] == 1800


def check_sandbox(results: dict[str, Any]) -> None:
    sandbox = results["sandbox"]
    assert [case["case"] for case in sandbox["cases"]][:2] == [
        "condition (fast path)",
        "expression with arithmetic (worker)",
    ]
    assert all(case["now_us"] > 0 for case in sandbox["cases"])
    assert 0 < sandbox["hog_stopped_and_replaced_s"] < 30


def check_load(results: dict[str, Any]) -> None:
    (load,) = results["load"][0]["runs"]
    assert load["requests"] > 0
    assert load["errors"] == 0, (load["error_samples"], results["load"][0]["server_error_samples"])
    assert results["load"][0]["server_errors_logged"] == 0, results["load"][0]["server_error_samples"]


def check_search(results: dict[str, Any]) -> None:
    search = {case["case"]: case for case in results["search"][0]["cases"]}
    assert search["phone_typed_differently"]["hits_seller"] == 1  # found by the seller who owns it
    assert search["full_name_cyrillic"]["hits_admin"] >= 1


def check_routes(results: dict[str, Any]) -> None:
    routes = {row["route"]: row for row in results["routes"][0]["rows"]}
    assert routes["/records/<entity>"]["statements"][0] == routes["/records/<entity>"]["statements"][1] > 0
    assert routes["/api/v1/tasks"]["status"] == [200, 200]


CHECKS = {
    "flow": check_flow,
    "inbox": check_inbox,
    "timers": check_timers,
    "dedup": check_dedup,
    "import": check_import,
    "filters": check_filters,
    "sandbox": check_sandbox,
    "load": check_load,
    "search": check_search,
    "routes": check_routes,
}


def test_every_part_has_a_smoke_check() -> None:
    assert set(CHECKS) == set(PARTS)


@pytest.mark.parametrize("part", PARTS)
def test_quick_bench_part_measures_and_writes_json(tmp_path: Path, part: str) -> None:
    out = tmp_path / "results.json"
    results = main([*TINY, "--only", part, "--workdir", str(tmp_path / "db"), "--out", str(out)])

    assert json.loads(out.read_text())["headline"] == results["headline"]
    CHECKS[part](results)
