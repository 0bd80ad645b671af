"""What every GET page and API call costs (issue 12, "Count the work"): on the demo data and on three times it,
each route, asked by the role that uses it, stays within its statement budget, runs in one unit of work and one
transaction, and sends as many statements at 3x as at 1x (a route whose count grows with the rows is an N+1)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench.route_cost import build_sqlite, measure
from tests.run_once import once_per_run

COPIES = 2  # the larger database holds the demo data three times
# rule -> statements per request (the census of bench/route_cost.py; lower a budget when a route gets cheaper);
# /audit, /instances/<id>, /records/<id> and its as-of page, /segments, /designer, /admin/config and a config version
# read the display names of the people they name (actors, owners in owner changes, creators, deployers) in one
# batched statement per request (issue 13: people by name, not login); the audit exports read every user's display
# name once, before the first batch (8, was 7), whatever the number of batches; a seller's card asks once per request
# whether its record is in the seller's inbox (24, was 28: each of the card's services asked it again); an HTML page
# reads which configuration is deployed in the statement that loads the session's user (one statement fewer on
# every page that shows the configuration: /tasks 2, was 3); an API call reads its token, the token's user and that
# key in one statement (was three: /api/v1/tasks 2, was 4)
BUDGETS = {
    "/": 1, "/admin/config": 3, "/admin/config/catalogs/<catalog>": 1, "/admin/config/entities/<entity>": 1,
    "/admin/config/versions/<int:version_id>": 6, "/admin/incidents": 3, "/admin/schema": 1, "/admin/users": 2,
    "/admin/users/<username>/redistribute": 5, "/api/v1/audit": 3, "/api/v1/boards": 1, "/api/v1/boards/<name>": 11,
    "/api/v1/duplicates": 4, "/api/v1/duplicates/<int:pair_id>": 21, "/api/v1/imports/<int:job_id>": 2,
    "/api/v1/imports/<int:job_id>/rejects": 3, "/api/v1/incidents": 3, "/api/v1/instances/<int:instance_id>": 6,
    "/api/v1/me": 1, "/api/v1/openapi.json": 1, "/api/v1/process-versions": 2, "/api/v1/records/<entity>": 2,
    "/api/v1/records/<entity>/choices": 2, "/api/v1/records/<int:record_id>": 2,
    "/api/v1/records/<int:record_id>/as-of": 3, "/api/v1/records/<int:record_id>/history": 4,
    "/api/v1/records/<int:record_id>/instances": 3, "/api/v1/records/<int:record_id>/links": 7,
    "/api/v1/records/<int:record_id>/reminders": 3, "/api/v1/records/<int:record_id>/timeline": 11,
    "/api/v1/reports": 1, "/api/v1/reports/<name>": 5, "/api/v1/search": 5, "/api/v1/segments": 2,
    "/api/v1/segments/<int:segment_id>": 2, "/api/v1/segments/<int:segment_id>/export": 7,
    "/api/v1/segments/<int:segment_id>/records": 7, "/api/v1/tasks": 2, "/api/v1/tasks/<task_id>": 2, "/audit": 5,
    "/audit/export.csv": 7, "/audit/export.xlsx": 7, "/boards": 1, "/boards/<name>": 12, "/designer": 3,
    "/designer/versions/<int:version_id>": 3, "/designer/versions/<int:version_id>.bpmn": 2,
    "/designer/versions/<int:version_id>/diagram.json": 2, "/duplicates": 4, "/duplicates/<int:pair_id>": 22,
    "/duplicates/tuning": 14, "/engine-rest/external-task": 4, "/engine-rest/external-task/count": 4,
    "/find/<entity>": 4, "/find/<entity>/export.<fmt>": 5, "/imports": 2, "/imports/<int:job_id>": 3,
    "/imports/<int:job_id>/mapping": 2, "/imports/<int:job_id>/progress.json": 2,
    "/imports/<int:job_id>/rejects.csv": 3, "/imports/new": 2, "/instances/<int:instance_id>": 13,
    "/instances/<int:instance_id>/diagram.json": 6, "/login": 0, "/profile": 1, "/records/<entity>": 5,
    "/records/<entity>/choices": 2, "/records/<entity>/new": 1, "/records/<int:record_id>": 23,
    "/records/<int:record_id>/as-of": 7, "/reports": 1, "/reports/<report>": 6, "/reports/<report>.csv": 5,
    "/reports/<report>.xlsx": 5, "/search": 5, "/search/choices": 5, "/segments": 3, "/segments/<int:segment_id>": 9,
    "/segments/<int:segment_id>/export.<fmt>": 7, "/tasks": 2, "/tasks/<task_id>": 2,
}
# downloads read their rows in batches, each batch in a transaction of its own (the session lets go of a written
# batch, so an export of a million rows stays small in memory): one unit of work, 1 + batches transactions
BATCHED = {"/audit/export.csv", "/audit/export.xlsx", "/find/<entity>/export.<fmt>",
           "/segments/<int:segment_id>/export.<fmt>", "/api/v1/segments/<int:segment_id>/export"}
NOT_OK = {"/": 302}  # the home page redirects to the inbox
LEFT_OUT = {"/engine-rest/external-task/<id>"}  # the demo bundle has no external tasks


@pytest.fixture(scope="module")
def census(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """The census rows by rule, on the demo data (1x) and on three times it (SQLite), taken once per test run."""

    def take() -> dict[str, Any]:
        small, large = build_sqlite(Path(tmp_path_factory.mktemp("routes")), COPIES)
        return measure([small, large], repeats=0)

    found = once_per_run(tmp_path_factory, "route_census", take)
    assert {item["route"] for item in found["left_out"]} == LEFT_OUT
    return {row["route"]: row for row in found["rows"]}


def test_every_get_route_is_in_the_census_with_a_budget(census: dict[str, dict[str, Any]]) -> None:
    assert set(census) == BUDGETS.keys()


def test_each_route_answers_its_role_in_one_unit_of_work_and_one_transaction(
        census: dict[str, dict[str, Any]]) -> None:
    wrong = {rule: (row["role"], row["status"], row["units"], row["transactions"]) for rule, row in census.items()
             if set(row["status"]) != {NOT_OK.get(rule, 200)}
             or (rule != "/login" and row["units"] != [1, 1])
             or (rule not in BATCHED and rule != "/login" and row["transactions"] != [1, 1])}
    assert not wrong, wrong


def test_each_route_stays_within_its_statement_budget(census: dict[str, dict[str, Any]]) -> None:
    over = {rule: row["statements"] for rule, row in census.items()
            if row["statements"][0 if rule in BATCHED else 1] > BUDGETS[rule]}
    assert not over, over


def test_no_route_sends_more_statements_when_it_shows_more_rows(census: dict[str, dict[str, Any]]) -> None:
    growing = {rule: row["statements"] for rule, row in census.items()
               if rule not in BATCHED and row["statements"][0] != row["statements"][1]}
    assert not growing, growing


def test_a_download_of_more_rows_costs_more_batches_not_more_statements_per_row(
        census: dict[str, dict[str, Any]]) -> None:
    for rule in BATCHED:
        row = census[rule]
        more_statements = row["statements"][1] - row["statements"][0]
        more_batches = row["transactions"][1] - row["transactions"][0]
        assert more_statements <= 2 * more_batches, (rule, row["statements"], row["transactions"])
