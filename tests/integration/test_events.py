"""Inbound events: a web form creates a record and starts its processes; a reply correlates to the instances
waiting for a BPMN message (catch event or receive task); refused events are kept with their reason."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine.errors import ConflictError, FlowError, Forbidden, NotFound, ValidationError
from engine.services import events, instances, records
from engine.services.deployments import deploy_bundle
from engine.services.views import Actor
from engine.store.models import InboundEventRow
from engine.store.uow import UnitOfWork
from tests.conftest import NOW

MakeUow = Callable[[], UnitOfWork]
SETUP = Actor(id=None, username="setup", display_name="setup", roles=frozenset({"designer"}))
# A test-only process: no shipped process waits for a message yet (the process owners may add one).
FOLLOWUP_BPMN = (Path(__file__).parent / "events_followup.bpmn").read_text(encoding="utf-8")
EVENTS_YAML = """\
events:
  web_form_submitted:
    start:
      entity: Lead
      fields: {title: data.subject, contact_name: data.name, email: data.email, description: data.message}
  client_replied:
    correlate: {message: client_reply, business_key: record_id}
  reply_by_email:
    correlate: {message: client_reply, business_key: email}
  count_sent:
    correlate: {message: reply_count}
  quick_lead:
    start: {entity: Lead, fields: {title: data.subject, email: business_key}, process: client_followup}
"""
FORM = {"subject": "Need 20 licences", "name": "Ann", "email": "ann@example.com", "message": "Call me"}


@pytest.fixture
def people(make_uow: MakeUow, bundle_files: dict[str, str], actors: dict[str, Actor]) -> dict[str, Actor]:
    files = {**bundle_files, "processes/events_followup.bpmn": FOLLOWUP_BPMN, "crm_model/events.yaml": EVENTS_YAML}
    deploy_bundle(make_uow(), SETUP, files, NOW)
    return actors


def logged(make_uow: MakeUow) -> list[InboundEventRow]:
    uow = make_uow()
    with uow:
        rows = uow.events.recent()
        uow.session.expunge_all()
        return rows


def waits(make_uow: MakeUow, instance_id: int) -> list[str]:
    uow = make_uow()
    with uow:
        return [w.message for w in uow.events.waits_for_instance(instance_id)]


def ready_data(make_uow: MakeUow, instance_id: int) -> dict[str, Any]:
    uow = make_uow()
    with uow:
        [task] = instances.load_runtime(uow, instance_id)[2].ready_user_tasks()
        return task.data


def new_lead(make_uow: MakeUow, actor: Actor, **data: Any) -> int:
    return records.create_record(make_uow(), actor, "Lead", {"title": "Acme", **data}, NOW, owner_id=actor.id).id


def start(make_uow: MakeUow, actor: Actor, process_id: str, record_id: int) -> int:
    return instances.start_process(make_uow(), actor, process_id, record_id, NOW).id


def test_web_form_creates_a_record_and_starts_processes_that_start_on_create(
    make_uow: MakeUow, people: dict[str, Actor]
) -> None:
    view = events.receive_event(make_uow(), people["designer"], "web_form_submitted", None, FORM, NOW)

    assert view.outcome == "started"
    assert view.record_id is not None
    record = records.get_record(make_uow(), people["admin"], view.record_id)
    assert (record.title, record.data["email"]) == (FORM["subject"], FORM["email"])
    assert record.data["description"] == "Call me"
    started = instances.instances_for_record(make_uow(), people["admin"], view.record_id)
    assert [i.process_id for i in started] == ["lead_qualification"]
    assert view.instance_ids == [started[0].id]
    [row] = logged(make_uow)
    assert (row.name, row.outcome, row.source, row.payload["data"]) == ("web_form_submitted", "started", "dina", FORM)


def test_a_start_event_may_name_its_process(make_uow: MakeUow, people: dict[str, Actor]) -> None:
    view = events.receive_event(make_uow(), people["admin"], "quick_lead", "bob@example.com", {"subject": "Hi"}, NOW)

    assert view.record_id is not None
    assert records.get_record(make_uow(), people["admin"], view.record_id).data["email"] == "bob@example.com"
    started = instances.instances_for_record(make_uow(), people["admin"], view.record_id)
    assert [i.process_id for i in started] == ["client_followup"]
    assert waits(make_uow, started[0].id) == ["client_reply"]


def test_invalid_payload_is_refused_per_payload_path_and_logged(make_uow: MakeUow, people: dict[str, Actor]) -> None:
    with pytest.raises(ValidationError) as caught:
        events.receive_event(make_uow(), people["admin"], "web_form_submitted", None, {"email": "not-mail"}, NOW)

    assert set(caught.value.errors) == {"data.subject", "data.email"}
    assert records.list_records(make_uow(), people["admin"], "Lead") == []
    [row] = logged(make_uow)
    assert (row.outcome, row.instance_id) == ("rejected", None)
    assert row.detail is not None
    assert row.detail.startswith("ValidationError: ")


def test_unknown_event_is_not_found_and_logged(make_uow: MakeUow, people: dict[str, Actor]) -> None:
    with pytest.raises(NotFound, match="unknown event 'invoice_paid'"):
        events.receive_event(make_uow(), people["admin"], "invoice_paid", "7", {}, NOW)

    [row] = logged(make_uow)
    assert (row.name, row.outcome, row.business_key) == ("invoice_paid", "rejected", "7")


def test_auditors_may_not_post_events(make_uow: MakeUow, people: dict[str, Actor]) -> None:
    with pytest.raises(Forbidden):
        events.receive_event(make_uow(), people["auditor"], "web_form_submitted", None, FORM, NOW)
    assert [r.outcome for r in logged(make_uow)] == ["rejected"]


def test_reply_correlates_by_record_id_and_lands_in_task_data(make_uow: MakeUow, people: dict[str, Actor]) -> None:
    sam = people["sales"]
    lead = new_lead(make_uow, sam)
    waiting = start(make_uow, sam, "client_followup", lead)
    other = start(make_uow, sam, "client_followup", new_lead(make_uow, sam))
    assert waits(make_uow, waiting) == ["client_reply"]

    view = events.receive_event(make_uow(), people["admin"], "client_replied", str(lead), {"reply": "yes"}, NOW)

    assert (view.outcome, view.instance_ids, view.record_id) == ("correlated", [waiting], lead)
    assert waits(make_uow, waiting) == []
    assert waits(make_uow, other) == ["client_reply"]
    assert ready_data(make_uow, waiting)["reply"] == "yes"
    detail = instances.get_instance(make_uow(), people["admin"], waiting)
    assert [t.title for t in detail.tasks] == ["Answer the client"]
    assert "message_received" in [s.kind for s in detail.steps]
    [row] = logged(make_uow)
    assert (row.outcome, row.instance_id) == ("correlated", waiting)


def test_reply_correlates_by_a_record_field_to_catch_events_and_receive_tasks(
    make_uow: MakeUow, people: dict[str, Actor]
) -> None:
    sam = people["sales"]
    lead = new_lead(make_uow, sam, email="ann@example.com")
    catcher = start(make_uow, sam, "client_followup", lead)
    receiver = start(make_uow, sam, "reply_receiver", lead)
    start(make_uow, sam, "client_followup", new_lead(make_uow, sam, email="bob@example.com"))

    view = events.receive_event(make_uow(), sam, "reply_by_email", "ann@example.com", {"reply": "no"}, NOW)

    assert sorted(view.instance_ids) == sorted([catcher, receiver])
    assert instances.get_instance(make_uow(), people["admin"], receiver).instance.status == "completed"
    assert ready_data(make_uow, catcher)["reply"] == "no"


def test_a_reply_interrupts_a_task_with_a_message_boundary_event(make_uow: MakeUow, people: dict[str, Actor]) -> None:
    sam = people["sales"]
    lead = new_lead(make_uow, sam)
    waiting = start(make_uow, sam, "call_or_reply", lead)
    assert waits(make_uow, waiting) == ["client_reply"]

    events.receive_event(make_uow(), sam, "client_replied", str(lead), {"reply": "busy"}, NOW)

    detail = instances.get_instance(make_uow(), people["admin"], waiting)
    assert detail.instance.status == "completed"
    assert [(t.title, t.state) for t in detail.tasks] == [("Call the client", "cancelled")]
    assert waits(make_uow, waiting) == []


def test_an_event_based_gateway_waits_for_each_of_its_messages_and_its_timer_and_the_first_wins(
    make_uow: MakeUow, people: dict[str, Actor]
) -> None:
    sam = people["sales"]
    lead = new_lead(make_uow, sam)
    waiting = start(make_uow, sam, "reply_or_count", lead)
    assert sorted(waits(make_uow, waiting)) == ["client_reply", "reply_count"]
    uow = make_uow()
    with uow:
        assert [t.element_id for t in uow.timers.pending_for_instance(waiting)] == ["g_late"]

    events.receive_event(make_uow(), sam, "client_replied", str(lead), {"reply": "yes"}, NOW)

    detail = instances.get_instance(make_uow(), people["admin"], waiting)
    assert detail.instance.status == "completed"
    assert "g_end_reply" in [s.element_id for s in detail.steps]
    assert waits(make_uow, waiting) == []
    uow = make_uow()
    with uow:
        assert uow.timers.pending_for_instance(waiting) == []


def test_a_reply_starts_an_interrupting_event_subprocess_and_cancels_the_open_task(
    make_uow: MakeUow, people: dict[str, Actor]
) -> None:
    sam = people["sales"]
    lead = new_lead(make_uow, sam)
    waiting = start(make_uow, sam, "call_until_reply", lead)
    assert waits(make_uow, waiting) == ["client_reply"]

    events.receive_event(make_uow(), sam, "client_replied", str(lead), {"reply": "call me later"}, NOW)

    detail = instances.get_instance(make_uow(), people["admin"], waiting)
    assert [(t.title, t.state) for t in detail.tasks] == [("Call the client", "cancelled"), ("Read the reply", "open")]
    assert ready_data(make_uow, waiting)["reply"] == "call me later"
    assert waits(make_uow, waiting) == []


def test_nothing_waiting_is_a_conflict_and_logged(make_uow: MakeUow, people: dict[str, Actor]) -> None:
    lead = new_lead(make_uow, people["sales"])
    start(make_uow, people["sales"], "client_followup", lead)
    events.receive_event(make_uow(), people["admin"], "client_replied", str(lead), {}, NOW)

    with pytest.raises(ConflictError, match="nothing waits for message 'client_reply'"):
        events.receive_event(make_uow(), people["admin"], "client_replied", str(lead), {}, NOW)
    with pytest.raises(ValidationError, match="send business_key"):
        events.receive_event(make_uow(), people["admin"], "client_replied", None, {}, NOW)

    assert [r.outcome for r in logged(make_uow)] == ["rejected", "rejected", "correlated"]


def test_a_delivery_that_fails_downstream_writes_nothing_but_its_log_row(
    make_uow: MakeUow, people: dict[str, Actor]
) -> None:
    lead = new_lead(make_uow, people["sales"])
    waiting = start(make_uow, people["sales"], "reply_counter", lead)
    steps_before = len(instances.get_instance(make_uow(), people["admin"], waiting).steps)

    with pytest.raises(FlowError, match="parse"):  # int("many") fails in the script after the catch
        events.receive_event(make_uow(), people["admin"], "count_sent", str(lead), {"count": "many"}, NOW)

    detail = instances.get_instance(make_uow(), people["admin"], waiting)
    assert (detail.instance.status, len(detail.steps)) == ("running", steps_before)
    assert waits(make_uow, waiting) == ["reply_count"]
    [row] = logged(make_uow)
    assert row.outcome == "rejected"
    view = events.receive_event(make_uow(), people["admin"], "count_sent", str(lead), {"count": "3"}, NOW)
    assert view.instance_ids == [waiting]
    assert instances.get_instance(make_uow(), people["admin"], waiting).instance.status == "completed"
