"""Reports in the browser and over the API: the list, a report with its SVG chart, CSV and XLSX downloads."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

from flask import Flask
from openpyxl import load_workbook

from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.integration.report_data import build_dataset
from tests.web.conformance import Conformance
from tests.web.conftest import as_user, text
from web.apidoc.reports import PATHS


def test_reports_page_lists_reports_and_draws_a_chart(app: Flask, deployed: Callable[[], UnitOfWork],
                                                      actors: dict[str, Actor]) -> None:
    build_dataset(deployed, actors)
    head = as_user(app, "hank")
    listing = head.get("/reports")
    assert listing.status_code == 200
    assert "Lead conversion by campaign" in text(listing)
    assert 'href="/reports/request_funnel"' in listing.get_data(as_text=True)
    page = head.get("/reports/lead_conversion_by_period?bucket=month")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<svg" in html
    assert "<polyline" in html
    assert "2026-01" in text(page)
    assert "50 %" in text(page)
    funnel = head.get("/reports/request_funnel").get_data(as_text=True)
    assert "<svg" in funnel
    assert "Web inquiry › Offer sent" in funnel
    stacked = head.get("/reports/demand_by_category").get_data(as_text=True)
    assert "Computers" in stacked
    assert "<rect" in stacked


def test_report_page_in_russian_and_bad_parameters(app: Flask, deployed: Callable[[], UnitOfWork],
                                                   actors: dict[str, Actor]) -> None:
    build_dataset(deployed, actors)
    head = as_user(app, "hank")
    page = head.get("/reports/lead_conversion_by_channel?lang=ru")
    assert "Конверсия лидов по каналам" in text(page)
    assert "Сайт" in text(page)
    bad = head.get("/reports/lead_conversion_by_period?from=yesterday&lang=en")
    assert bad.status_code == 422
    assert "is not a date" in text(bad)
    assert head.get("/reports/no_such_report").status_code == 404


def test_csv_and_xlsx_downloads_read_back(app: Flask, deployed: Callable[[], UnitOfWork],
                                          actors: dict[str, Actor]) -> None:
    build_dataset(deployed, actors)
    head = as_user(app, "hank")
    response = head.get("/reports/campaign_economics.csv?lang=en")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["Campaign", "Budget", "Leads"]
    assert rows[1][:3] == ["Spring", "1000.0", "2"]
    assert rows[2][-3:] == ["", "-300.0", "-60.0"]
    workbook = head.get("/reports/seller_activity.xlsx?per=team&lang=en")
    assert workbook.status_code == 200
    book = load_workbook(io.BytesIO(workbook.get_data()))
    sheet = book.active
    assert sheet is not None
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    book.close()
    assert values[0][:3] == ["Team", "Calls", "Meetings"]
    assert values[1] == ["north", 3, 1, 2, 4, 1, 25, 1, 1]


def test_api_lists_and_evaluates_reports(api: dict[str, Any], deployed: Callable[[], UnitOfWork],
                                         actors: dict[str, Actor]) -> None:
    build_dataset(deployed, actors)
    c = Conformance()
    listed = c.check(api["head"], "get", "/reports", 200)
    assert "request_funnel" in {item["name"] for item in listed["items"]}
    result = c.check(api["head"], "get", "/reports/{name}", 200, name="lead_conversion_by_period?bucket=quarter")
    assert result["rows"] == [["2026 Q1", 4, 1, 25.0]]
    assert result["params"]["bucket"] == "quarter"
    assert result["chart"]["type"] == "line"
    own = c.check(api["sales2"], "get", "/reports/{name}", 200, name="lead_conversion_by_channel")
    assert own["rows"] == [["Phone call", 1, 0, 0.0]]
    c.check(api["designer"], "get", "/reports", 403)
    c.check(api["head"], "get", "/reports/{name}", 404, name="nothing_here")
    c.check(api["head"], "get", "/reports/{name}", 422, name="seller_activity?per=week")
    assert set(PATHS) <= {p for p, _, _ in c.checked}
