"""Report periods and month buckets in the reader's time zone: a lead that came in at 22:30 UTC on 30 April is a
May lead in Moscow (UTC+3), on SQLite and PostgreSQL; exports say the zone."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from engine.errors import ValidationError
from engine.reports.export import csv_text
from engine.reports.service import run_report
from engine.reports.views import ReportParams, ReportResult
from engine.services import records
from engine.services.views import Actor
from tests.conftest import NOW

MOSCOW = "Europe/Moscow"
LATE_APRIL = datetime(2026, 4, 30, 22, 30, tzinfo=UTC)  # 1 May 01:30 in Moscow
APRIL_EVENING = datetime(2026, 4, 30, 20, 0, tzinfo=UTC)  # 30 April 23:00 in Moscow
LATE_MAY = datetime(2026, 5, 31, 21, 30, tzinfo=UTC)  # 1 June 00:30 in Moscow


@pytest.fixture
def leads(deployed, actors: dict[str, Actor]) -> None:
    for channel, at in (("website", LATE_APRIL), ("phone_call", APRIL_EVENING), ("advertising", LATE_MAY)):
        records.create_record(deployed(), actors["head"], "Lead", {"title": channel, "channel": channel}, at)


def run(deployed, actor: Actor, name: str, **params: Any) -> ReportResult:
    return run_report(deployed(), actor, name, ReportParams(**params), NOW, "en")


def months(result: ReportResult) -> dict[str, int]:
    return {row[0]: row[1] for row in result.rows}


def test_month_buckets_are_the_readers_months(deployed, actors, leads) -> None:
    head = actors["head"]
    assert months(run(deployed, head, "lead_conversion_by_period")) == {"2026-04": 2, "2026-05": 1}
    moscow = run(deployed, head, "lead_conversion_by_period", zone=MOSCOW)
    assert months(moscow) == {"2026-04": 1, "2026-05": 1, "2026-06": 1}
    assert moscow.columns[0].label.endswith(f"({MOSCOW})")
    assert run(deployed, head, "lead_conversion_by_period", zone=MOSCOW, bucket="quarter").rows[0][:2] == ["2026 Q2", 3]


def test_from_and_to_are_the_readers_days(deployed, actors, leads) -> None:
    head = actors["head"]
    may = {"date_from": date(2026, 5, 1), "date_to": date(2026, 5, 31)}
    in_utc = run(deployed, head, "lead_conversion_by_channel", **may)
    assert in_utc.rows == [["Advertising", 1, 0, 0.0]]  # the late may lead only
    in_moscow = run(deployed, head, "lead_conversion_by_channel", zone=MOSCOW, **may)
    assert in_moscow.rows == [["Website", 1, 0, 0.0]]  # the late april one (1 May there); late may is June there
    april_30 = run(
        deployed, head, "lead_conversion_by_period", zone=MOSCOW, date_from=date(2026, 4, 30), date_to=date(2026, 4, 30)
    )
    assert months(april_30) == {"2026-04": 1}  # the evening lead only
    assert "(Europe/Moscow)" in csv_text(april_30).splitlines()[0]


def test_an_unknown_zone_is_refused_by_name() -> None:
    with pytest.raises(ValidationError) as refused:
        ReportParams(zone="Mars/Olympus")
    assert "Mars/Olympus" in refused.value.errors["tz"][0]
    with pytest.raises(ValidationError):
        ReportParams(zone="Europe/Moscow'; DROP TABLE record; --")


def test_the_report_command_counts_in_the_bundles_zone_unless_told(db_url: str, deployed, leads) -> None:
    from click.testing import CliRunner

    import cli

    def report(*args: str) -> list[str]:
        done = CliRunner().invoke(
            cli.main, ["--database-url", db_url, "report", "lead_conversion_by_period", "--format", "csv", *args]
        )
        assert done.exit_code == 0, done.output
        return done.output.splitlines()

    bundle_zone = report()  # crm_model/settings.yaml: timezone: Europe/Moscow
    assert bundle_zone[0].startswith("Period (Europe/Moscow),")
    assert [line.split(",")[:2] for line in bundle_zone[1:]] == [["2026-04", "1"], ["2026-05", "1"], ["2026-06", "1"]]
    assert [line.split(",")[:2] for line in report("--tz", "UTC")[1:]] == [["2026-04", "2"], ["2026-05", "1"]]
    refused = CliRunner().invoke(
        cli.main, ["--database-url", db_url, "report", "lead_conversion_by_period", "--tz", "Moscow"]
    )
    assert refused.exit_code == 1
    assert "unknown time zone 'Moscow'" in refused.output


def test_list_exports_write_times_in_the_readers_zone_and_say_it(deployed, actors, leads) -> None:
    from engine.services.exports import csv_chunks, export_rows

    lead_filter = {"entity": "Lead", "where": {"field": "channel", "op": "eq", "value": "website"}}
    columns, batches = export_rows(
        deployed(), actors["admin"], lead_filter, NOW, columns=["title", "created_at"], zone=MOSCOW
    )
    lines = "".join(csv_chunks(columns, batches)).lstrip("\ufeff").splitlines()
    assert lines == ["Title,Created (Europe/Moscow)", "website,2026-05-01 01:30:00+03:00"]
    with pytest.raises(ValidationError) as refused:
        export_rows(deployed(), actors["admin"], lead_filter, NOW, zone="Moscow")
    assert "unknown time zone 'Moscow'" in refused.value.errors["tz"][0]
