"""A `linked_created` rule of the batch path refusing one row of a run (an action's invalid value): the run is
rolled back and its rows go one by one, so the row is rejected with the rule's reason and everything else comes
out as writing every row alone does; the rule's `let` (a count with a `where`, a max) and `else` are those the
record at each position would see alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.services.views import Actor
from tests.integration.test_import_bulk import Factory
from tests.integration.test_import_bulk_linked import Compare, batch_path_taken, job, targets, write_rows

CALLS_RULE = """\
rule: calls_in
label: {en: Calls in, ru: Входящие звонки}
entity: Contact
on:
  - linked_created: {entity: Activity, via: contact}
let:
  calls: {count: Activity, via: contact, where: "direction == 'inbound'"}
  last_call: {max: happened_at, of: Activity, via: contact}
when: "calls >= 2"
actions:
  - compute: {status: "'bogus' if linked['subject'] == 'Boom' else 'interested'", notes: "last_call"}
else:
  - set: {status: probable}
"""


@pytest.fixture
def bundle_files(bundle_files: dict[str, str]) -> dict[str, str]:
    """The shipped bundle with a rule on Contact counting inbound calls (`let` count with a `where`, a `max`,
    `else`) in place of probable_client_calls_in, refusing a call named Boom (no such status)."""
    files = {name: text for name, text in bundle_files.items() if "probable_client_calls_in" not in name}
    imports = yaml.safe_load(files["crm_model/imports.yaml"])
    imports["entities"]["Activity"] = {"match_on": ["subject"], "on_match": "update"}  # a call again: its update
    return {
        **files,
        "crm_model/rules/calls_in.yaml": CALLS_RULE,
        "crm_model/imports.yaml": yaml.safe_dump(imports, allow_unicode=True, sort_keys=False),
    }


@pytest.mark.parametrize("mode", ["valid_only", "all_or_nothing"])
def test_a_rule_refusing_a_row_of_the_batch_rejects_that_row_as_row_by_row(
    deployed: Factory, actors: dict[str, Actor], compare_paths: Compare, tmp_path: Path, mode: str
) -> None:
    admin = actors["admin"]
    assert batch_path_taken(deployed, "Activity")  # the rule is one the batch path runs

    def imports(bulk: bool) -> list[Any]:
        people, _ = targets(deployed, admin, contacts=4)
        rows = [
            [
                f"Call {n}",
                "call",
                "inbound" if n % 5 else "outbound",
                f"#{people[n % 4]}",
                f"2026-0{1 + n % 9}-0{1 + n % 7}T10:00:00+00:00",
            ]
            for n in range(24)
        ]
        rows.insert(13, ["Boom", "call", "inbound", f"#{people[2]}", "2026-03-01T10:00:00+00:00"])
        path = write_rows(tmp_path / "calls.csv", ["subject", "kind", "direction", "contact", "happened_at"], rows)
        return [job(deployed, admin, "Activity", path, bulk=bulk, batch_size=50, mode=mode)]

    alone, expected = compare_paths(imports, ids_by_rank=True)
    status, counts, _, rejects = alone[0]
    if mode == "valid_only":
        assert (status, counts["created"], [number for number, _ in rejects]) == ("done", 24, [15])
        assert "rule calls_in: compute gave Contact invalid values" in str(rejects)
        notes = [row for row in expected["field_change"] if "'notes'" in str(row) and "'rule calls_in'" in str(row)]
        assert len(notes) == 5  # the latest call moved on five times
    else:
        assert (counts["created"], [number for number, _ in rejects]) == (0, [15]), alone


def test_an_update_of_a_linked_record_waits_for_the_new_rows_before_it(
    deployed: Factory, actors: dict[str, Actor], compare_paths: Compare, tmp_path: Path
) -> None:
    """A matched row updating a call (its direction and time, which the rule's `let` reads) is written after the
    new calls before it in the file, not beside them: they see the call as it was."""
    admin = actors["admin"]
    header = ["subject", "kind", "direction", "contact", "happened_at"]

    def imports(bulk: bool) -> list[Any]:
        people, _ = targets(deployed, admin, contacts=3)
        calls = [
            [f"Call {n}", "call", "outbound", f"#{people[n % 3]}", f"2026-01-0{n + 1}T10:00:00+00:00"] for n in range(6)
        ]
        first = write_rows(tmp_path / "first.csv", header, calls)
        rows = []
        for n in range(6):  # a new inbound call, then an earlier call turned inbound (and later)
            rows += [
                [f"New {n}", "call", "inbound", f"#{people[n % 3]}", f"2026-02-0{n + 1}T10:00:00+00:00"],
                [f"Call {n}", "call", "inbound", "", f"2026-03-0{n + 1}T10:00:00+00:00"],
            ]
        second = write_rows(tmp_path / "second.csv", header, rows)
        return [job(deployed, admin, "Activity", path, bulk=bulk, batch_size=50) for path in (first, second)]

    alone, expected = compare_paths(imports)
    assert [(c["created"], c["updated"]) for _, c, _, _ in alone] == [(6, 0), (6, 6)]
    notes = sorted(
        row[-1] for row in expected["field_change"] if "'rule calls_in'" in str(row) and "'notes'" in str(row)
    )
    # each contact's fourth call (New 3, 4, 5) sees its first updated call only, as row by row
    assert notes == [f"'2026-03-0{n}T10:00:00+00:00'" for n in (1, 2, 3)], notes
