"""The shipped configuration's routing and inbound events: "Qualify lead" routed by processes/lead_routing.dmn
(partner referrals to the Moscow team's pool, every other lead to the sellers' pool), and a deal waiting on
"Confirm the payment" completed by the inbound event invoice_paid (crm_model/events.yaml)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from engine.config.loader import load_bundle, read_bundle_dir
from engine.errors import ConflictError
from engine.services import events, instances, records, tasks
from engine.services.users import create_user, get_actor
from engine.services.views import Actor, TaskView
from engine.store.uow import UnitOfWork
from tests.conftest import NOW, PASSWORD, ROOT
from tests.integration.test_sales_processes import approve, complete, new_deal, stage, the_task

MakeUow = Callable[[], UnitOfWork]
Actors = dict[str, Actor]


def moscow_seller(make_uow: MakeUow) -> Actor:
    view = create_user(make_uow(), "mila", PASSWORD, ["sales"], NOW, team="moscow")
    return get_actor(make_uow(), view.id)


def pooled(make_uow: MakeUow, actor: Actor, record_id: int) -> list[TaskView]:
    return [t for t in tasks.list_tasks(make_uow(), actor, "pool") if t.record_id == record_id]


def new_lead(make_uow: MakeUow, actor: Actor, **data: str) -> int:
    return records.create_record(make_uow(), actor, "Lead", {"title": "40 laptops", **data}, NOW).id


def assigned_events(make_uow: MakeUow, actors: Actors, record_id: int) -> list[dict]:
    [instance] = instances.instances_for_record(make_uow(), actors["admin"], record_id)
    detail = instances.get_instance(make_uow(), actors["auditor"], instance.id)
    return [dict(s.data or {}) for s in detail.steps if s.kind == "assigned"]


# --- lead routing -------------------------------------------------------------------------------------------


def test_a_partner_referral_is_qualified_by_the_moscow_team(deployed: MakeUow, actors: Actors) -> None:
    mila, sam = moscow_seller(deployed), actors["sales"]
    lead = new_lead(deployed, actors["head"], request_type="partner_referral")

    [qualify] = pooled(deployed, mila, lead)
    assert (qualify.element_id, qualify.candidate_groups, qualify.assignee) == ("qualify_lead", ("moscow",), None)
    assert pooled(deployed, sam, lead) == []  # a seller of the north team does not see it
    assert assigned_events(deployed, actors, lead) == [{"team": "moscow", "strategy": "pool", "user": None}]
    tasks.complete_task(deployed(), mila, qualify.id, {"outcome": "convert"}, NOW)
    meeting = the_task(deployed, mila, lead, "arrange_meeting")  # the one who qualified arranges the meeting
    assert meeting.assignee == "mila"


@pytest.mark.parametrize("data", [{}, {"request_type": "web_inquiry"}])
def test_every_other_lead_stays_in_the_sellers_pool(deployed: MakeUow, actors: Actors, data: dict) -> None:
    mila, sam, sue = moscow_seller(deployed), actors["sales"], actors["sales2"]
    lead = new_lead(deployed, actors["head"], **data)

    [qualify] = pooled(deployed, sam, lead)
    assert (qualify.element_id, qualify.candidate_groups, qualify.assignee) == ("qualify_lead", ("sales",), None)
    assert [t.id for t in pooled(deployed, sue, lead)] == [t.id for t in pooled(deployed, mila, lead)] == [qualify.id]
    assert assigned_events(deployed, actors, lead) == [{"team": "sales", "strategy": "pool", "user": None}]


# --- invoice paid -------------------------------------------------------------------------------------------


def deal_at_payment(make_uow: MakeUow, actors: Actors) -> int:
    """A deal whose invoice is issued: it waits on "Confirm the payment" (and for message invoice_paid)."""
    sam = actors["sales"]
    deal = new_deal(make_uow, actors)
    complete(make_uow, sam, deal, "prepare_offer", amount="240000")
    approve(make_uow, actors, deal)
    complete(make_uow, sam, deal, "negotiate", outcome="agreed", amount="240000")
    complete(make_uow, sam, deal, "prepare_contract", amount="240000", contract_number="D-2026-17")
    approve(make_uow, actors, deal)
    complete(make_uow, sam, deal, "issue_invoice", invoice_number="INV-301", amount="240000")
    assert the_task(make_uow, sam, deal, "confirm_payment").assignee == "sam"
    return deal


@pytest.mark.parametrize(
    ("payload", "close_date"),
    [
        ({"invoice_number": "INV-301", "paid_on": "2026-03-10"}, "2026-03-10"),  # the gateway's payment date
        ({}, None),  # no date sent: the deal keeps the close date it had (none here)
    ],
)
def test_invoice_paid_completes_the_payment_step_and_wins_the_deal(
    deployed: MakeUow, actors: Actors, payload: dict, close_date: str | None
) -> None:
    deal = deal_at_payment(deployed, actors)
    [instance] = instances.instances_for_record(deployed(), actors["admin"], deal)

    view = events.receive_event(deployed(), actors["designer"], "invoice_paid", str(deal), payload, NOW)

    assert (view.outcome, view.record_id, view.instance_ids) == ("correlated", deal, [instance.id])
    detail = instances.get_instance(deployed(), actors["auditor"], instance.id)
    assert detail.instance.status == "completed"
    assert [(t.element_id, t.state) for t in detail.tasks if t.element_id == "confirm_payment"] == [
        ("confirm_payment", "cancelled")
    ]
    steps = [(s.kind, s.element_id) for s in detail.steps]
    assert ("message_received", None) in steps
    assert ("step", "invoice_paid_received") in steps
    assert ("task_completed", "confirm_payment") not in steps
    assert stage(deployed, actors, deal) == "won"
    assert records.get_record(deployed(), actors["admin"], deal).data.get("close_date") == close_date
    assert [t for t in tasks.list_tasks(deployed(), actors["sales"], "mine") if t.record_id == deal] == []

    with pytest.raises(ConflictError, match="nothing waits for message 'invoice_paid'"):
        events.receive_event(deployed(), actors["designer"], "invoice_paid", str(deal), {}, NOW)


def test_invoice_paid_for_a_deal_not_at_the_payment_step_is_refused(deployed: MakeUow, actors: Actors) -> None:
    deal = new_deal(deployed, actors)  # waits on "Prepare the offer"
    with pytest.raises(ConflictError, match="nothing waits for message 'invoice_paid'"):
        events.receive_event(deployed(), actors["designer"], "invoice_paid", str(deal), {}, NOW)
    assert stage(deployed, actors, deal) == "new"


def test_the_shipped_events_are_a_web_form_and_invoice_paid() -> None:
    shipped = load_bundle(read_bundle_dir(ROOT)).events
    assert sorted(shipped) == ["invoice_paid", "web_form_submitted"]
    paid = shipped["invoice_paid"]
    assert (paid.kind, paid.message, paid.business_key) == ("correlate", "invoice_paid", "record_id")
