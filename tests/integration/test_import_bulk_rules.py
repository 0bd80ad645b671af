"""A matched row whose change triggers a rule writing beyond its record (here: creating a record) ends the batch's
run of new rows, so record ids and everything else still come out as writing every row alone does."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.services.views import Actor
from tests.conftest import DeployedSnapshots
from tests.integration.test_import_bulk import Factory, both_paths, changed_file, import_changes, write_file

MOVED_RULE = """\
rule: contact_moved_note
label: {en: A note on a contact that moved, ru: Заметка о переезде контакта}
entity: Contact
on:
  - changed: [region]
actions:
  - create_record: {entity: Comment, set: {text: moved}}
"""


@pytest.fixture
def bundle_files(bundle_files: dict[str, str]) -> dict[str, str]:
    return {**bundle_files, "crm_model/rules/contact_moved_note.yaml": MOVED_RULE}


def test_a_change_creating_a_record_ends_the_run_before_it(
    deployed: Factory,
    actors: dict[str, Actor],
    db_url: str,
    bundle_files: dict[str, str],
    deployed_snapshots: DeployedSnapshots,
    tmp_path: Path,
) -> None:
    path = write_file(tmp_path / "contacts.csv", 120)
    changes = changed_file(tmp_path / "changes.csv", 120)
    admin = actors["admin"]
    alone, expected = both_paths(
        deployed,
        db_url,
        deployed_snapshots,
        bundle_files,
        lambda bulk: import_changes(deployed, admin, path, changes, bulk=bulk, on_match="update", dry_run=False),
    )
    notes = [row for row in expected["record"] if row[1] == "'Comment'"]
    assert (len(notes) > 10, alone[1][1]["updated"] > 10) == (True, True), (len(notes), alone[1])
