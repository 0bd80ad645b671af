"""Loading and checking pipelines and e-mail templates (docs/rules.md); rules are in test_rule_loader.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config.automation import automation_references
from engine.config.loader import load_bundle, read_bundle_dir
from engine.config.yaml_lines import load_yaml
from engine.errors import ConfigError
from tests.unit.bundle_helpers import changed, only_problem, problems_of

ROOT = Path(__file__).parents[2]
PIPELINE_FILE = "crm_model/pipelines/web.yaml"
RULE_FILE = "crm_model/rules/count_parts.yaml"

KIND = """\
catalog: kind
label: {en: Kind, ru: Вид}
values:
  - {code: web, label: {en: Web, ru: Сайт}}
  - {code: phone, label: {en: Phone, ru: Телефон}}
"""
ITEM = """\
entity: Item
label: {en: Item, ru: Предмет}
title_field: name
fields:
  name: {type: string, required: true, label: {en: Name, ru: Название}}
  email: {type: email, label: {en: Email, ru: Почта}}
  kind: {type: enum, catalog: kind, label: {en: Kind, ru: Вид}}
  stage: {type: string, label: {en: Stage, ru: Этап}}
  status: {type: string, label: {en: Status, ru: Статус}}
  budget: {type: money, label: {en: Budget, ru: Бюджет}}
"""
PART = """\
entity: Part
label: {en: Part, ru: Часть}
title_field: title
fields:
  title: {type: string, required: true, label: {en: Title, ru: Название}}
  item: {type: reference, entity: Item, label: {en: Item, ru: Предмет}}
  amount: {type: money, label: {en: Amount, ru: Сумма}}
  made_on: {type: date, label: {en: Made on, ru: Дата}}
  state: {type: string, label: {en: State, ru: Состояние}}
"""
TERRITORY = """\
entity: Territory
label: {en: Territory, ru: Территория}
title_field: code
fields:
  code: {type: string, required: true, label: {en: Code, ru: Код}}
  manager: {type: user, label: {en: Manager, ru: Менеджер}}
"""
PIPELINE = """\
pipeline: web
label: {en: Web, ru: Сайт}
entity: Item
type_field: kind
stage_field: stage
stages:
  - {code: new, label: {en: New, ru: Новая}}
  - code: offered
    label: {en: Offered, ru: Предложение}
    on_enter:
      - send_email: {template: hello, to: email}
      - create_task: {title: {en: Call, ru: Позвонить}, assignee: owner, due: P2D}
  - {code: won, label: {en: Won, ru: Успех}, final: true}
  - {code: lost, label: {en: Lost, ru: Потеря}, final: true}
final_actions:
  - code: convert
    label: {en: Convert, ru: Перевести}
    requires: [budget]
    actions:
      - create_record: {entity: Part, set: {state: open}, compute: {title: "name", amount: "budget"}, link: origin}
      - set: {stage: won}
      - start_process: part_flow
"""
RULE = """\
rule: count_parts
label: {en: Count parts, ru: Считать части}
entity: Item
on:
  - created
  - changed: [budget]
  - linked_changed: {entity: Part, via: item, fields: [state]}
  - linked_created: {entity: Part, via: item}
  - schedule: P1D
let:
  parts: {count: Part, via: item, where: "state == 'open'"}
  total: {sum: amount, of: Part, via: item}
  last_on: {max: made_on, of: Part, via: item}
when: "parts >= 1 and total > 0 and linked['state'] != 'x' and days_since(last_on) < 30"
actions:
  - compute: {status: "upper(name) if owner else lower(name)"}
  - join_territory: north
else:
  - leave_territory: north
"""
HELLO_EN = "Subject: Hello {{ name }}\nDear {{ name }},\n{% if budget %}Budget: {{ budget }}{% endif %}\n"
HELLO_RU = "Subject: Здравствуйте, {{ name }}\nУважаемый {{ name }}!\n"


def files_with(changes: dict[str, str | None] | None = None) -> dict[str, str]:
    """A small valid bundle with pipelines, rules and templates; some files replaced, added or (None) removed."""
    return changed({
        "crm_model/catalogs/kind.yaml": KIND,
        "crm_model/entities/item.yaml": ITEM,
        "crm_model/entities/part.yaml": PART,
        "crm_model/entities/territory.yaml": TERRITORY,
        PIPELINE_FILE: PIPELINE,
        RULE_FILE: RULE,
        "templates/hello.en.txt": HELLO_EN,
        "templates/hello.ru.txt": HELLO_RU,
    }, changes)


# --- the valid bundle -------------------------------------------------------------------------------------------


def test_pipeline_is_loaded_into_a_typed_model() -> None:
    pipeline = load_bundle(files_with()).pipelines["web"]
    assert (pipeline.entity, pipeline.type_field, pipeline.stage_field) == ("Item", "kind", "stage")
    assert [s.code for s in pipeline.stages] == ["new", "offered", "won", "lost"]
    assert [s.code for s in pipeline.stages if s.final] == ["won", "lost"]
    offered = pipeline.stage("offered")
    assert offered is not None
    assert [(a.kind, a.file, a.line) for a in offered.on_enter] == [
        ("send_email", PIPELINE_FILE, 11),
        ("create_task", PIPELINE_FILE, 12),
    ]
    convert = pipeline.final_action("convert")
    assert convert is not None
    assert convert.requires == ("budget",)
    assert convert.actions[0].args == {
        "entity": "Part",
        "set": {"state": "open"},
        "compute": {"title": "name", "amount": "budget"},
        "link": "origin",
    }
    assert pipeline.next_choices("new") == ("offered", "convert")


def test_templates_are_loaded_per_locale() -> None:
    template = load_bundle(files_with()).templates["hello"]
    assert template.bodies == {"en": HELLO_EN, "ru": HELLO_RU}


def test_automation_references_list_process_ids_and_territory_codes() -> None:
    assert automation_references(load_bundle(files_with())) == [
        ("territory", RULE_FILE, 17, "north"),
        ("territory", RULE_FILE, 19, "north"),
        ("process", PIPELINE_FILE, 22, "part_flow"),
    ]


def test_read_bundle_dir_reads_templates_pipelines_and_rules(tmp_path: Path) -> None:
    for path, text in files_with().items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text, encoding="utf-8")
    (tmp_path / "templates" / "notes.md").write_text("not a template", encoding="utf-8")
    files = read_bundle_dir(tmp_path)
    assert files == dict(sorted(files_with().items()))


def test_shipped_bundles_load_with_their_automation() -> None:
    for root in (ROOT, *sorted((ROOT / "examples").glob("*"))):
        if (root / "crm_model").is_dir():
            load_bundle(read_bundle_dir(root))


def test_bare_on_key_is_read_as_the_word_not_a_boolean() -> None:
    data = load_yaml("on: [created]\nvalue: on\nitems:\n  - a\n  - b\n", "x.yaml")
    assert data == {"on": ["created"], "value": True, "items": ["a", "b"]}
    assert data["items"].item_lines == [4, 5]


# --- pipelines --------------------------------------------------------------------------------------------------


def test_pipeline_must_be_in_the_file_named_after_it() -> None:
    problem = only_problem(files_with({PIPELINE_FILE: None, "crm_model/pipelines/other.yaml": PIPELINE}))
    assert (problem.file, problem.line, problem.element) == ("crm_model/pipelines/other.yaml", 1, "web")
    assert "crm_model/pipelines/web.yaml" in problem.message


def test_pipeline_code_must_be_a_code_of_the_type_catalog() -> None:
    text = PIPELINE.replace("pipeline: web", "pipeline: mail")
    problem = only_problem(files_with({PIPELINE_FILE: None, "crm_model/pipelines/mail.yaml": text}))
    assert (problem.file, problem.line, problem.element) == ("crm_model/pipelines/mail.yaml", 1, "mail")
    assert "must be a code of catalog kind" in problem.message


@pytest.mark.parametrize(
    ("old", "new", "line", "element", "words"),
    [
        ("entity: Item", "entity: Thing", 3, "web", "unknown entity 'Thing'"),
        ("type_field: kind", "type_field: stage", 4, "web", "type_field 'stage' must be a field of Item of type enum"),
        ("stage_field: stage", "stage_field: budget", 5, "web", "of type string or enum"),
        ("{code: lost, label", "{code: won, label", 14, "web.won", "duplicate code 'won'"),
        ("code: convert", "code: won", 16, "web.won", "duplicate code 'won'"),
        ("requires: [budget]", "requires: [budgett]", 18, "web.convert", "'budgett' is not a field of Item"),
        ("- set: {stage: won}", "- sett: {stage: won}", 21, "web.convert", "unknown action 'sett'"),
        ("- set: {stage: won}", "- set: {stge: won}", 21, "web.convert", "set: stge is not a field of Item"),
        ("- set: {stage: won}", "- set: {kind: mail}", 21, "web.convert", "set: kind must be one of: web, phone"),
        ("- set: {stage: won}", "- set: {name: ''}", 21, "web.convert", "set: name is required"),
        ("- set: {stage: won}", "- set: {stage: wonn}", 21, "web", "set: 'wonn' is not a stage of pipeline web"),
        ("template: hello", "template: bye", 11, "web.offered", "unknown template 'bye'"),
        ("to: email", "to: name", 11, "web.offered", "to: 'name' must be an email field of Item"),
        ("assignee: owner, ", "", 12, "web.offered", "needs an assignee (owner or a username) or candidate_groups"),
        ("assignee: owner", "assignee: Big Boss", 12, "web.offered", "assignee must be owner or a username"),
        ("due: P2D", "due: 2 days", 12, "web.offered", "'2 days' is not an ISO 8601 duration"),
        ("{en: Call, ru: Позвонить}", "{en: Call}", 12, "web.offered", "label is missing ru"),
        ("{entity: Part,", "{entity: Parts,", 20, "web.convert", "create_record: unknown entity 'Parts'"),
        ('{title: "name", amount', "{amount", 20, "web.convert", "must set its required fields: title"),
        ('{title: "name"', '{title: "nam"', 20, "web.convert", "unknown name 'nam'"),
        ('{title: "name"', '{titel: "name"', 20, "web.convert", "compute: titel is not a field of Part"),
        ("set: {state: open}", "set: {made_on: soon}", 20, "web.convert", "create_record set: made_on must be a date"),
        ("link: origin", "link: parent", 20, "web.convert", "link must be origin"),
        ("start_process: part_flow", "start_process: part flow", 22, "web.convert", "needs a process id"),
        ("    actions:\n      - create_record", "    acts:\n      - create_record", 16, "web.convert", "needs actions"),
    ],
)
def test_pipeline_problem_is_located(old: str, new: str, line: int, element: str, words: str) -> None:
    assert old in PIPELINE
    problems = problems_of(files_with({PIPELINE_FILE: PIPELINE.replace(old, new)}))
    assert {p.file for p in problems} == {PIPELINE_FILE}
    assert any(
        (p.file, p.line, p.element) == (PIPELINE_FILE, line, element) and words in p.message for p in problems
    ), problems


def test_pipeline_needs_a_final_stage() -> None:
    problem = only_problem(files_with({PIPELINE_FILE: PIPELINE.replace(", final: true}", "}")}))
    assert (problem.file, problem.line, problem.element) == (PIPELINE_FILE, 6, "web")
    assert "at least one stage must be final" in problem.message


def test_pipeline_stage_must_be_a_code_of_an_enum_stage_field() -> None:
    item = ITEM.replace("stage: {type: string,", "stage: {type: enum, catalog: kind,")
    problems = problems_of(files_with({"crm_model/entities/item.yaml": item}))
    assert {(p.line, p.element) for p in problems} == {
        (7, "web.new"),
        (8, "web.offered"),
        (13, "web.won"),
        (14, "web.lost"),
        (21, "web.convert"),
    }
    assert "stage 'new' is not a code of catalog kind" in problems[0].message


def test_send_email_needs_the_template_in_every_locale() -> None:
    problem = only_problem(files_with({"templates/hello.ru.txt": None}))
    assert (problem.file, problem.line, problem.element) == (PIPELINE_FILE, 11, "web.offered")
    assert "template 'hello' is missing templates/hello.ru.txt" in problem.message


# --- templates --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "text", "line", "element", "words"),
    [
        ("templates/hello.en.txt", "Hello {{ name }}\n", 1, "hello", "first line must be the subject"),
        ("templates/hello.en.txt", "Subject:  \nHi\n", 1, "hello", "first line must be the subject"),
        ("templates/hello.en.txt", "Subject: Hi\n\n{% if name %}\nno end\n", 3, "hello", "Jinja2 syntax error"),
        ("templates/hello.en.txt", "Subject: Hi {{ name \n", 1, "hello", "Jinja2 syntax error"),
        ("templates/hello.de.txt", HELLO_EN, None, "hello", "locale 'de' is not one of the locales: en, ru"),
        ("templates/Hello.en.txt", HELLO_EN, None, "Hello", "templates/<name>.<locale>.txt"),
        ("templates/hello.html", "<p>", None, None, "unexpected file"),
    ],
)
def test_template_problem_is_located(path: str, text: str, line: int | None, element: str | None, words: str) -> None:
    problem = only_problem(files_with({path: text}))
    assert (problem.file, problem.line, problem.element) == (path, line, element)
    assert words in problem.message


# --- shared final actions ---------------------------------------------------------------------------------------

SHARED = """\
final_action: drop
label: {en: Drop, ru: Отказ}
entity: Item
requires: [status]
actions:
  - set: {stage: lost}
"""
SHARED_FILE = "crm_model/final_actions/drop.yaml"


def test_a_shared_final_action_is_defined_once_and_listed_by_code() -> None:
    with_shared = PIPELINE.replace("final_actions:\n", "final_actions:\n  - drop\n")
    pipeline = load_bundle(files_with({SHARED_FILE: SHARED, PIPELINE_FILE: with_shared})).pipelines["web"]
    assert [final.code for final in pipeline.final_actions] == ["drop", "convert"]
    drop = pipeline.final_action("drop")
    assert drop is not None
    assert (drop.requires, drop.file, drop.actions[0].file, drop.actions[0].line) == (
        ("status",), SHARED_FILE, SHARED_FILE, 6)
    assert pipeline.next_choices("new") == ("offered", "drop", "convert")


@pytest.mark.parametrize(("pipeline", "shared", "file", "line", "words"), [
    ("final_actions:\n  - dropp\n", SHARED, PIPELINE_FILE, 16,
     "unknown final action 'dropp': no crm_model/final_actions/dropp.yaml (shared: drop)"),
    ("final_actions:\n  - drop\n  - drop\n", SHARED, PIPELINE_FILE, 17, "duplicate code 'drop'"),
    ("final_actions:\n  - drop\n", SHARED.replace("entity: Item", "entity: Part"), PIPELINE_FILE, 16,
     "final action 'drop' is for Part, not Item"),
    ("final_actions:\n  - drop\n", SHARED.replace("stage: lost", "colour: lost"), SHARED_FILE, 6,
     "set: colour is not a field of Item"),
])
def test_shared_final_action_problems_are_located(pipeline: str, shared: str, file: str, line: int,
                                                  words: str) -> None:
    files = files_with({SHARED_FILE: shared, PIPELINE_FILE: PIPELINE.replace("final_actions:\n", pipeline)})
    with pytest.raises(ConfigError) as caught:
        load_bundle(files)
    assert any(p.file == file and p.line == line and words in p.message for p in caught.value.problems), \
        caught.value.problems


def test_every_shipped_request_pipeline_converts_with_the_campaign() -> None:
    bundle = load_bundle(read_bundle_dir(ROOT))
    converts = [pipeline.final_action("convert_to_deal") for pipeline in bundle.pipelines.values()]
    assert len(converts) == 3
    assert all(c is not None and c.file == "crm_model/final_actions/convert_to_deal.yaml" for c in converts)
    assert all(c.actions[0].args["compute"]["campaign"] == "campaign" for c in converts if c is not None)
