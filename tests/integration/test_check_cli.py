"""`flowcrm check` and `flowcrm deploy` on a copy of the shipped bundle with one defect each."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select

import cli
from engine.bootstrap import uow_factory
from engine.store.models import ConfigVersionRow, ProcessVersionRow
from tests.conftest import ROOT

BPMN = "processes/lead_qualification.bpmn"
DMN = "processes/lead_rules.dmn"
LEAD_SCORE = """
  <decision id="lead_score" name="Lead score">
    <decisionTable id="DecisionTable_score">
      <input id="Input_budget" label="Budget">
        <inputExpression id="InputExpression_budget" typeRef="number"><text>budget</text></inputExpression>
      </input>
      <output id="Output_score" name="score" typeRef="string" />
      <rule id="Rule_hot">
        <inputEntry id="UnaryTests_hot"><text>{cell}</text></inputEntry>
        <outputEntry id="LiteralExpression_hot"><text>"hot"</text></outputEntry>
      </rule>
    </decisionTable>
  </decision>"""
DMN_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="Definitions_rules" name="Rules"
             namespace="http://camunda.org/schema/1.0/dmn">"""
TWO_DECISIONS = DMN_HEAD + LEAD_SCORE.format(cell="&gt; 100000") + """
  <decision id="lead_owner" name="Lead owner">
    <informationRequirement id="Requirement_rank"><requiredDecision href="#lead_rank" /></informationRequirement>
    <decisionTable id="DecisionTable_owner">
      <input id="Input_channel" label="Channel">
        <inputExpression id="InputExpression_channel" typeRef="string"><text>channel</text></inputExpression>
      </input>
      <output id="Output_owner" name="owner" typeRef="string" />
    </decisionTable>
  </decision>
</definitions>
"""


@dataclass(frozen=True)
class Defect:
    """Where a defect is expected to be reported: on the line of `marker`, or further down its start tag."""

    file: str
    marker: str
    element: str | None
    message: str


def copy_bundle(target: Path) -> Path:
    for part in ("crm_model", "forms", "processes", "templates"):
        shutil.copytree(ROOT / part, target / part)
    return target


def edit(bundle: Path, path: str, old: str, new: str) -> None:
    file = bundle / path
    text = file.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} must occur once in {path}"
    file.write_text(text.replace(old, new), encoding="utf-8")


def lines_of(bundle: Path, path: str, marker: str) -> set[int]:
    """The line of `marker` and, for a start tag wrapped over lines, the lines down to its `>`."""
    lines = (bundle / path).read_text(encoding="utf-8").splitlines()
    [first] = [n for n, line in enumerate(lines, 1) if marker in line]
    last = next(n for n in range(first, len(lines) + 1) if ">" in lines[n - 1] or not path.endswith(".bpmn"))
    return set(range(first, last + 1))


def write_decision(bundle: Path, cell: str) -> None:
    """A one-decision DMN file whose single input cell is `cell` (XML-escaped)."""
    (bundle / DMN).write_text(DMN_HEAD + LEAD_SCORE.format(cell=cell) + "\n</definitions>\n", encoding="utf-8")


def malformed_xml(bundle: Path) -> Defect:
    edit(bundle, BPMN, "<bpmn:incoming>flow_to_converted</bpmn:incoming>\n    </bpmn:endEvent>",
         "<bpmn:incoming>flow_to_converted</bpmn:incoming>\n    </bpmn:endEvnt>")
    return Defect(BPMN, "</bpmn:endEvnt>", "lead_converted", "not well-formed XML")


def schema_violation(bundle: Path) -> Defect:
    edit(bundle, BPMN, '<bpmn:sequenceFlow id="flow_to_outcome" sourceRef="qualify_lead" ',
         '<bpmn:sequenceFlow id="flow_to_outcome" ')
    return Defect(BPMN, 'id="flow_to_outcome"', "flow_to_outcome", "'sourceRef' is required")


def form_key_without_form(bundle: Path) -> Defect:
    edit(bundle, BPMN, 'camunda:formKey="arrange_meeting"', 'camunda:formKey="book_meeting"')
    return Defect(BPMN, 'id="arrange_meeting"', "arrange_meeting", "expected forms/book_meeting.json")


def set_missing_field(bundle: Path) -> Defect:
    edit(bundle, BPMN, 'name="compute.status"', 'name="compute.stage"')
    return Defect(BPMN, 'id="qualify_lead"', "qualify_lead", "compute.stage: Lead has no field 'stage'")


def unknown_entity(bundle: Path) -> Defect:
    edit(bundle, BPMN, 'name="flowcrm.entity" value="Lead"', 'name="flowcrm.entity" value="Invoice"')
    return Defect(BPMN, 'id="lead_qualification"', "lead_qualification", "flowcrm.entity 'Invoice' is not an entity")


def script_imports_os(bundle: Path) -> Defect:
    # Not connected: the sandbox refuses the script before anything looks at the flow.
    edit(bundle, BPMN, '<bpmn:endEvent id="lead_disqualified"',
         '<bpmn:scriptTask id="tidy_up" name="Tidy up" scriptFormat="python">\n'
         '      <bpmn:script>done = True\nimport os\nos.remove("x")</bpmn:script>\n'
         '    </bpmn:scriptTask>\n'
         '    <bpmn:endEvent id="lead_disqualified"')
    return Defect(BPMN, "import os", "tidy_up", "script refused: imports are not allowed")


def bad_bare_timer(bundle: Path) -> Defect:
    edit(bundle, BPMN, '>"P30D"</bpmn:timeDuration>', ">PT5Q</bpmn:timeDuration>")
    return Defect(BPMN, "PT5Q", "nurture_wait", "bpmn:timeDuration: 'PT5Q' is not an ISO 8601 duration")


def dmn_requiring_a_missing_decision(bundle: Path) -> Defect:
    (bundle / DMN).write_text(TWO_DECISIONS, encoding="utf-8")
    return Defect(DMN, '<requiredDecision href="#lead_rank"', "lead_owner",
                  "required decision 'lead_rank' is not in this file (known: lead_owner, lead_score)")


def dmn_feel_function(bundle: Path) -> Defect:
    write_decision(bundle, 'contains("VIP")')
    return Defect(DMN, 'contains("VIP")', "lead_score", "rule 1 (Rule_hot), input 1 'Budget': cell "
                  "'contains(\"VIP\")' cannot be evaluated: not FEEL (function contains() is not supported")


def dmn_cell_repeating_the_input(bundle: Path) -> Defect:
    # Would run as (budget) == (budget > 100000): no rule ever matches.
    write_decision(bundle, "budget &gt; 100000")
    return Defect(DMN, "budget &gt; 100000", "lead_score", "rule 1 (Rule_hot), input 1 'Budget': cell "
                  "'budget > 100000' cannot be evaluated: it repeats the input expression 'budget'")


def service_task(bundle: Path) -> Defect:
    edit(bundle, BPMN, '<bpmn:endEvent id="lead_disqualified"',
         '<bpmn:serviceTask id="notify_crm" name="Notify" camunda:class="com.example.Notify" />\n'
         '    <bpmn:endEvent id="lead_disqualified"')
    return Defect(BPMN, 'id="notify_crm"', "notify_crm", "bpmn:serviceTask is not supported: "
                  "camunda:class='com.example.Notify' (a Java class) cannot run here; add to processes/bindings.yaml")


def broken_yaml(bundle: Path) -> Defect:
    edit(bundle, "crm_model/entities/lead.yaml", "title_field: title\n", "title_field: title: main\n")
    return Defect("crm_model/entities/lead.yaml", "title_field:", None, "YAML syntax error")


def form_field_of_no_entity(bundle: Path) -> Defect:
    edit(bundle, "forms/qualify_lead.json", '"budget": {},', '"budget": {},\n    "urgency": {},')
    return Defect("forms/qualify_lead.json", '"urgency"', "urgency", "'urgency' is not a field of entity Lead")


def candidate_group_of_no_role_or_team(bundle: Path) -> Defect:
    edit(bundle, BPMN, 'camunda:candidateGroups="sales" camunda:dueDate="PT4H"',
         'camunda:candidateGroups="salez" camunda:dueDate="PT4H"')
    return Defect(BPMN, 'id="qualify_lead"', "qualify_lead", "'salez' is neither a role")


def rule_starting_a_missing_process(bundle: Path) -> Defect:
    edit(bundle, "crm_model/rules/territory_moscow.yaml", "start_process: contact_plan", "start_process: no_plan")
    return Defect("crm_model/rules/territory_moscow.yaml", "start_process:", "no_plan", "no such process")


DEFECTS = [malformed_xml, schema_violation, form_key_without_form, set_missing_field, unknown_entity,
           script_imports_os, bad_bare_timer, dmn_requiring_a_missing_decision, broken_yaml,
           form_field_of_no_entity, dmn_feel_function, dmn_cell_repeating_the_input, service_task,
           candidate_group_of_no_role_or_team, rule_starting_a_missing_process]


def run(*args: str) -> Result:
    return CliRunner().invoke(cli.main, list(args))


def test_shipped_bundle_passes_check(tmp_path: Path) -> None:
    result = run("check", str(copy_bundle(tmp_path)))

    assert result.exit_code == 0, result.output
    assert "OK" in result.output


def test_camunda_modeler_bundle_passes_check() -> None:
    result = run("check", str(ROOT / "tests" / "fixtures" / "camunda_bundle"))

    assert result.exit_code == 0, result.output
    assert "1 entities, 1 catalogs, 3 forms, 1 processes" in result.output


def test_camunda7_dmn_corpus_passes_check(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    shutil.copytree(ROOT / "tests" / "fixtures" / "camunda_bundle", bundle)
    for path in (ROOT / "tests" / "fixtures" / "camunda7" / "dmn").iterdir():
        shutil.copy(path, bundle / "processes" / path.name)

    result = run("check", str(bundle))

    assert result.exit_code == 0, result.output
    assert "1 entities, 1 catalogs, 3 forms, 2 processes" in result.output


@pytest.mark.parametrize("make_defect", DEFECTS, ids=lambda f: f.__name__)
def test_check_reports_the_defect_with_file_line_and_element(
        tmp_path: Path, make_defect: Callable[[Path], Defect]) -> None:
    bundle = copy_bundle(tmp_path)
    defect = make_defect(bundle)
    element = f" [{defect.element}] " if defect.element else " "

    result = run("check", str(bundle))

    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)
    [reported] = [line for line in result.output.splitlines() if defect.message in line]
    assert any(reported.startswith(f"{defect.file}:{n}:{element}")
               for n in lines_of(bundle, defect.file, defect.marker)), result.output
    assert "AttributeError" not in result.output


def count_versions(db_url: str) -> tuple[int, int]:
    factory = uow_factory(db_url)
    try:
        with factory() as uow:
            configs = uow.session.scalar(select(func.count()).select_from(ConfigVersionRow))
            processes = uow.session.scalar(select(func.count()).select_from(ProcessVersionRow))
        return configs or 0, processes or 0
    finally:
        factory.dispose()


def test_deploying_a_broken_bundle_changes_nothing(tmp_path: Path, db_url: str) -> None:
    good, broken = copy_bundle(tmp_path / "good"), copy_bundle(tmp_path / "broken")
    edit(broken, "crm_model/entities/lead.yaml", "{en: Lead, ru: Лид}", "{en: Leads, ru: Лиды}")  # a new hash...
    bad_bare_timer(broken)  # ...and one defect

    result = run("--database-url", db_url, "deploy", str(broken))
    assert result.exit_code == 1, result.output
    assert "[nurture_wait]" in result.output
    assert "Traceback" not in result.output
    assert count_versions(db_url) == (0, 0)

    assert run("--database-url", db_url, "deploy", str(good)).exit_code == 0
    deployed = count_versions(db_url)
    assert deployed == (1, len(list((good / "processes").glob("*.bpmn"))))

    result = run("--database-url", db_url, "deploy", str(broken))
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert count_versions(db_url) == deployed


def test_check_in_russian_names_the_file_line_and_field_and_stays_english_by_default(tmp_path: Path) -> None:
    bundle = copy_bundle(tmp_path)
    edit(bundle, "crm_model/entities/deal.yaml", "amount:       {type: money,", "amount:       {type: monye,")

    russian = run("check", str(bundle), "--lang", "ru")

    assert russian.exit_code == 1, russian.output
    assert ("crm_model/entities/deal.yaml:11: [Deal.amount] неизвестный тип поля 'monye'; допустимые типы: "
            "string, text") in russian.output
    english = run("check", str(bundle)).output
    assert "crm_model/entities/deal.yaml:11: [Deal.amount] unknown field type 'monye'" in english


def test_check_in_russian_prints_every_problem_of_a_broken_bundle_in_russian_at_its_place(tmp_path: Path) -> None:
    from engine.config.loader import read_bundle_dir
    from engine.messages import localized
    from tests.unit.test_config_messages_ru import BROKEN, english_left, problems_of

    bundle = copy_bundle(tmp_path)
    for case in ("rules", "yaml"):
        shutil.copytree(BROKEN / case, bundle, dirs_exist_ok=True)
    problems = problems_of(read_bundle_dir(bundle))
    assert len(problems) > 30

    russian = run("check", str(bundle), "--lang", "ru")

    assert russian.exit_code == 1, russian.output
    assert russian.output.splitlines() == [
        *(f"{p.place()} {localized(p.message, 'ru')}" for p in problems), f"найдено проблем: {len(problems)}"]
    assert [line for line in russian.output.splitlines() if english_left(line.split("] ", 1)[-1])] == []
    assert ("crm_model/rules/syntax_a.yaml:4: ошибка синтаксиса YAML в столбце 12: здесь не может быть «ключ: "
            "значение»") in russian.output
    assert ("crm_model/rules/broken_when.yaml:13: [broken_when] create_record set: поле amount — должно быть "
            "числом, например 1200.50") in russian.output
    english = run("check", str(bundle)).output.splitlines()
    assert english == [*(str(p) for p in problems), f"{len(problems)} problem(s) found"]
    assert "crm_model/rules/syntax_a.yaml:4: YAML syntax error: mapping values are not allowed here" in english
