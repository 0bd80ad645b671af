"""CSV injection through the record exporters: a field value like `=cmd|' /C calc'!A0` leaves every CSV with a
leading apostrophe and every XLSX as a string cell (never a formula), while numbers and dates keep their types."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from click.testing import CliRunner

import cli
from engine.services import audit_export, exports
from engine.services.audit import AuditQuery, iter_audit
from engine.services.imports import rejects_csv
from engine.services.records import create_record
from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.conftest import NOW
from tests.integration.test_import import run
from tests.unit.test_cells import cells_of

MakeUow = Callable[[], UnitOfWork]
PAYLOAD = "=cmd|' /C calc'!A0"


def a_deal(deployed: MakeUow, actors: dict[str, Actor]) -> int:
    return create_record(
        deployed(), actors["head"], "Deal", {"title": PAYLOAD, "amount": "1500.50", "close_date": "2026-04-30"}, NOW
    ).id


def test_record_export_neutralizes_formulas_in_csv_and_xlsx(deployed: MakeUow, actors: dict[str, Actor]) -> None:
    a_deal(deployed, actors)
    wanted = {"entity": "Deal"}
    columns, batches = exports.export_rows(
        deployed(), actors["admin"], wanted, NOW, columns=["title", "amount", "close_date"]
    )
    rows = list(csv.reader(io.StringIO("".join(exports.csv_chunks(columns, batches)).removeprefix("\ufeff"))))
    assert rows[1] == ["'" + PAYLOAD, "1500.50", "2026-04-30"]
    columns, batches = exports.export_rows(
        deployed(), actors["admin"], wanted, NOW, columns=["title", "amount", "close_date"]
    )
    out = io.BytesIO()
    exports.write_xlsx(columns, batches, out)
    cells = cells_of(out.getvalue())
    assert not [c for row in cells for c in row if c[1] == "f"]
    (title, title_type), (amount, amount_type), (closes, closes_type) = cells[1]
    assert (title, title_type) == (PAYLOAD, "s")
    assert (amount, amount_type) == (1500.5, "n")
    assert (closes, closes_type) == (datetime(2026, 4, 30), "d")


def test_audit_export_neutralizes_formulas(deployed: MakeUow, actors: dict[str, Actor]) -> None:
    record_id = a_deal(deployed, actors)
    entries = list(iter_audit(deployed(), actors["auditor"], AuditQuery(record_id=record_id)))
    table = list(csv.reader(io.StringIO("".join(audit_export.csv_chunks(entries)).removeprefix(audit_export.BOM))))
    assert ["'" + PAYLOAD] in [[row[9]] for row in table if row[7] == "title"]
    assert PAYLOAD not in [row[9] for row in table]
    out = io.BytesIO()
    audit_export.write_xlsx(entries, out)
    cells = cells_of(out.getvalue())
    assert not [c for row in cells for c in row if c[1] == "f"]
    assert (PAYLOAD, "s") in [row[9] for row in cells]


def test_find_command_csv_neutralizes_formulas(db_url: str, deployed: MakeUow, actors: dict[str, Actor]) -> None:
    a_deal(deployed, actors)
    result = CliRunner().invoke(
        cli.main, ["--database-url", db_url, "find", "--filter", '{"entity": "Deal"}', "--format", "csv", "--as", "ada"]
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.output)))
    assert rows[1][1] == "'" + PAYLOAD


def test_import_rejects_csv_neutralizes_formulas(deployed: MakeUow, actors: dict[str, Actor], tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(f'ФИО;Телефон\n"{PAYLOAD}";@1\n', encoding="utf-8")
    job = run(deployed, actors["sales"], path, mode="valid_only")
    data = rejects_csv(deployed(), actors["sales"], job.id).data
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert rows[1][:2] == ["'" + PAYLOAD, "'@1"]
