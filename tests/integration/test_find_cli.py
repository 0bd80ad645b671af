"""`flowcrm find`: a page as a table, JSON or CSV, the count, the SQL, and clear errors."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

import cli
from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.integration.find_data import PHONE_BUYERS, build


def test_the_cli_finds_counts_and_explains(db_url: str, deployed: Callable[[], UnitOfWork],
                                           actors: dict[str, Actor], tmp_path: Path) -> None:
    ids = build(deployed, actors)
    runner = CliRunner()
    base = ["--database-url", db_url, "find"]
    contacts = json.dumps({"entity": "Contact", "sort": [{"field": "title"}]})

    table = runner.invoke(cli.main, [*base, "--filter", contacts, "--limit", "2"])
    assert table.exit_code == 0, table.output
    lines = table.output.splitlines()
    assert lines[0].split()[:3] == [str(ids["alice"]), "Alice", "Archer"]
    assert lines[-1] == "5 record(s) match; shown: 1-2"

    saved = tmp_path / "buyers.json"
    saved.write_text(json.dumps(PHONE_BUYERS), encoding="utf-8")
    answer = runner.invoke(cli.main, [*base, "--filter", f"@{saved}", "--format", "json"])
    assert answer.exit_code == 0, answer.output
    page = json.loads(answer.output)
    assert ([r["id"] for r in page["items"]], page["total"]) == ([ids["alice"]], 1)

    rows = runner.invoke(cli.main, [*base, "--filter", contacts, "--format", "csv", "--as", "sue"])
    assert rows.exit_code == 0, rows.output
    parsed = list(csv.DictReader(io.StringIO(rows.output)))
    assert [(r["title"], r["owner"], r["tags"]) for r in parsed] == [("Bob Brown", "sue", '["retail"]')]

    counted = runner.invoke(cli.main, [*base, "--filter", contacts, "--count", "--as", "sam"])
    assert (counted.exit_code, counted.output) == (0, "3\n")
    sql = runner.invoke(cli.main, [*base, "--filter", f"@{saved}", "--explain"])
    assert sql.exit_code == 0, sql.output
    assert "record_link" in sql.output
    assert "won" not in sql.output

    for arguments, message in [
        (["--filter", "{nope"], "--filter: not valid JSON"),
        (["--filter", "@/no/such/file.json"], "--filter: cannot read /no/such/file.json"),
        (["--filter", contacts, "--as", "nobody"], "--as: no user 'nobody'"),
        (["--filter", json.dumps({"entity": "Contact", "where": {"field": "age", "op": "gt", "value": 1}})],
         "where.field: 'age' is not a field of Contact"),
    ]:
        refused = runner.invoke(cli.main, [*base, *arguments])
        assert refused.exit_code == 1, refused.output
        assert message in refused.output
