"""`flowcrm duplicates scan | rebuild-keys` and `flowcrm check` on a broken duplicates file."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

import cli
from engine.services.records import create_record
from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.conftest import NOW, ROOT


def test_scan_and_rebuild_keys_commands(db_url: str, deployed: Callable[[], UnitOfWork],
                                        actors: dict[str, Actor]) -> None:
    for name in ("Ivan Petrov", "Petrov Ivan"):
        create_record(deployed(), actors["head"], "Contact", {"full_name": name, "phone": "+79123456789"}, NOW)
    runner = CliRunner()
    keys = runner.invoke(cli.main, ["--database-url", db_url, "duplicates", "rebuild-keys", "--entity", "Contact"])
    assert keys.exit_code == 0, keys.output
    assert keys.output == "Contact: keys of 2 record(s) rebuilt\n"
    scan = runner.invoke(cli.main, ["--database-url", db_url, "duplicates", "scan"])
    assert scan.exit_code == 0, scan.output
    lines = scan.output.splitlines()
    assert [line.split(":")[0] for line in lines] == ["Contact", "Lead", "Organization"]
    assert lines[0].startswith("Contact: 2 record(s), 1 pair(s) compared, 1 found, 0 new")  # found at create
    unknown = runner.invoke(cli.main, ["--database-url", db_url, "duplicates", "scan", "--entity", "Invoice"])
    assert unknown.exit_code == 1
    assert "no duplicate rules for 'Invoice' (entities with rules: Contact, Lead, Organization)" in unknown.output


def test_check_reports_a_bad_duplicates_file_with_its_line(tmp_path: Path) -> None:
    for part in ("crm_model", "forms", "processes", "templates"):
        shutil.copytree(ROOT / part, tmp_path / part)
    path = tmp_path / "crm_model/duplicates/lead.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("scorer: token_match", "scorer: soundex"),
                    encoding="utf-8")
    result = CliRunner().invoke(cli.main, ["check", str(tmp_path)])
    assert result.exit_code == 1
    line = next(n for n, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if "soundex" in text)
    assert f"crm_model/duplicates/lead.yaml:{line}: [Lead.same_person_same_company] unknown scorer 'soundex'" in (
        result.output)
