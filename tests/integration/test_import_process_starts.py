"""The processes that start when an import's batch creates records are started for the batch
(engine.services.instance_starts): the instances, events, tasks, candidates and timers of the batch's starts go in
one statement per table, and the database is left exactly as starting them row by row leaves it — on the CRM's
Deals and on a small generic bundle (a user task, a timer, a script with a computed field, an instance that ends at
once, a start that fails)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import event

from tests.integration.test_import_bulk import Factory
from tests.integration.test_import_bulk_linked import deals, job, targets
from tests.statements import as_insert

Compare = Callable[..., tuple[list[Any], dict[str, list[tuple[Any, ...]]]]]  # the compare_paths fixture
TABLES = ("process_instance", "instance_event", "task", "task_candidate", "timer")


def counted(make_uow: Factory, sent: list[str], run: Callable[[], Any]) -> Any:
    """What `run()` returns; the statements it sent appended to `sent`."""

    def log(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        sent.append(as_insert(statement).lstrip().upper())

    engine = make_uow.engine  # type: ignore[attr-defined]
    event.listen(engine, "before_cursor_execute", log)
    try:
        return run()
    finally:
        event.remove(engine, "before_cursor_execute", log)


def inserts(sent: list[str]) -> dict[str, int]:
    """INSERT statements per table of the process starts."""
    return {table: sum(s.startswith((f"INSERT INTO {table.upper()} ", f'INSERT INTO "{table.upper()}" '))
                       for s in sent) for table in TABLES}


def test_deal_starts_of_a_batch_leave_what_row_by_row_leaves_in_one_statement_per_table(
    deployed: Factory, actors: dict[str, Any], compare_paths: Compare, tmp_path: Path
) -> None:
    admin = actors["admin"]
    sent: dict[bool, list[str]] = {True: [], False: []}

    def imports(bulk: bool) -> list[Any]:
        people, companies = targets(deployed, admin, contacts=12)
        path = deals(tmp_path / "deals.csv", people, companies)  # 60 deals and a rejected one
        outcomes = [job(deployed, admin, "Deal", path, bulk=bulk, batch_size=100, dry_run=True)]
        outcomes.append(counted(deployed, sent[bulk],
                                lambda: job(deployed, admin, "Deal", path, bulk=bulk, batch_size=100)))
        return outcomes

    alone, expected = compare_paths(imports)
    assert [outcome[1]["created"] for outcome in alone] == [60, 60]
    # the dry run wrote nothing: only the real run's instances are there
    assert len(expected["process_instance"]) == 60
    assert sum("'task_completed'" in str(row) for row in expected["instance_event"]) == 0
    opened = len(expected["task"])
    assert opened == 12  # the deals at stage new (one in five) wait for their offer
    assert len(expected["task_candidate"]) == opened
    # one by one: an INSERT of each instance and one of its events (and of each task and its candidates); the
    # batch path, one of each table per run of new rows (the rejected eighth row ends a run: 7 and 53 rows; the
    # tasks are all in the second)
    assert inserts(sent[False])["process_instance"] == 60
    assert inserts(sent[True]) == {"process_instance": 2, "instance_event": 2, "task": 1, "task_candidate": 1,
                                   "timer": 0}


