"""Process starts of an import's batch whose tasks are routed (tests/integration/test_assignment.py's bundle: a
routing decision by region, one process sharing the team's tasks round robin, one giving each to the member with
the fewest open tasks): the batch path hands every task to whom starting them row by row does (the round robin's
cursor moves in start order; a fewest-open start is written on its own, after the starts before it, so its count
sees their tasks)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_assignment import bundle
from tests.integration.test_import_bulk import Factory
from tests.integration.test_import_bulk_linked import job, write_rows
from tests.integration.test_import_process_starts import Compare


@pytest.fixture
def bundle_files() -> dict[str, str]:
    """Inquiries, each starting a round-robin routed process and a fewest-open routed one."""
    return bundle("round_robin", "fewest_open")


def test_routed_starts_of_a_batch_go_to_whom_row_by_row_gives_them(
    deployed: Factory, actors: dict[str, Any], compare_paths: Compare, tmp_path: Path
) -> None:
    admin = actors["admin"]
    rows = [[f"Inquiry {n}", "south" if n % 5 == 4 else "north"] for n in range(30)]
    path = write_rows(tmp_path / "inquiries.csv", ["title", "region"], rows)
    alone, expected = compare_paths(lambda bulk: [job(deployed, admin, "Inquiry", path, bulk=bulk, batch_size=100)])
    assert alone[0][1]["created"] == 30
    assert len(expected["task"]) == 60
    # every task routed (an event each); the north team's members share the north ones, the south team has no
    # one: the south inquiries' tasks stay in their pool
    assert sum("'assigned'" in str(row) for row in expected["instance_event"]) == 60
    assigned = Counter(row[8] for row in expected["task"])  # assignee_id (state() leaves the task's id out)
    assert assigned["None"] == 12, assigned
    assert len(assigned) > 2, assigned
