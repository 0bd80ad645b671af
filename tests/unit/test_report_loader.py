"""crm_model/reports/*.yaml: the shipped reports load, and every mistake is reported with its file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config.loader import load_bundle, read_bundle_dir
from engine.filters.model import FieldCondition, FieldRef
from tests.unit.bundle_helpers import changed, only_problem, problems_of

ROOT = Path(__file__).resolve().parents[2]
PATH = "crm_model/reports/probe.yaml"
HEAD = "report: probe\nlabel: {en: Probe, ru: Проба}\n"


@pytest.fixture(scope="module")
def shipped() -> dict[str, str]:
    return read_bundle_dir(ROOT)


def with_report(shipped: dict[str, str], body: str) -> dict[str, str]:
    return changed(shipped, {PATH: HEAD + body})


def test_shipped_reports_load_with_their_parts(shipped: dict[str, str]) -> None:
    reports = load_bundle(shipped).reports
    assert {"lead_conversion_by_campaign", "lead_conversion_by_channel", "lead_conversion_by_period",
            "campaign_economics", "request_funnel", "seller_activity", "demand_by_category"} <= set(reports)
    conversion = reports["lead_conversion_by_campaign"]
    assert conversion.kind == "grouped"
    assert conversion.dimensions[0].path.type == "reference"
    assert conversion.measures[1].where == FieldCondition(FieldRef("request_stage", "enum"), "eq", "won")
    assert reports["demand_by_category"].dimensions[1].path.via == "product"
    economics = {m.name: m for m in reports["campaign_economics"].measures}
    assert economics["won_amount"].linked is not None
    assert economics["won_amount"].linked.via == "campaign"
    assert economics["roi"].operands == ("profit", "budget")
    funnel = reports["request_funnel"].funnel
    assert funnel is not None
    assert (funnel.stage_field, funnel.split_by, funnel.exclude) == ("request_stage", "request_type", ("lost",))
    assert [m.source for m in reports["seller_activity"].activity][-2:] == ["tasks_done", "tasks_overdue"]


def test_a_good_probe_loads(shipped: dict[str, str]) -> None:
    files = with_report(shipped, "kind: grouped\nentity: Deal\ngroup_by: [stage]\nmeasures:\n"
                                 "  deals: {label: {en: Deals, ru: Сделки}, count: true}\n")
    assert load_bundle(files).reports["probe"].measures[0].function == "count"


@pytest.mark.parametrize(("body", "line", "words"), [
    ("kind: grouped\nentity: Nope\ngroup_by: [x]\nmeasures: {n: {label: {en: N, ru: N}, count: true}}\n", 4,
     "unknown entity 'Nope'"),
    ("kind: grouped\nentity: Deal\ngroup_by: [colour]\nmeasures:\n  n: {label: {en: N, ru: N}, count: true}\n",
     5, "Deal has no field 'colour'"),
    ("kind: grouped\nentity: Deal\ngroup_by: [stage]\nmeasures:\n  n: {label: {en: N, ru: N}, count: true}\n"
     "  r: {label: {en: R, ru: R}, ratio: [n, missing]}\n", 8, "ratio needs two measures defined above it"),
    ("kind: grouped\nentity: Deal\ngroup_by: [stage]\nmeasures:\n  s: {label: {en: S, ru: S}, sum: title}\n",
     7, "sum needs a number field; title is string"),
    ("kind: grouped\nentity: Deal\ngroup_by: [stage]\nmeasures:\n  n: {label: {en: N, ru: N}, count: true,\n"
     "      where: {field: stage, op: eq, value: victory}}\n", 8, "'victory' is not a code of catalog deal_stage"),
    ("kind: grouped\nentity: Deal\ngroup_by: [{field: stage, bucket: true}]\nmeasures:\n"
     "  n: {label: {en: N, ru: N}, count: true}\n", 5, "bucket needs a date or datetime field"),
    ("kind: grouped\nentity: Campaign\ngroup_by: [id]\nmeasures:\n  n: {label: {en: N, ru: N}, count: true,\n"
     "      linked: {entity: Deal, via: product}}\n", 8, "via 'product' must be a reference field of Deal "
                                                       "pointing at Campaign"),
    ("kind: grouped\nentity: Deal\ngroup_by: [stage]\nmeasures:\n  n: {label: {en: N, ru: N}, count: true}\n"
     "chart: {type: bar, measures: [x]}\n", 8, "chart measures must be a list of: n"),
    ("kind: grouped\nentity: Deal\ngroup_by: [stage]\nmeasures:\n  n: {label: {en: N, ru: N}, count: true}\n"
     "chart: {type: pie}\n", 8, "unknown chart type 'pie'"),
    ("kind: activity\nmeasures:\n  t: {label: {en: T, ru: T}, tasks: late}\n", 5, "tasks must be done or overdue"),
    ("kind: activity\nmeasures:\n  c: {label: {en: C, ru: C}, records: Deal, by: manager}\n", 5,
     "by must be owner or created_by"),
    ("kind: funnel\nentity: Deal\nstage_field: stage\n", 1, "give stages: [...], or split_by the type field"),
    ("kind: funnel\nentity: Deal\nstage_field: amount\nstages: [new]\n", 5, "stage_field must be an enum or string"),
    ("kind: grouped\nentity: Deal\nstage_field: stage\ngroup_by: [stage]\nmeasures:\n"
     "  n: {label: {en: N, ru: N}, count: true}\n", 5, "'stage_field' does not apply to a grouped report"),
    ("kind: pivot\n", 3, "kind must be one of: grouped, funnel, activity"),
    ("kind: grouped\nentity: Deal\ngroup_by: [stage]\nmeasures:\n  n: {label: {en: N}, count: true}\n", 7,
     "label is missing ru"),
    ("kind: grouped\nentity: Deal\nwhere: {field: amount, op: contains, value: 1}\ngroup_by: [stage]\nmeasures:\n"
     "  n: {label: {en: N, ru: N}, count: true}\n", 5, "where.op: 'contains' is not an operator for amount (money)"),
])
def test_mistakes_are_reported_at_their_line(shipped: dict[str, str], body: str, line: int, words: str) -> None:
    problem = only_problem(with_report(shipped, body))
    assert problem.file == PATH
    assert problem.line == line
    assert words in problem.message


def test_report_name_must_match_its_file(shipped: dict[str, str]) -> None:
    files = changed(shipped, {"crm_model/reports/other.yaml": HEAD + "kind: activity\nmeasures:\n"
                              "  t: {label: {en: T, ru: T}, tasks: done}\n"})
    problem = only_problem(files)
    assert (problem.file, problem.line) == ("crm_model/reports/other.yaml", 1)
    assert "must be in crm_model/reports/probe.yaml" in problem.message


def test_several_problems_of_one_report_are_all_reported(shipped: dict[str, str]) -> None:
    body = ("kind: grouped\nentity: Deal\ngroup_by: [colour]\nmeasures:\n  s: {label: {en: S, ru: S}, avg: stage}\n"
            "  r: {label: {en: R, ru: R}, difference: [s]}\n")
    messages = [p.message for p in problems_of(with_report(shipped, body))]
    assert len(messages) == 3
    assert any("no field 'colour'" in m for m in messages)


def test_flowcrm_check_prints_report_problems_with_file_and_line(tmp_path: Path) -> None:
    import shutil

    from click.testing import CliRunner

    import cli

    for part in ("crm_model", "forms", "processes", "templates"):
        shutil.copytree(ROOT / part, tmp_path / part)
    (tmp_path / PATH).write_text(HEAD + "kind: grouped\nentity: Deal\ngroup_by: [stage]\nmeasures:\n"
                                 "  r: {label: {en: R, ru: R}, ratio: [won, deals]}\n", encoding="utf-8")
    result = CliRunner().invoke(cli.main, ["check", str(tmp_path)])
    assert result.exit_code == 1
    assert f"{PATH}:7: [probe.measures.r] ratio needs two measures defined above it" in result.output


def test_report_where_takes_the_whole_filter_model(shipped: dict[str, str]) -> None:
    from engine.filters.model import AllOf, FieldCondition, LinkedCondition

    body = ("kind: grouped\nentity: Contact\nwhere:\n  all:\n"
            "    - {field: created_at, op: within_last_days, value: 90}\n"
            "    - {linked: {entity: Deal, via: client, aggregate: sum, field: amount, op: gt, value: 1000}}\n"
            "group_by: [owner]\nmeasures:\n  n: {label: {en: N, ru: N}, count: true}\n")
    where = load_bundle(with_report(shipped, body)).reports["probe"].where
    assert isinstance(where, AllOf)
    recent, spent = where.items
    assert isinstance(recent, FieldCondition)
    assert (recent.field.system, recent.field.type, recent.op, recent.value) == (True, "timestamp",
                                                                                  "within_last_days", 90)
    assert isinstance(spent, LinkedCondition)
    assert (spent.direction, spent.aggregate, spent.field and spent.field.name) == ("incoming", "sum", "amount")


def test_report_where_problems_carry_the_json_path_at_their_line(shipped: dict[str, str]) -> None:
    body = ("kind: grouped\nentity: Deal\ngroup_by: [stage]\nmeasures:\n  n:\n    label: {en: N, ru: N}\n"
            "    count: true\n    where:\n      any:\n        - {field: stage, op: eq, value: won}\n"
            "        - {field: amount, op: between, value: [5]}\n")
    problem = only_problem(with_report(shipped, body))
    assert (problem.file, problem.line, problem.element) == (PATH, 13, "probe")
    assert problem.message == "measures.n.where.any[1].value: must be a list of two values [from, to]"


def test_a_condition_without_op_still_loads_as_eq_with_a_deprecation_warning(shipped: dict[str, str]) -> None:
    from engine.errors import Problem
    from engine.filters.model import FieldCondition, FieldRef

    body = ("kind: grouped\nentity: Deal\nwhere: {field: stage, value: won}\ngroup_by: [stage]\nmeasures:\n"
            "  n: {label: {en: N, ru: N}, count: true}\n")
    warnings: list[Problem] = []
    report = load_bundle(with_report(shipped, body), warnings).reports["probe"]
    assert report.where == FieldCondition(FieldRef("stage", "enum"), "eq", "won")
    assert [(w.file, w.line, w.element) for w in warnings] == [(PATH, 5, "probe")]
    assert "where: a condition without op is deprecated (read as op: eq); write op: eq" in warnings[0].message
    shipped_warnings: list[Problem] = []
    load_bundle(shipped, shipped_warnings)
    assert shipped_warnings == []  # the shipped reports are written in the current syntax


def test_flowcrm_check_prints_the_deprecation_warning_with_file_and_line(tmp_path: Path) -> None:
    import shutil

    from click.testing import CliRunner

    import cli

    for part in ("crm_model", "forms", "processes", "templates"):
        shutil.copytree(ROOT / part, tmp_path / part)
    (tmp_path / PATH).write_text(HEAD + "kind: grouped\nentity: Deal\ngroup_by: [stage]\nmeasures:\n"
                                 "  won: {label: {en: W, ru: W}, count: true, where: {field: stage, value: won}}\n",
                                 encoding="utf-8")
    result = CliRunner().invoke(cli.main, ["check", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert f"warning: {PATH}:7: [probe] measures.won.where: a condition without op is deprecated" in result.output
    strict = CliRunner().invoke(cli.main, ["check", "--strict", str(tmp_path)])
    assert strict.exit_code == 1


@pytest.mark.parametrize(("where", "line", "message"), [
    ("\"stage == 'won'\"", 5, "where: must be a condition object: all, any, not, field or linked"),
    ("\n  linked: {via: product, aggregate: max, field: price}", 6,  # not old syntax: no op is not read as eq
     "where.linked.op: is required with aggregate max"),
])
def test_report_where_that_is_no_condition_is_reported_at_its_key(shipped: dict[str, str], where: str, line: int,
                                                                   message: str) -> None:
    body = (f"kind: grouped\nentity: Deal\nwhere: {where}\ngroup_by: [stage]\nmeasures:\n"
            "  n: {label: {en: N, ru: N}, count: true}\n")
    problem = only_problem(with_report(shipped, body))
    assert (problem.file, problem.line, problem.message) == (PATH, line, message)


def test_group_by_and_period_take_the_system_fields_of_the_filter_model(shipped: dict[str, str]) -> None:
    from engine.filters.model import SYSTEM_FIELDS

    body = ("kind: grouped\nentity: Contact\nperiod: updated_at\ngroup_by: [title, created_by, "
            "{field: created_at, bucket: true}]\nmeasures:\n  n: {label: {en: N, ru: N}, count: true}\n")
    report = load_bundle(with_report(shipped, body)).reports["probe"]
    assert [(d.path.field, d.path.type) for d in report.dimensions] == [
        ("title", SYSTEM_FIELDS["title"]), ("created_by", SYSTEM_FIELDS["created_by"]),
        ("created_at", SYSTEM_FIELDS["created_at"])]
    assert report.period is not None
    assert (report.period.field, report.period.type) == ("updated_at", SYSTEM_FIELDS["updated_at"])
    problem = only_problem(with_report(shipped, body.replace("[title,", "[titel,")))
    assert problem.message.endswith(", ".join(SYSTEM_FIELDS))  # the list the filter model offers
