"""Pipelines through the task services: the choices a form offers, moving a record through its stages, final
actions with their required fields, and the loop the BPMN closes on `pipeline_final`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from lxml import etree

from engine.config.automation import Action, FinalAction, Pipeline, Stage
from engine.config.model import Bundle, Form
from engine.errors import Problem, ValidationError
from engine.processes.definitions import read_process_meta
from engine.rules import dispatch
from engine.services import instances, links, pipelines, records, tasks
from engine.services.mail import record_emails
from engine.services.views import Actor, RecordView
from engine.store.uow import UnitOfWork
from tests.conftest import NOW

MakeUow = Callable[[], UnitOfWork]
FIRST_CHOICES = ["qualified", "offer_sent", "convert_to_deal", "duplicate", "disqualify"]


def open_task(make_uow: MakeUow, who: Actor, record_id: int, scope: str = "mine") -> str:
    (task_id,) = [t.id for t in tasks.list_tasks(make_uow(), who, scope) if t.record_id == record_id]
    return task_id


def lead_at_advance(make_uow: MakeUow, actors: dict[str, Actor], **data: Any) -> tuple[int, str]:
    """A web inquiry qualified and met by sam: its process waits in `advance_request` (sam's task)."""
    sam = actors["sales"]
    fields = {"title": "20 laptops", "email": "buyer@example.com", "request_type": "web_inquiry", **data}
    lead_id = records.create_record(make_uow(), actors["head"], "Lead", fields, NOW).id
    tasks.complete_task(make_uow(), sam, open_task(make_uow, sam, lead_id, "pool"),
                        {"outcome": "convert", "budget": "150000"}, NOW)
    tasks.complete_task(make_uow(), sam, open_task(make_uow, sam, lead_id), {"next_contact_on": "2026-03-05"}, NOW)
    task_id = open_task(make_uow, sam, lead_id)
    assert tasks.get_task(make_uow(), sam, task_id).task.element_id == "advance_request"
    return lead_id, task_id


def lead(make_uow: MakeUow, actor: Actor, lead_id: int) -> RecordView:
    return records.get_record(make_uow(), actor, lead_id)


def choices_of(make_uow: MakeUow, actor: Actor, task_id: str) -> dict[str, Any]:
    schema = tasks.get_task(make_uow(), actor, task_id).form_schema
    assert schema is not None
    prop: dict[str, Any] = schema["properties"]["next_step"]
    return prop


def test_the_form_offers_later_stages_then_final_actions_of_the_records_pipeline(deployed: MakeUow,
                                                                               actors: dict) -> None:
    _, task_id = lead_at_advance(deployed, actors)
    prop = choices_of(deployed, actors["sales"], task_id)
    assert prop["enum"] == FIRST_CHOICES
    assert prop["x-enum-labels"]["offer_sent"] == {"en": "Offer sent", "ru": "Предложение отправлено"}
    assert prop["x-enum-labels"]["convert_to_deal"]["ru"] == "Перевести в сделку"
    assert "description" not in prop


def test_choosing_a_stage_sets_it_runs_its_actions_and_loops_back(deployed: MakeUow, actors: dict) -> None:
    sam = actors["sales"]
    lead_id, task_id = lead_at_advance(deployed, actors)
    tasks.complete_task(deployed(), sam, task_id, {"next_step": "qualified"}, NOW)
    record = lead(deployed, sam, lead_id)
    assert record.data["request_stage"] == "qualified"
    assert record.data["status"] == "qualified"
    sources = {(c.field, c.new_value): c.source for c in records.record_history(deployed(), sam, lead_id)}
    assert sources[("request_stage", "qualified")] == "pipeline web_inquiry / stage qualified"
    again = open_task(deployed, sam, lead_id)  # pipeline_final is False: the gateway loops to the same task
    assert again != task_id
    assert choices_of(deployed, sam, again)["enum"] == FIRST_CHOICES[1:]
    completed = instances.get_instance(deployed(), sam, tasks.get_task(deployed(), sam, again).task.instance_id or 0)
    step = [s for s in completed.steps if s.kind == "task_completed"][-1]
    assert step.data == {"next_step": "qualified"}


def test_entering_the_offer_stage_queues_the_offer_email(deployed: MakeUow, actors: dict) -> None:
    sam = actors["sales"]
    lead_id, task_id = lead_at_advance(deployed, actors)
    tasks.complete_task(deployed(), sam, task_id, {"next_step": "offer_sent"}, NOW)
    (email,) = record_emails(deployed(), sam, lead_id)
    assert (email.to_address, email.status, email.template) == ("buyer@example.com", "pending", "offer_conditions")
    assert choices_of(deployed, sam, open_task(deployed, sam, lead_id))["enum"] == FIRST_CHOICES[2:]


def test_a_final_action_needs_its_fields_and_changes_nothing_without_them(deployed: MakeUow, actors: dict) -> None:
    sam = actors["sales"]
    lead_id, task_id = lead_at_advance(deployed, actors)
    before = lead(deployed, sam, lead_id)
    with pytest.raises(ValidationError) as refused:
        tasks.complete_task(deployed(), sam, task_id, {"next_step": "disqualify", "next_contact_on": "2026-04-01"},
                            NOW)
    assert list(refused.value.errors) == ["disqualify_reason"]
    assert "Disqualify" in refused.value.errors["disqualify_reason"][0]
    assert lead(deployed, sam, lead_id).data == before.data  # the form's own write was rolled back too
    assert tasks.get_task(deployed(), sam, task_id).task.state == "open"


def test_a_final_action_runs_its_actions_and_ends_the_process(deployed: MakeUow, actors: dict) -> None:
    sam = actors["sales"]
    lead_id, task_id = lead_at_advance(deployed, actors)
    tasks.complete_task(deployed(), sam, task_id, {"next_step": "convert_to_deal"}, NOW)
    assert lead(deployed, sam, lead_id).data["request_stage"] == "won"
    (origin,) = links.record_links(deployed(), sam, lead_id).incoming
    assert (origin.entity, origin.kind, origin.title) == ("Deal", "origin", "20 laptops")
    deal = records.get_record(deployed(), sam, origin.record_id)
    assert deal.data["amount"] == "150000"
    (instance,) = instances.instances_for_record(deployed(), sam, lead_id)
    assert instance.status == "completed"  # pipeline_final = True took the "closed" branch
    assert [t for t in tasks.list_tasks(deployed(), sam, "mine") if t.record_id == lead_id] == []


def test_final_action_with_its_field_in_the_same_form(deployed: MakeUow, actors: dict) -> None:
    sam = actors["sales"]
    lead_id, task_id = lead_at_advance(deployed, actors)
    tasks.complete_task(deployed(), sam, task_id, {"next_step": "disqualify", "disqualify_reason": "no_budget"}, NOW)
    record = lead(deployed, sam, lead_id)
    assert (record.data["request_stage"], record.data["status"]) == ("lost", "disqualified")


@pytest.mark.parametrize("choice", ["new", "won", "nonsense"])
def test_a_value_the_form_did_not_offer_is_refused(deployed: MakeUow, actors: dict, choice: str) -> None:
    _, task_id = lead_at_advance(deployed, actors)
    with pytest.raises(ValidationError) as refused:
        tasks.complete_task(deployed(), actors["sales"], task_id, {"next_step": choice}, NOW)
    assert list(refused.value.errors) == ["next_step"]


def test_rules_hear_about_the_fields_a_task_wrote(deployed: MakeUow, actors: dict,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    heard: list[tuple[int, set[str], bool]] = []
    real = dispatch.on_record_written

    def spy(uow: UnitOfWork, record: Any, changed: Any, created: bool, *args: Any, **kwargs: Any) -> None:
        heard.append((record.id, set(changed), created))
        real(uow, record, changed, created, *args, **kwargs)

    monkeypatch.setattr(dispatch, "on_record_written", spy)
    sam = actors["sales"]
    lead_id, task_id = lead_at_advance(deployed, actors)
    heard.clear()
    tasks.complete_task(deployed(), sam, task_id, {"next_step": "qualified", "next_contact_on": "2026-05-01"}, NOW)
    assert (lead_id, {"next_contact_on", "request_stage"}, False) in heard


def test_a_lead_without_a_matching_pipeline_gets_an_empty_choice_with_a_reason(deployed: MakeUow,
                                                                             actors: dict) -> None:
    sam = actors["sales"]
    lead_id, task_id = lead_at_advance(deployed, actors)
    uow = deployed()
    with uow:  # a type with no pipeline file, as after a configuration change
        row = uow.records.get(lead_id)
        assert row is not None
        row.data = {**row.data, "request_type": "unknown_type"}
        uow.commit()
    prop = choices_of(deployed, sam, task_id)
    assert prop["enum"] == []
    assert prop["description"] == "no pipeline matches this record's type (request_type = unknown_type)"
    with pytest.raises(ValidationError) as refused:
        tasks.complete_task(deployed(), sam, task_id, {"next_step": "qualified"}, NOW)
    assert refused.value.errors["next_step"] == [prop["description"]]


# Pure functions, on hand-built configuration.

PIPELINE = Pipeline(
    code="repair", label={"en": "Repair", "ru": "Ремонт"}, entity="Ticket", type_field="kind", stage_field="stage",
    stages=(Stage("received", {"en": "Received"}), Stage("diagnosed", {"en": "Diagnosed"}),
            Stage("fixed", {"en": "Fixed"}, on_enter=(Action("set", {"status": "done"}),)),
            Stage("closed", {"en": "Closed"}, final=True)),
    final_actions=(FinalAction("scrap", {"en": "Scrap it", "ru": "Списать"}, requires=("reason",)),))
BUNDLE = Bundle(files={}, pipelines={"repair": PIPELINE})


class Ticket:
    entity = "Ticket"

    def __init__(self, **data: Any) -> None:
        self.data = data


def test_choices_are_later_non_final_stages_then_final_actions_in_the_locale() -> None:
    assert pipelines.pipeline_choices(BUNDLE, Ticket(kind="repair", stage="diagnosed"), "ru") == \
        [("fixed", "Fixed"), ("scrap", "Списать")]
    assert [c for c, _ in pipelines.pipeline_choices(BUNDLE, Ticket(kind="repair"), "en")] == \
        ["received", "diagnosed", "fixed", "scrap"]
    assert pipelines.pipeline_choices(BUNDLE, Ticket(kind="other"), "en") == []


def test_only_the_marked_property_of_a_form_is_filled() -> None:
    form = Form("t", {"type": "object", "properties": {"next": {"x-options": "pipeline", "x-variable": True},
                                                       "note": {"type": "string"}}}, {}, "Ticket")
    filled = pipelines.form_with_choices(form, BUNDLE, Ticket(kind="repair", stage="fixed"))
    assert filled.schema["properties"]["next"]["enum"] == ["scrap"]
    assert filled.schema["properties"]["next"]["x-enum-labels"] == {"scrap": {"en": "Scrap it", "ru": "Списать"}}
    assert filled.schema["properties"]["note"] == {"type": "string"}
    assert "enum" not in form.schema["properties"]["next"]  # the deployed form is not touched
    plain = Form("p", {"type": "object", "properties": {"note": {"type": "string"}}}, {}, "Ticket")
    assert pipelines.form_with_choices(plain, BUNDLE, Ticket(kind="repair")) is plain
    empty = pipelines.form_with_choices(form, Bundle(files={}), Ticket(kind="repair"))
    assert empty.schema["properties"]["next"]["x-message"] == "no pipeline is configured for Ticket"


def test_the_advance_property_is_read_from_the_deployed_bpmn() -> None:
    xml = """<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
        xmlns:camunda="http://camunda.org/schema/1.0/bpmn"><bpmn:process id="p">
      <bpmn:userTask id="move"><bpmn:extensionElements><camunda:properties>
        <camunda:property name="flowcrm.pipeline" value="advance" /></camunda:properties></bpmn:extensionElements>
      </bpmn:userTask><bpmn:userTask id="other" /></bpmn:process></bpmn:definitions>"""
    problems: list[Problem] = []
    elements = read_process_meta(etree.fromstring(xml.encode()), "p.bpmn", problems)["p"]["elements"]
    assert problems == []
    assert pipelines.element_property(elements["move"], "flowcrm.pipeline") == "advance"
    assert pipelines.element_property(elements["other"], "flowcrm.pipeline") is None
