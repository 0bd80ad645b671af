"""Shipped reports on a small hand-made dataset with fixed timestamps: exact numbers on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from engine.errors import Forbidden, NotFound, ValidationError
from engine.reports.service import list_reports, run_report
from engine.reports.views import ReportParams, ReportResult
from engine.services.views import Actor
from tests.integration.report_data import NOW, MakeUow, build_dataset


@pytest.fixture
def dataset(deployed: MakeUow, actors: dict[str, Actor]) -> dict[str, int]:
    """The report dataset of tests/integration/report_data.py."""
    return build_dataset(deployed, actors)


def run(make_uow: MakeUow, actor: Actor, name: str, **params: Any) -> ReportResult:
    return run_report(make_uow(), actor, name, ReportParams(**params), NOW, "en")


def table(result: ReportResult) -> list[list[Any]]:
    return result.rows


def test_conversion_by_campaign_channel_and_month(deployed: MakeUow, actors: dict[str, Actor],
                                                  dataset: dict[str, int]) -> None:
    head = actors["head"]
    by_campaign = run(deployed, head, "lead_conversion_by_campaign")
    assert [c.key for c in by_campaign.columns] == ["dim0", "leads", "converted", "rate"]
    assert table(by_campaign) == [["Spring", 2, 1, 50.0], ["Autumn", 1, 0, 0.0], ["(none)", 1, 0, 0.0]]
    by_channel = run(deployed, head, "lead_conversion_by_channel")
    assert sorted(table(by_channel)) == [["Advertising", 1, 0, 0.0], ["Phone call", 1, 0, 0.0],
                                         ["Website", 2, 1, 50.0]]
    assert table(run(deployed, head, "lead_conversion_by_period")) == [["2026-01", 2, 1, 50.0],
                                                                       ["2026-02", 2, 0, 0.0]]
    assert table(run(deployed, head, "lead_conversion_by_period", bucket="quarter")) == [["2026 Q1", 4, 1, 25.0]]
    february = run(deployed, head, "lead_conversion_by_period", date_from=date(2026, 2, 1))
    assert table(february) == [["2026-02", 2, 0, 0.0]]
    ru = run_report(deployed(), head, "lead_conversion_by_channel", ReportParams(), NOW, "ru")
    assert ["Сайт", 2, 1, 50.0] in ru.rows
    assert ru.columns[1].label == "Лиды"


def test_sales_see_reports_over_their_own_records(deployed: MakeUow, actors: dict[str, Actor],
                                                  dataset: dict[str, int]) -> None:
    assert sorted(table(run(deployed, actors["sales"], "lead_conversion_by_channel"))) == [
        ["Advertising", 1, 0, 0.0], ["Website", 2, 1, 50.0]]
    assert table(run(deployed, actors["sales2"], "lead_conversion_by_channel")) == [["Phone call", 1, 0, 0.0]]
    assert table(run(deployed, actors["head"], "lead_conversion_by_channel", team="south")) == []
    with pytest.raises(Forbidden):
        run(deployed, actors["designer"], "lead_conversion_by_channel")
    with pytest.raises(NotFound):
        run(deployed, actors["head"], "no_such_report")
    with pytest.raises(ValidationError):
        ReportParams(bucket="week")


def test_campaign_costs_and_roi(deployed: MakeUow, actors: dict[str, Actor], dataset: dict[str, int]) -> None:
    result = run(deployed, actors["auditor"], "campaign_economics")
    assert [c.key for c in result.columns] == [
        "dim0", "budget", "leads", "contacts", "conversions", "won_amount", "cost_per_lead", "cost_per_contact",
        "cost_per_conversion", "profit", "roi"]
    assert table(result) == [
        ["Spring", 1000.0, 2, 1, 1, 1500.5, 500.0, 1000.0, 1000.0, 500.5, 50.05],
        ["Autumn", 500.0, 1, 1, 0, 200.0, 500.0, 500.0, None, -300.0, -60.0],
    ]
    assert result.chart is not None
    assert result.chart.type == "bar"
    assert [result.columns[i].key for i in result.chart.series] == ["budget", "won_amount"]


def test_funnel_counts_conversion_and_time_in_stage(deployed: MakeUow, actors: dict[str, Actor],
                                                    dataset: dict[str, int]) -> None:
    result = run(deployed, actors["head"], "request_funnel")
    assert table(result) == [
        ["Web inquiry", "New", 3, None, 24.0, 20.0],
        ["Web inquiry", "Qualified", 3, 100.0, 36.0, 36.0],
        ["Web inquiry", "Offer sent", 2, 66.67, 24.0, 24.0],
        ["Web inquiry", "Won", 1, 50.0, None, None],
    ]
    january = run(deployed, actors["head"], "request_funnel", date_to=date(2026, 1, 31))
    assert [row[2] for row in table(january)] == [2, 2, 1, 1]


def test_seller_activity_per_user_and_team(deployed: MakeUow, actors: dict[str, Actor],
                                           dataset: dict[str, int]) -> None:
    result = run(deployed, actors["head"], "seller_activity")
    assert [c.key for c in result.columns] == ["user", "team", "calls", "meetings", "leads_taken", "leads_owned",
                                               "converted", "conversion", "tasks_done", "tasks_overdue", "login"]
    assert table(result) == [
        ["hank", "north", 0, 0, 0, 0, 0, None, 0, 0, "hank"],
        ["sam", "north", 2, 1, 2, 3, 1, 33.33, 1, 1, "sam"],
        ["sue", "north", 1, 0, 0, 1, 0, 0.0, 0, 0, "sue"],
    ]
    assert table(run(deployed, actors["head"], "seller_activity", per="team")) == [
        ["north", 3, 1, 2, 4, 1, 25.0, 1, 1]]
    assert table(run(deployed, actors["sales"], "seller_activity")) == [
        ["sam", "north", 2, 1, 2, 3, 1, 33.33, 1, 1, "sam"]]
    later = run(deployed, actors["head"], "seller_activity", date_from=date(2026, 3, 1))
    assert table(later)[1] == ["sam", "north", 0, 0, 0, 0, 0, None, 0, 1, "sam"]


def test_demand_by_category_and_month(deployed: MakeUow, actors: dict[str, Actor], dataset: dict[str, int]) -> None:
    result = run(deployed, actors["head"], "demand_by_category")
    assert table(result) == [["2026-01", "Computers", 2, 150.5], ["2026-02", "Support", 2, 30.0]]
    deals = run(deployed, actors["head"], "deals_by_product")
    assert sorted(table(deals)) == [["Computers", "Laptop", 1, 1, 1500.5], ["Support", "Support", 2, 1, 200.0]]


def test_buckets_of_a_date_field_and_its_period_filter(deployed: MakeUow, actors: dict[str, Actor],
                                                      dataset: dict[str, int]) -> None:
    assert table(run(deployed, actors["head"], "won_deals_by_month")) == [["2026-01", 1, 1500.5, 1500.5],
                                                                          ["2026-02", 1, 200.0, 200.0]]
    assert table(run(deployed, actors["head"], "won_deals_by_month", bucket="year")) == [["2026", 2, 1700.5, 850.25]]
    february = run(deployed, actors["head"], "won_deals_by_month", date_from=date(2026, 2, 1),
                   date_to=date(2026, 2, 10))
    assert table(february) == [["2026-02", 1, 200.0, 200.0]]


def test_list_reports_for_readers(deployed: MakeUow, actors: dict[str, Actor]) -> None:
    names = {info.name for info in list_reports(deployed(), actors["sales"], "en")}
    assert {"lead_conversion_by_campaign", "campaign_economics", "request_funnel", "seller_activity",
            "demand_by_category"} <= names
    funnel = next(i for i in list_reports(deployed(), actors["head"], "ru") if i.name == "request_funnel")
    assert funnel.title == "Воронка обращений"
    assert funnel.uses_period
    assert not funnel.uses_bucket


def test_report_command_prints_and_saves(db_url: str, deployed: MakeUow, actors: dict[str, Actor],
                                         dataset: dict[str, int], tmp_path: Path) -> None:
    from click.testing import CliRunner
    from openpyxl import load_workbook

    import cli

    def report(*args: str) -> Any:
        return CliRunner().invoke(cli.main, ["--database-url", db_url, "report", *args])

    shown = report("lead_conversion_by_period", "--bucket", "quarter")
    assert shown.exit_code == 0, shown.output
    assert shown.output.splitlines()[2].split() == ["2026", "Q1", "4", "1", "25.0"]
    as_sue = report("lead_conversion_by_channel", "--as", "sue", "--format", "csv")
    assert as_sue.output.splitlines() == ["Channel,Leads,Converted,\"Conversion rate, %\"", "Phone call,1,0,0.0"]
    target = tmp_path / "funnel.xlsx"
    saved = report("request_funnel", "--format", "xlsx", "-o", str(target), "--locale", "ru")
    assert saved.exit_code == 0, saved.output
    book = load_workbook(target)
    sheet = book.active
    assert sheet is not None
    assert [c.value for c in sheet[2]] == ["Заявка с сайта", "Новое", 3, None, 24, 20]
    book.close()
    unknown = report("no_such_report")
    assert unknown.exit_code == 1
    assert "unknown report 'no_such_report'" in unknown.output
    bad = report("seller_activity", "--from", "March")
    assert bad.exit_code == 1
    assert "is not a date" in bad.output
