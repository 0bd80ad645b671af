"""The shipped sales processes at work: a deal from offer to won or lost (the offer and the contract approved by a
shared call activity), the repeat-sale rule of account management, and the duplicate review of another manager's
lead (a review task for the head of sales)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from engine.errors import ValidationError
from engine.services import instances, records, tasks
from engine.services.rules import run_scheduled_rules
from engine.services.views import Actor, TaskView
from engine.store.uow import UnitOfWork
from tests.conftest import NOW
from tests.integration.test_crm_bundle import lead_in_pipeline

MakeUow = Callable[[], UnitOfWork]
Actors = dict[str, Actor]


def open_tasks(make_uow: MakeUow, actor: Actor, record_id: int, scope: str = "mine") -> list[TaskView]:
    return [t for t in tasks.list_tasks(make_uow(), actor, scope) if t.record_id == record_id]


def the_task(make_uow: MakeUow, actor: Actor, record_id: int, element_id: str, scope: str = "mine") -> TaskView:
    found = open_tasks(make_uow, actor, record_id, scope)
    assert [t.element_id for t in found] == [element_id]
    return found[0]


def complete(make_uow: MakeUow, actor: Actor, record_id: int, element_id: str, scope: str = "mine",
             **data: Any) -> None:
    task = the_task(make_uow, actor, record_id, element_id, scope)
    tasks.complete_task(make_uow(), actor, task.id, data, NOW)


def stage(make_uow: MakeUow, actors: dict[str, Actor], record_id: int) -> str:
    return str(records.get_record(make_uow(), actors["admin"], record_id).data["stage"])


def new_deal(make_uow: MakeUow, actors: dict[str, Actor]) -> int:
    sam = actors["sales"]
    contact = records.create_record(make_uow(), sam, "Contact", {"full_name": "Ольга Морозова",
                                                                 "phone": "+7 916 555-01-02"}, NOW,
                                    owner_id=sam.id).id
    return records.create_record(make_uow(), sam, "Deal", {"title": "CRM licences for 40 seats", "client": contact},
                                 NOW, owner_id=sam.id).id


def approve(make_uow: MakeUow, actors: dict[str, Actor], deal: int) -> None:
    complete(make_uow, actors["head"], deal, "review_document", "pool", approval_decision="approve")


def deal_history(make_uow: MakeUow, actors: dict[str, Actor], deal: int) -> list[str | None]:
    [instance] = instances.instances_for_record(make_uow(), actors["admin"], deal)
    detail = instances.get_instance(make_uow(), actors["auditor"], instance.id)
    return [s.element_id for s in detail.steps if s.kind == "task_completed"]


def test_deal_goes_from_offer_through_approvals_to_won(deployed: MakeUow, actors: Actors) -> None:
    sam, head = actors["sales"], actors["head"]
    deal = new_deal(deployed, actors)
    assert stage(deployed, actors, deal) == "new"
    offer = the_task(deployed, sam, deal, "prepare_offer")
    assert (offer.form_key, offer.assignee) == ("deal_offer", "sam")

    complete(deployed, sam, deal, "prepare_offer", amount="250000.00")
    assert stage(deployed, actors, deal) == "offer"
    assert open_tasks(deployed, sam, deal) == []
    review = the_task(deployed, head, deal, "review_document", "pool")  # inside the called document_approval
    assert (review.form_key, review.candidate_groups) == ("document_approval", ("head_of_sales",))

    with pytest.raises(ValidationError) as err:  # sending back needs a reason
        tasks.complete_task(deployed(), head, review.id, {"approval_decision": "rework"}, NOW)
    assert "approval_comment" in err.value.errors
    tasks.complete_task(deployed(), head, review.id, {"approval_decision": "rework",
                                                      "approval_comment": "Discount too deep"}, NOW)
    complete(deployed, sam, deal, "revise_document", revision_note="Discount 5% instead of 12%")
    approve(deployed, actors, deal)
    assert stage(deployed, actors, deal) == "negotiation"

    complete(deployed, sam, deal, "negotiate", outcome="agreed", amount="240000")
    assert stage(deployed, actors, deal) == "contract"
    complete(deployed, sam, deal, "prepare_contract", amount="240000", contract_number="D-2026-17")
    approve(deployed, actors, deal)  # the same subprocess, called a second time
    assert stage(deployed, actors, deal) == "invoice"
    complete(deployed, sam, deal, "issue_invoice", invoice_number="INV-301", amount="240000")
    complete(deployed, sam, deal, "confirm_payment", close_date="2026-03-10")

    data = records.get_record(deployed(), actors["admin"], deal).data
    assert (data["stage"], data["amount"], data["close_date"]) == ("won", "240000", "2026-03-10")
    [instance] = instances.instances_for_record(deployed(), actors["admin"], deal)
    assert instance.status == "completed"
    assert deal_history(deployed, actors, deal) == [
        "prepare_offer", "review_document", "revise_document", "review_document", "negotiate", "prepare_contract",
        "review_document", "issue_invoice", "confirm_payment"]
    stages = [c.new_value for c in records.record_history(deployed(), actors["admin"], deal) if c.field == "stage"]
    assert stages == ["new", "offer", "negotiation", "contract", "invoice", "won"]


def test_deal_lost_at_negotiation_needs_a_reason_and_ends(deployed: MakeUow, actors: Actors) -> None:
    sam = actors["sales"]
    deal = new_deal(deployed, actors)
    complete(deployed, sam, deal, "prepare_offer", amount="90000")
    approve(deployed, actors, deal)
    negotiate = the_task(deployed, sam, deal, "negotiate")
    with pytest.raises(ValidationError) as err:
        tasks.complete_task(deployed(), sam, negotiate.id, {"outcome": "lost"}, NOW)
    assert "loss_reason" in err.value.errors

    tasks.complete_task(deployed(), sam, negotiate.id, {"outcome": "lost", "loss_reason": "competitor"}, NOW)
    data = records.get_record(deployed(), actors["admin"], deal).data
    assert (data["stage"], data["loss_reason"]) == ("lost", "competitor")
    [instance] = instances.instances_for_record(deployed(), actors["admin"], deal)
    assert instance.status == "completed"
    assert open_tasks(deployed, sam, deal) == []


def test_deal_entered_later_starts_at_its_stage(deployed: MakeUow, actors: Actors) -> None:
    sam = actors["sales"]
    closed = records.create_record(deployed(), sam, "Deal", {"title": "Imported", "stage": "won"}, NOW,
                                   owner_id=sam.id).id
    [instance] = instances.instances_for_record(deployed(), actors["admin"], closed)
    assert instance.status == "completed"
    assert open_tasks(deployed, sam, closed) == []
    talking = records.create_record(deployed(), sam, "Deal", {"title": "Talks", "stage": "negotiation"}, NOW,
                                    owner_id=sam.id).id
    assert the_task(deployed, sam, talking, "negotiate").assignee == "sam"


def won_deal(make_uow: MakeUow, actors: dict[str, Actor], contact: int, closed: str) -> None:
    """A won deal of the client, closed on `closed` (its process is left running: only the data matters)."""
    sam = actors["sales"]
    deal = records.create_record(make_uow(), sam, "Deal", {"title": f"Order of {closed}", "client": contact},
                                 NOW, owner_id=sam.id).id
    records.update_record(make_uow(), sam, deal, {"stage": "won", "close_date": closed}, NOW)


def test_repeat_sale_starts_once_half_a_year_after_the_last_purchase(deployed: MakeUow, actors: Actors) -> None:
    sam = actors["sales"]
    old, recent = (records.create_record(deployed(), sam, "Contact", {"full_name": name, "phone": phone}, NOW,
                                         owner_id=sam.id).id
                   for name, phone in (("Old client", "+7 900 000-00-01"), ("Recent client", "+7 900 000-00-02")))
    won_deal(deployed, actors, old, "2025-05-20")
    won_deal(deployed, actors, old, "2025-08-01")  # the last purchase: 213 days before NOW
    won_deal(deployed, actors, recent, "2026-01-15")

    assert run_scheduled_rules(deployed, NOW) >= 1
    call = the_task(deployed, sam, old, "repeat_sale_call")
    assert (call.form_key, call.assignee) == ("repeat_sale", "sam")
    assert open_tasks(deployed, sam, recent) == []
    assert records.get_record(deployed(), sam, old).data["repeat_sale_for"] == "2025-08-01"

    tasks.complete_task(deployed(), sam, call.id, {"outcome": "not_now"}, NOW)
    run_scheduled_rules(deployed, NOW + timedelta(days=1))  # the next day: offered already for that purchase
    run_scheduled_rules(deployed, NOW + timedelta(days=2))
    assert open_tasks(deployed, sam, old) == []
    runs = instances.instances_for_record(deployed(), actors["admin"], old)
    assert [(i.process_id, i.status) for i in runs] == [("account_management", "completed")]


def test_interested_client_gets_a_new_deal_task(deployed: MakeUow, actors: Actors) -> None:
    sam = actors["sales"]
    client = records.create_record(deployed(), sam, "Contact", {"full_name": "Client", "phone": "+7 900 000-00-03"},
                                   NOW, owner_id=sam.id).id
    won_deal(deployed, actors, client, "2025-01-10")
    run_scheduled_rules(deployed, NOW)
    complete(deployed, sam, client, "repeat_sale_call", outcome="interested", call_notes="Wants 10 more seats")
    assert the_task(deployed, sam, client, "open_new_deal").assignee == "sam"


REVIEW = "Проверить лид-дубль"  # the rule's title in the bundle's default language


def reviews(make_uow: MakeUow, actor: Actor, record_id: int) -> list[TaskView]:
    return [t for t in open_tasks(make_uow, actor, record_id, "pool") if t.title == REVIEW]


def test_duplicate_of_another_managers_lead_goes_to_the_head_for_review(deployed: MakeUow, actors: Actors) -> None:
    sam, sue, head = actors["sales"], actors["sales2"], actors["head"]
    original = records.create_record(deployed(), head, "Lead", {"title": "First request"}, NOW,
                                      owner_id=sue.id).id
    lead_id, advance = lead_in_pipeline(deployed, actors, request_type="partner_referral")
    assert records.get_record(deployed(), head, lead_id).owner == "sam"
    assert reviews(deployed, head, original) == []

    tasks.complete_task(deployed(), sam, advance.id, {"next_step": "duplicate", "duplicate_of": original}, NOW)
    [review] = reviews(deployed, head, original)  # one, though the rule ran for both fields written
    assert (review.candidate_groups, review.instance_id, review.due_at) == (("head_of_sales",), None,
                                                                           NOW + timedelta(days=1))
    assert reviews(deployed, sam, original) == []  # not the sellers' pool
    tasks.complete_task(deployed(), head, review.id, {}, NOW)
    assert reviews(deployed, head, original) == []


def test_duplicate_of_my_own_lead_needs_no_review(deployed: MakeUow, actors: Actors) -> None:
    sam, head = actors["sales"], actors["head"]
    original = records.create_record(deployed(), head, "Lead", {"title": "First request"}, NOW,
                                      owner_id=sam.id).id
    _, advance = lead_in_pipeline(deployed, actors, request_type="partner_referral")
    tasks.complete_task(deployed(), sam, advance.id, {"next_step": "duplicate", "duplicate_of": original}, NOW)
    assert reviews(deployed, head, original) == []


def test_disqualified_lead_pointing_at_another_managers_lead_needs_no_review(deployed: MakeUow,
                                                                            actors: Actors) -> None:
    sam, sue, head = actors["sales"], actors["sales2"], actors["head"]
    original = records.create_record(deployed(), head, "Lead", {"title": "First request"}, NOW,
                                      owner_id=sue.id).id
    _, advance = lead_in_pipeline(deployed, actors, request_type="web_inquiry", duplicate_of=original)
    tasks.complete_task(deployed(), sam, advance.id, {"next_step": "disqualify", "disqualify_reason": "spam"}, NOW)
    assert reviews(deployed, head, original) == []
