"""The shipped CRM's configuration at work: client statuses moved by rules, request pipelines driving the lead
process (stages, final actions, the offer e-mail), territories, the data-quality robot and the demo seed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from engine.demo import seed
from engine.errors import FlowError, ValidationError
from engine.quality.review import list_pairs
from engine.services import instances, records, tasks
from engine.services.assignment import reassign_records, reassign_tasks
from engine.services.links import record_links
from engine.services.mail import record_emails
from engine.services.views import Actor, TaskView
from engine.store.uow import UnitOfWork
from tests.conftest import NOW, ROOT

MakeUow = Callable[[], UnitOfWork]
ADVANCE_CHOICES = ["qualified", "offer_sent", "convert_to_deal", "duplicate", "disqualify"]


def create(make_uow: MakeUow, actor: Actor, entity: str, **data: Any) -> int:
    return records.create_record(make_uow(), actor, entity, data, NOW).id


def update(make_uow: MakeUow, actor: Actor, record_id: int, **changes: Any) -> None:
    records.update_record(make_uow(), actor, record_id, changes, NOW)


def fields(make_uow: MakeUow, actors: dict[str, Actor], record_id: int) -> dict[str, Any]:
    return records.get_record(make_uow(), actors["admin"], record_id).data


def status_history(make_uow: MakeUow, actors: dict[str, Actor], record_id: int) -> list[tuple[str, str]]:
    return [(c.new_value, c.source) for c in records.record_history(make_uow(), actors["admin"], record_id)
            if c.field == "status"]


def my_task(make_uow: MakeUow, actor: Actor, record_id: int) -> TaskView:
    [task] = [t for t in tasks.list_tasks(make_uow(), actor, "mine") if t.record_id == record_id]
    return task


def pooled(make_uow: MakeUow, actor: Actor, record_id: int) -> list[TaskView]:
    return [t for t in tasks.list_tasks(make_uow(), actor, "pool") if t.record_id == record_id]


def lead_in_pipeline(make_uow: MakeUow, actors: dict[str, Actor], **data: Any) -> tuple[int, TaskView]:
    """A lead qualified (convert) and met by sam: it waits on "Advance the request".

    processes/lead_routing.dmn puts a partner referral in the moscow team's pool, which sam (north) does not
    see: there an admin hands the lead and its qualify task to sam first (as sam's claim would have)."""
    sam = actors["sales"]
    lead_id = create(make_uow, actors["head"], "Lead", **{"title": "40 laptops for a new office", **data})
    if data.get("request_type") == "partner_referral":
        [routed] = [t for t in tasks.list_tasks(make_uow(), actors["admin"], "all") if t.record_id == lead_id]
        assert routed.candidate_groups == ("moscow",)
        reassign_tasks(make_uow(), actors["admin"], [routed.id], sam.username, NOW)
        reassign_records(make_uow(), actors["admin"], [lead_id], sam.username, NOW)
        qualify = my_task(make_uow, sam, lead_id)
    else:
        [qualify] = pooled(make_uow, sam, lead_id)
    tasks.complete_task(make_uow(), sam, qualify.id, {"outcome": "convert"}, NOW)
    meeting = my_task(make_uow, sam, lead_id)
    assert meeting.element_id == "arrange_meeting"
    tasks.complete_task(make_uow(), sam, meeting.id, {"next_contact_on": "2026-03-04"}, NOW)
    advance = my_task(make_uow, sam, lead_id)
    assert (advance.element_id, advance.form_key) == ("advance_request", "advance_request")
    return lead_id, advance


def choices(make_uow: MakeUow, actor: Actor, task_id: str) -> list[str]:
    schema = tasks.get_task(make_uow(), actor, task_id).form_schema
    assert schema is not None
    return list(schema["properties"]["next_step"]["enum"])


def instance_status(make_uow: MakeUow, actors: dict[str, Actor], record_id: int) -> str:
    [instance] = instances.instances_for_record(make_uow(), actors["admin"], record_id)
    return instance.status


# --- client status by won deals ---------------------------------------------------------------------------

def test_contact_status_climbs_one_time_periodic_permanent_as_deals_are_won(deployed: MakeUow, actors: dict) -> None:
    head = actors["head"]
    contact = create(deployed, head, "Contact", full_name="Иван Соколов", phone="+7 912 345-67-89")
    first = create(deployed, head, "Deal", title="Laptops", client=contact, stage="negotiation", amount="150000")
    assert fields(deployed, actors, contact).get("status") is None

    update(deployed, head, first, stage="won")
    assert fields(deployed, actors, contact)["status"] == "one_time"
    assert fields(deployed, actors, contact)["relationship"] == "client"

    create(deployed, head, "Deal", title="Chairs", client=contact, stage="won", amount="20000")
    assert fields(deployed, actors, contact)["status"] == "periodic"

    third = create(deployed, head, "Deal", title="Support", client=contact, amount="90000")
    assert fields(deployed, actors, contact)["status"] == "periodic"  # a deal not won yet does not count
    update(deployed, head, third, stage="won")
    assert fields(deployed, actors, contact)["status"] == "permanent"

    update(deployed, head, third, stage="lost")  # won by mistake: the count goes back down
    assert fields(deployed, actors, contact)["status"] == "periodic"
    assert status_history(deployed, actors, contact) == [
        ("one_time", "rule contact_status_by_deals"), ("periodic", "rule contact_status_by_deals"),
        ("permanent", "rule contact_status_by_deals"), ("periodic", "rule contact_status_by_deals")]


def test_organization_status_counts_the_deals_made_with_it(deployed: MakeUow, actors: dict) -> None:
    head = actors["head"]
    org = create(deployed, head, "Organization", name="ООО «Ромашка»")
    for title in ("Laptops", "Chairs"):
        create(deployed, head, "Deal", title=title, organization=org, stage="won")
    assert fields(deployed, actors, org)["status"] == "periodic"


def test_client_status_takes_leaves_of_the_tree_only(deployed: MakeUow, actors: dict) -> None:
    with pytest.raises(ValidationError) as err:
        create(deployed, actors["head"], "Contact", full_name="X", phone="+7 912 000-00-00", status="active")
    assert "status" in err.value.errors
    contact = create(deployed, actors["head"], "Contact", full_name="Y", phone="+7 912 000-00-01", status="probable")
    assert fields(deployed, actors, contact)["status"] == "probable"


def test_probable_contact_who_contacts_us_becomes_interested(deployed: MakeUow, actors: dict) -> None:
    head = actors["head"]
    warm = create(deployed, head, "Contact", full_name="Peter Novikov", email="p@sever.example", status="probable")
    create(deployed, head, "Activity", subject="We called", kind="call", direction="outbound", contact=warm,
           result="no_answer")
    assert fields(deployed, actors, warm)["status"] == "probable"  # our own call changes nothing

    create(deployed, head, "Activity", subject="He called back", kind="call", direction="inbound", contact=warm,
           agreed="Send a quote", next_step="Quote by Thursday")
    assert fields(deployed, actors, warm)["status"] == "interested"
    assert status_history(deployed, actors, warm)[-1] == ("interested", "rule probable_client_calls_in")

    cold = create(deployed, head, "Contact", full_name="Cold", email="c@x.example", status="unlikely")
    create(deployed, head, "Activity", subject="Wrote to us", kind="email", direction="inbound", contact=cold)
    assert fields(deployed, actors, cold)["status"] == "unlikely"


# --- request pipelines ---------------------------------------------------------------------------------

def test_lead_enters_its_pipeline_after_the_meeting_and_offers_later_stages(deployed: MakeUow, actors: dict) -> None:
    sam = actors["sales"]
    lead_id, advance = lead_in_pipeline(deployed, actors, request_type="web_inquiry", email="buyer@acme.example")

    assert fields(deployed, actors, lead_id)["request_stage"] == "new"
    assert choices(deployed, sam, advance.id) == ADVANCE_CHOICES

    tasks.complete_task(deployed(), sam, advance.id, {"next_step": "qualified"}, NOW)
    lead = fields(deployed, actors, lead_id)
    assert (lead["request_stage"], lead["status"]) == ("qualified", "qualified")
    again = my_task(deployed, sam, lead_id)
    assert again.element_id == "advance_request"
    assert again.id != advance.id
    assert choices(deployed, sam, again.id) == ADVANCE_CHOICES[1:]
    assert instance_status(deployed, actors, lead_id) == "running"


def test_a_lead_without_a_request_type_ends_after_the_meeting(deployed: MakeUow, actors: dict) -> None:
    sam = actors["sales"]
    lead_id = create(deployed, actors["head"], "Lead", title="No type", phone="+7 912 345-67-89")
    [qualify] = pooled(deployed, sam, lead_id)
    tasks.complete_task(deployed(), sam, qualify.id, {"outcome": "convert"}, NOW)
    tasks.complete_task(deployed(), sam, my_task(deployed, sam, lead_id).id, {"next_contact_on": "2026-03-04"}, NOW)
    assert instance_status(deployed, actors, lead_id) == "completed"


def test_offer_stage_puts_the_offer_conditions_email_in_the_outbox(deployed: MakeUow, actors: dict) -> None:
    sam = actors["sales"]
    lead_id, advance = lead_in_pipeline(deployed, actors, request_type="web_inquiry", contact_name="Иван Соколов",
                                        email="ivan@romashka.example", budget="150000")
    assert record_emails(deployed(), sam, lead_id) == []

    tasks.complete_task(deployed(), sam, advance.id, {"next_step": "offer_sent"}, NOW)

    [email] = record_emails(deployed(), sam, lead_id)
    assert (email.template, email.to_address, email.status) == ("offer_conditions", "ivan@romashka.example",
                                                                "pending")
    assert email.subject == "Коммерческое предложение: 40 laptops for a new office"  # settings.default_locale: ru
    assert fields(deployed, actors, lead_id)["request_stage"] == "offer_sent"
    assert choices(deployed, sam, my_task(deployed, sam, lead_id).id) == ["convert_to_deal", "duplicate",
                                                                          "disqualify"]


def test_offer_stage_without_an_address_is_refused_and_changes_nothing(deployed: MakeUow, actors: dict) -> None:
    sam = actors["sales"]
    lead_id, advance = lead_in_pipeline(deployed, actors, request_type="phone_call", phone="+7 912 345-67-89")
    with pytest.raises(FlowError):
        tasks.complete_task(deployed(), sam, advance.id, {"next_step": "offer_sent"}, NOW)
    assert fields(deployed, actors, lead_id)["request_stage"] == "new"
    assert record_emails(deployed(), sam, lead_id) == []

    tasks.complete_task(deployed(), sam, advance.id, {"next_step": "offer_sent", "email": "m@vega.example"}, NOW)
    assert [e.to_address for e in record_emails(deployed(), sam, lead_id)] == ["m@vega.example"]


def test_convert_to_deal_needs_a_budget_then_creates_a_linked_deal_and_ends(deployed: MakeUow, actors: dict) -> None:
    sam, head = actors["sales"], actors["head"]
    contact = create(deployed, head, "Contact", full_name="Maria Lebedeva", phone="+7 903 111-22-33")
    lead_id, advance = lead_in_pipeline(deployed, actors, request_type="web_inquiry", contact=contact)

    with pytest.raises(ValidationError) as err:
        tasks.complete_task(deployed(), sam, advance.id, {"next_step": "convert_to_deal"}, NOW)
    assert "budget" in err.value.errors
    assert records.list_records(deployed(), actors["admin"], "Deal") == []

    tasks.complete_task(deployed(), sam, advance.id, {"next_step": "convert_to_deal", "budget": "420000"}, NOW)

    [deal] = records.list_records(deployed(), actors["admin"], "Deal")
    assert deal.data == {"title": "40 laptops for a new office", "stage": "new", "amount": "420000",
                         "client": contact}
    assert fields(deployed, actors, lead_id)["request_stage"] == "won"
    origin = [(link.record_id, link.kind) for link in record_links(deployed(), actors["admin"], lead_id).incoming
              if link.kind != "reference"]
    assert origin == [(deal.id, "origin")]
    assert instance_status(deployed, actors, lead_id) == "completed"
    assert [t for t in tasks.list_tasks(deployed(), sam, "mine") if t.record_id == lead_id] == []


def test_duplicate_needs_the_original_and_closes_the_request_as_lost(deployed: MakeUow, actors: dict) -> None:
    sam = actors["sales"]
    original = create(deployed, actors["head"], "Lead", title="First request", phone="+7 912 000-00-02")
    lead_id, advance = lead_in_pipeline(deployed, actors, request_type="partner_referral")
    assert choices(deployed, sam, advance.id) == ["partner_confirmed", "meeting_held", "offer_sent",
                                                  "convert_to_deal", "duplicate", "disqualify"]

    with pytest.raises(ValidationError) as err:
        tasks.complete_task(deployed(), sam, advance.id, {"next_step": "duplicate"}, NOW)
    assert "duplicate_of" in err.value.errors

    tasks.complete_task(deployed(), sam, advance.id, {"next_step": "duplicate", "duplicate_of": original}, NOW)
    assert fields(deployed, actors, lead_id)["request_stage"] == "lost"
    assert instance_status(deployed, actors, lead_id) == "completed"


def test_disqualify_needs_a_reason(deployed: MakeUow, actors: dict) -> None:
    sam = actors["sales"]
    lead_id, advance = lead_in_pipeline(deployed, actors, request_type="phone_call")
    assert "duplicate" not in choices(deployed, sam, advance.id)  # phone calls have no duplicate action
    with pytest.raises(ValidationError) as err:
        tasks.complete_task(deployed(), sam, advance.id, {"next_step": "disqualify"}, NOW)
    assert "disqualify_reason" in err.value.errors

    tasks.complete_task(deployed(), sam, advance.id, {"next_step": "disqualify", "disqualify_reason": "no_budget"},
                        NOW)
    lead = fields(deployed, actors, lead_id)
    assert (lead["request_stage"], lead["status"]) == ("lost", "disqualified")
    assert instance_status(deployed, actors, lead_id) == "completed"


def test_a_stage_that_is_not_offered_is_refused(deployed: MakeUow, actors: dict) -> None:
    sam = actors["sales"]
    _, advance = lead_in_pipeline(deployed, actors, request_type="web_inquiry")
    for wrong in ("new", "won", "callback_scheduled"):
        with pytest.raises(ValidationError) as err:
            tasks.complete_task(deployed(), sam, advance.id, {"next_step": wrong}, NOW)
        assert "next_step" in err.value.errors


# --- territories and the data-quality robot ----------------------------------------------------------------

def territory_codes(make_uow: MakeUow, actors: dict[str, Actor], record_id: int) -> set[str]:
    links = record_links(make_uow(), actors["admin"], record_id).outgoing
    territories = {link.record_id for link in links if link.kind == "territory"}
    return {fields(make_uow, actors, t)["code"] for t in territories}


def test_organizations_join_and_leave_territories_by_region_and_industry(deployed: MakeUow, actors: dict) -> None:
    head = actors["head"]
    create(deployed, head, "Territory", code="MSK", name="Москва", region="moscow", manager="sam")
    create(deployed, head, "Territory", code="NW", name="Северо-Запад", region="northwest", manager="sue")
    create(deployed, head, "Territory", code="IT", name="IT sector", industry="it", manager="sue")

    org = create(deployed, head, "Organization", name="ООО «Ромашка»", region="moscow", industry="retail")
    assert territory_codes(deployed, actors, org) == {"MSK"}
    assert records.get_record(deployed(), head, org).owner == "sam"  # the territory's manager
    plan = [t for t in tasks.list_tasks(deployed(), actors["sales"], "mine") if t.record_id == org]
    assert [(t.element_id, t.assignee, t.due_at) for t in plan] == [("intro_call", "sam", NOW + timedelta(days=1))]

    update(deployed, head, org, region="saint_petersburg")
    assert territory_codes(deployed, actors, org) == {"NW"}
    assert records.get_record(deployed(), head, org).owner == "sam"  # an owner is kept

    update(deployed, head, org, industry="it")
    assert territory_codes(deployed, actors, org) == {"NW", "IT"}
    update(deployed, head, org, region=None, industry="finance")
    assert territory_codes(deployed, actors, org) == set()

    contact = create(deployed, head, "Contact", full_name="Анна", phone="+7 912 000-00-03", region="moscow")
    assert territory_codes(deployed, actors, contact) == {"MSK"}


def test_contact_nobody_can_reach_gets_a_task_for_its_owner(deployed: MakeUow, actors: dict) -> None:
    sam, head = actors["sales"], actors["head"]
    unreachable = create(deployed, head, "Contact", full_name="Светлана Кузьмина", position="Бухгалтер")
    [task] = pooled(deployed, sam, unreachable)
    # stored in the bundle's default language (ru); shown in the reader's (web.present.task_title)
    assert (task.title, task.instance_id, task.candidate_groups) == ("Добавить телефон или e-mail", None, ("sales",))
    assert task.due_at is not None

    reachable = create(deployed, head, "Contact", full_name="Иван", phone="+7 912 345-67-89")
    assert pooled(deployed, sam, reachable) == []

    create(deployed, head, "Territory", code="MSK", name="Москва", region="moscow", manager="sam")
    owned = create(deployed, head, "Contact", full_name="Пётр", region="moscow")  # MSK makes sam the owner
    assert [(t.title, t.assignee) for t in tasks.list_tasks(deployed(), sam, "mine") if t.record_id == owned] == [
        ("Добавить телефон или e-mail", "sam")]

    update(deployed, head, reachable, phone=None)  # cleared: the robot asks again
    assert [t.title for t in pooled(deployed, sam, reachable)] == ["Добавить телефон или e-mail"]


# --- the demo seed ----------------------------------------------------------------------------------------

def test_demo_seed_builds_territories_statuses_and_requests(deployed: MakeUow, actors: dict) -> None:
    created = seed(deployed, ROOT / "demo" / "seed.yaml", NOW)
    assert (created["users"], created["records"]) == (7, 119)  # 23 showcase records + report history + 2 duplicates
    admin = actors["admin"]
    by_title = {r.title: r for entity in ("Contact", "Organization", "Lead", "Deal")
                for r in records.list_records(deployed(), admin, entity, limit=500)}

    ivan = by_title["Иван Соколов"]
    assert ivan.data["status"] == "periodic"  # two won deals
    assert ivan.owner == "anna"  # Moscow territory manager
    assert by_title["Пётр Новиков"].data["status"] == "interested"  # he called in
    assert by_title["ООО «Ромашка»"].data["status"] == "periodic"
    assert territory_codes(deployed, actors, by_title["ООО «Вега Софт»"].id) == {"NW", "IT"}
    assert [t.title for t in tasks.list_tasks(deployed(), admin, "all", limit=500)
            if t.record_id == by_title["Светлана Кузьмина"].id] == ["Добавить телефон или e-mail"]
    lead_types = {r.data["request_type"] for r in records.list_records(deployed(), admin, "Lead", limit=500)}
    assert lead_types == {"partner_referral", "phone_call", "web_inquiry"}


def test_demo_seed_fills_the_duplicate_queue(deployed: MakeUow, actors: dict) -> None:
    seed(deployed, ROOT / "demo" / "seed.yaml", NOW)
    pairs = list_pairs(deployed(), actors["admin"], entity="Contact", status="open")
    rules = sorted(p.rule for p in pairs)
    assert rules == ["household", "household", "same_email"]  # Ivan twice; his wife on his phone: related
