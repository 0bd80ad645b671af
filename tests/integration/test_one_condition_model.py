"""One condition model: the same filter selects the same records as an entity list filter and as a report's
`where` (docs/filters.md, docs/reports.md) — every operator case and linked condition of the filter tests, on
SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml

from engine.reports.service import run_report
from engine.reports.views import ReportParams
from engine.services.deployments import deploy_bundle
from engine.services.finding import find_records
from engine.services.records import get_record
from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.conftest import NOW
from tests.integration.find_data import IDLE_ORGANIZATIONS, PHONE_BUYERS, PROBABLE_UNANSWERED, build
from tests.integration.test_find import AGGREGATE_CASES, FIELD_CASES

Uows = Callable[[], UnitOfWork]
CASES: list[tuple[str, dict[str, Any], set[str] | None]] = [
    *FIELD_CASES,
    *(("Contact", condition, expected) for condition, expected in AGGREGATE_CASES),
    *((flt["entity"], flt["where"], None) for flt in (PHONE_BUYERS, IDLE_ORGANIZATIONS, PROBABLE_UNANSWERED)),
]


def probe_report(name: str, entity: str, condition: dict[str, Any]) -> str:
    """A grouped report of one row per record matching `condition` (its title, 1)."""
    return yaml.safe_dump(
        {
            "report": name,
            "label": {"en": name, "ru": name},
            "kind": "grouped",
            "entity": entity,
            "where": condition,
            "group_by": ["id"],
            "measures": {"records": {"label": {"en": "Records", "ru": "Записи"}, "count": True}},
        },
        allow_unicode=True,
        sort_keys=False,
    )


@pytest.fixture
def probes(deployed: Uows, actors: dict[str, Actor], bundle_files: dict[str, str]) -> dict[str, int]:
    """The filter test records, and the bundle deployed with one probe report per case."""
    ids = build(deployed, actors)
    files = dict(bundle_files)
    for index, (entity, condition, _) in enumerate(CASES):
        files[f"crm_model/reports/probe_{index:02d}.yaml"] = probe_report(f"probe_{index:02d}", entity, condition)
    deploy_bundle(deployed(), actors["designer"], files, NOW)
    return ids


def test_a_filter_selects_the_same_records_in_a_list_and_in_a_report(
    deployed: Uows, actors: dict[str, Actor], probes: dict[str, int]
) -> None:
    admin = actors["admin"]
    nick_of = {get_record(deployed(), admin, record_id).title: nick for nick, record_id in probes.items()}
    by_id = {record_id: nick for nick, record_id in probes.items()}
    wrong = {}
    for index, (entity, condition, expected) in enumerate(CASES):
        page = find_records(deployed(), admin, {"entity": entity, "where": condition}, NOW, limit=500)
        listed = {by_id[item.id] for item in page.items}
        result = run_report(deployed(), admin, f"probe_{index:02d}", ReportParams(), NOW, "en")
        reported = {nick_of[row[0]] for row in result.rows}
        assert all(row[1] == 1 for row in result.rows)
        if listed != reported or (expected is not None and listed != expected):
            wrong[str(condition)] = (sorted(listed), sorted(reported), sorted(expected or ()))
    assert wrong == {}
    assert sum(1 for _, _, expected in CASES if expected) > 40  # the comparison covered records, not only empties
