"""A report grouped by system fields of the filter model (title, created_by) and filtered on created_at runs on
SQLite and PostgreSQL: reports and entity lists share one list of system fields."""

from __future__ import annotations

from datetime import date

import pytest

from engine.reports.service import run_report
from engine.reports.views import ReportParams
from engine.services.views import Actor
from tests.integration.report_data import NOW, MakeUow, build_dataset

REPORT = """\
report: contacts_by_title
label: {en: Contacts by title, ru: Контакты по названию}
kind: grouped
entity: Contact
period: created_at
group_by: [title, created_by]
measures:
  n: {label: {en: Contacts, ru: Контакты}, count: true}
"""


@pytest.fixture
def bundle_files(bundle_files: dict[str, str]) -> dict[str, str]:
    return {**bundle_files, "crm_model/reports/contacts_by_title.yaml": REPORT}


def test_a_report_groups_by_the_record_title_and_its_creator(deployed: MakeUow, actors: dict[str, Actor]) -> None:
    build_dataset(deployed, actors)
    head = actors["head"]
    result = run_report(deployed(), head, "contacts_by_title", ReportParams(), NOW, "en")
    assert ["Ivan", head.display_name, 1, head.username] in result.rows  # the creator by name, then by login
    assert ["Maria", head.display_name, 1, head.username] in result.rows
    later = run_report(deployed(), head, "contacts_by_title", ReportParams(date_from=date(2026, 12, 1)), NOW, "en")
    assert later.rows == []
