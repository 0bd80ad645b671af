"""Other businesses as pure configuration: examples/certification and examples/real_estate run through the same
engine as the shipped CRM, with no Python of their own. Every bundle in the repository passes `check`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from lxml import etree

from engine.config.loader import read_bundle_dir
from engine.demo import seed
from engine.errors import ValidationError
from engine.services import deployments, instances, records, tasks
from engine.services.rules import run_scheduled_rules
from engine.services.timers import fire_due
from engine.services.users import create_user, get_actor
from engine.services.views import Actor, TaskView
from engine.store.uow import UnitOfWork
from tests.conftest import NOW, PASSWORD, ROOT

MakeUow = Callable[[], UnitOfWork]
EXAMPLES = ROOT / "examples"
BUNDLE_PARTS = ("crm_model/settings.yaml", "crm_model/entities", "crm_model/catalogs", "forms", "processes",
                "demo/seed.yaml")
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
SETUP = Actor(id=None, username="setup", display_name="setup", roles=frozenset({"designer"}))


def example_dirs() -> list[Path]:
    return sorted(path for path in EXAMPLES.iterdir() if path.is_dir())


def bundle_dirs() -> list[Path]:
    return [ROOT, *example_dirs()]


@dataclass
class Business:
    """An example bundle deployed on a fresh database, with its people."""

    uow: MakeUow
    worker: Actor      # a salesperson in the example's team (the candidate group of its pooled tasks)
    colleague: Actor
    head: Actor
    admin: Actor

    def create(self, entity: str, **data: Any) -> int:
        return records.create_record(self.uow(), self.head, entity, data, NOW).id

    def update(self, record_id: int, **changes: Any) -> None:
        records.update_record(self.uow(), self.head, record_id, changes, NOW)

    def fields(self, record_id: int) -> dict[str, Any]:
        return records.get_record(self.uow(), self.admin, record_id).data

    def pooled(self, record_id: int, actor: Actor | None = None) -> list[TaskView]:
        return [t for t in tasks.list_tasks(self.uow(), actor or self.worker, "pool") if t.record_id == record_id]

    def mine(self, record_id: int) -> list[TaskView]:
        return [t for t in tasks.list_tasks(self.uow(), self.worker, "mine") if t.record_id == record_id]

    def open_tasks(self, record_id: int) -> list[TaskView]:
        return [t for t in tasks.list_tasks(self.uow(), self.admin, "all", limit=500) if t.record_id == record_id]

    def complete(self, task: TaskView, data: dict[str, Any], at: datetime = NOW) -> None:
        with time_machine.travel(at, tick=False):  # timers the step starts count from `at`
            tasks.complete_task(self.uow(), self.worker, task.id, data, at)

    def process_status(self, record_id: int) -> str:
        [instance] = instances.instances_for_record(self.uow(), self.admin, record_id)
        return instance.status

    def history(self, record_id: int, field: str) -> list[tuple[Any, str]]:
        return [(c.new_value, c.source) for c in records.record_history(self.uow(), self.admin, record_id)
                if c.field == field]


def deploy(make_uow: MakeUow, name: str, team: str) -> Business:
    deployments.deploy_bundle(make_uow(), SETUP, read_bundle_dir(EXAMPLES / name), NOW)

    def user(username: str, roles: list[str], user_team: str | None) -> Actor:
        view = create_user(make_uow(), username, PASSWORD, roles, NOW, team=user_team)
        return get_actor(make_uow(), view.id)

    return Business(make_uow, user("sam", ["sales"], team), user("sue", ["sales"], team),
                    user("hank", ["head_of_sales"], team), user("ada", ["admin"], None))


# --- every bundle -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", bundle_dirs(), ids=lambda p: p.relative_to(ROOT).as_posix() or "root")
def test_every_bundle_in_the_repository_passes_check(path: Path) -> None:
    files = read_bundle_dir(path)
    assert any(name.startswith("crm_model/rules/") for name in files)
    assert deployments.check_bundle(files) == []


@pytest.mark.parametrize("path", example_dirs(), ids=lambda p: p.name)
def test_each_example_is_a_complete_bundle(path: Path) -> None:
    missing = [part for part in BUNDLE_PARTS if not (path / part).exists()]
    assert missing == []
    assert list((path / "processes").glob("*.bpmn"))


def test_examples_hold_configuration_only_no_python() -> None:
    assert {p.name for p in example_dirs()} >= {"certification", "real_estate"}
    code = [p.relative_to(ROOT).as_posix() for p in EXAMPLES.rglob("*")
            if p.is_file() and (p.suffix in (".py", ".pyc", ".pyx", ".so", ".sh") or p.name == "__pycache__")]
    assert code == []


@pytest.mark.parametrize("path", bundle_dirs(), ids=lambda p: p.relative_to(ROOT).as_posix() or "root")
def test_every_bpmn_element_has_a_shape_or_edge_for_modelers(path: Path) -> None:
    """bpmn-js and Camunda Modeler draw only what the BPMNDiagram places: every node a shape, every flow an edge."""
    for name, text in read_bundle_dir(path).items():
        if not name.endswith(".bpmn"):
            continue
        tree = etree.fromstring(text.encode())
        placed = {node.get("bpmnElement"): etree.QName(node).localname
                  for node in tree.iter(f"{{{BPMNDI}}}BPMNShape", f"{{{BPMNDI}}}BPMNEdge")}
        wanted = {}
        for process in tree.iterfind(f"{{{BPMN}}}process"):
            wanted[process.get("id")] = "plane"
            for node in process:
                kind = etree.QName(node).localname
                if kind == "sequenceFlow":
                    wanted[node.get("id")] = "BPMNEdge"
                elif kind not in ("extensionElements", "laneSet", "documentation"):
                    wanted[node.get("id")] = "BPMNShape"
        planes = {node.get("bpmnElement") for node in tree.iter(f"{{{BPMNDI}}}BPMNPlane")}
        missing = [(element, kind) for element, kind in wanted.items()
                   if (element not in planes if kind == "plane" else placed.get(element) != kind)]
        assert missing == [], name


# --- certification agency: outbound calling ---------------------------------------------------------------

@pytest.fixture
def agency(make_uow: MakeUow) -> Business:
    return deploy(make_uow, "certification", "call_center")


def test_a_new_client_lands_in_the_call_center_pool(agency: Business) -> None:
    client = agency.create("Client", name="ООО «Мельница»", phone="+7 495 000-00-01")
    assert agency.fields(client)["status"] == "unlikely"  # the cold list's default
    [call] = agency.pooled(client)
    assert (call.element_id, call.form_key, call.candidate_groups) == ("make_call", "make_call", ("call_center",))
    assert agency.pooled(client, agency.colleague) == [call]  # the whole team sees it


def test_callback_waits_for_the_agreed_day_and_interest_leads_to_a_signed_contract(agency: Business) -> None:
    client = agency.create("Client", name="ООО «Мельница»", phone="+7 495 000-00-01", standard="haccp")
    [call] = agency.pooled(client)

    with pytest.raises(ValidationError) as err:
        agency.complete(call, {"call_result": "callback"})
    assert "next_call_on" in err.value.errors
    agency.complete(call, {"call_result": "callback", "next_call_on": "2026-03-05"})

    assert agency.fields(client)["status"] == "probable"
    assert agency.open_tasks(client) == []
    day_before = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
    with time_machine.travel(day_before, tick=False):
        assert fire_due(agency.uow(), day_before) == 0
    agreed = datetime(2026, 3, 5, 7, 1, tzinfo=UTC)  # just after 10:00 Moscow time
    with time_machine.travel(agreed, tick=False):
        assert fire_due(agency.uow(), agreed) == 1

    [second] = agency.pooled(client)
    assert second.element_id == "make_call"
    agency.complete(second, {"call_result": "interested", "email": "director@melnitsa.example"}, agreed)
    assert agency.fields(client)["status"] == "potential"
    [offer] = agency.mine(client)
    assert (offer.element_id, offer.assignee) == ("prepare_offer", "sam")

    agency.complete(offer, {"offer_amount": "240000", "contract_signed": True}, agreed)
    assert agency.fields(client)["status"] == "real"
    assert agency.fields(client)["offer_amount"] == "240000"
    assert agency.process_status(client) == "completed"
    assert [s for s, _ in agency.history(client, "status")] == ["unlikely", "probable", "potential", "real"]


def test_no_answer_is_tried_again_the_next_day_and_a_refusal_ends_the_calls(agency: Business) -> None:
    client = agency.create("Client", name="АО «СтройМонтаж»", phone="+7 812 555-01-02", status="probable")
    [call] = agency.pooled(client)
    agency.complete(call, {"call_result": "no_answer"})
    assert agency.fields(client)["status"] == "probable"  # no answer changes nothing
    assert agency.open_tasks(client) == []

    next_day = NOW + timedelta(days=1, minutes=1)
    with time_machine.travel(next_day, tick=False):
        assert fire_due(agency.uow(), next_day) == 1
    [retry] = agency.pooled(client)
    agency.complete(retry, {"call_result": "not_interested"}, next_day)
    assert agency.fields(client)["status"] == "unlikely"
    assert agency.process_status(client) == "completed"
    assert agency.open_tasks(client) == []


def test_a_probable_client_who_calls_in_becomes_potential(agency: Business) -> None:
    probable = agency.create("Client", name="ООО «Хлебозавод № 3»", phone="+7 495 123-45-67", status="probable")
    agency.create("Activity", subject="We called", direction="outbound", result="no_answer", client=probable)
    assert agency.fields(probable)["status"] == "probable"

    agency.create("Activity", subject="Called back himself", direction="inbound", client=probable,
                  agreed="Send the offer by Friday")
    assert agency.fields(probable)["status"] == "potential"
    assert agency.history(probable, "status")[-1] == ("potential", "rule probable_client_calls_in")

    unlikely = agency.create("Client", name="ООО «ЭкоПак»", phone="+7 843 200-30-40", status="unlikely")
    agency.create("Activity", subject="Asked for a price list", direction="inbound", client=unlikely)
    assert agency.fields(unlikely)["status"] == "unlikely"  # only probable clients move


def test_cold_clients_not_called_for_half_a_year_are_archived_by_the_worker(agency: Business) -> None:
    cold = agency.create("Client", name="Old lead", phone="+7 495 000-00-02", status="unlikely")
    agency.create("Activity", subject="Last try", direction="outbound", result="no_answer", client=cold,
                  called_at="2025-08-01T10:00:00+03:00")
    recent = agency.create("Client", name="Recent", phone="+7 495 000-00-03", status="unlikely")
    agency.create("Activity", subject="Called", direction="outbound", result="no_answer", client=recent,
                  called_at="2026-02-20T10:00:00+03:00")

    assert run_scheduled_rules(agency.uow, NOW) == 1
    assert agency.fields(cold)["status"] == "archive"
    assert agency.fields(recent)["status"] == "unlikely"
    assert run_scheduled_rules(agency.uow, NOW + timedelta(hours=1)) == 0  # once a day


def test_certification_demo_seed_runs_its_rule(agency: Business) -> None:
    created = seed(agency.uow, EXAMPLES / "certification" / "demo" / "seed.yaml", NOW)
    assert created["records"] == 6
    clients = {r.title: r for r in records.list_records(agency.uow(), agency.admin, "Client")}
    assert clients["ООО «Хлебозавод № 3»"].data["status"] == "potential"  # called in while probable
    calls = [t for t in tasks.list_tasks(agency.uow(), agency.admin, "all", limit=500) if t.element_id == "make_call"]
    assert len(calls) == len(clients) == 4


# --- real estate agency: buyers and viewings --------------------------------------------------------------

@pytest.fixture
def agency_re(make_uow: MakeUow) -> Business:
    return deploy(make_uow, "real_estate", "agents")


def buyer(business: Business, **data: Any) -> int:
    return business.create("Buyer", **{"full_name": "Андрей Волков", "phone": "+7 916 111-22-33", **data})


def flat(business: Business) -> int:
    return business.create("Property", address="ул. Профсоюзная, 56, кв. 112", rooms=2, floor=7, floors_total=16,
                           price="14900000", area="54.3")


def test_buyer_wishes_are_stored_and_validated(agency_re: Business) -> None:
    wishes = {"rooms_wanted": 2, "preferred_floors": ["low", "middle"], "purchase_for": "parents",
              "loyalty": "75.5", "referral": False, "tags": ["mortgage", "urgent"], "budget": "15000000"}
    buyer_id = buyer(agency_re, **wishes)
    assert {k: agency_re.fields(buyer_id)[k] for k in wishes} == wishes
    assert agency_re.fields(buyer_id)["status"] == "new"

    bad = {"rooms_wanted": -1, "preferred_floors": ["basement"], "purchase_for": "friends", "loyalty": "150",
           "tags": ["custom tag"]}
    with pytest.raises(ValidationError) as err:
        buyer(agency_re, **bad)
    assert set(err.value.errors) == set(bad)


def test_a_referred_buyer_starts_half_loyal(agency_re: Business) -> None:
    friend = buyer(agency_re)
    referred = buyer(agency_re, full_name="Ольга Никитина", referral=True, referred_by=friend)
    assert agency_re.fields(referred)["loyalty"] == "50"
    assert agency_re.history(referred, "loyalty") == [("50", "rule referral_loyalty")]
    loyal = buyer(agency_re, full_name="James Carter", referral=True, loyalty="90")
    assert agency_re.fields(loyal)["loyalty"] == "90"
    assert agency_re.fields(friend).get("loyalty") is None


def test_viewing_is_confirmed_held_and_turned_into_an_offer(agency_re: Business) -> None:
    buyer_id, flat_id = buyer(agency_re), flat(agency_re)
    viewing = agency_re.create("Viewing", title="Волков — Профсоюзная", buyer=buyer_id, property=flat_id)
    assert agency_re.fields(buyer_id)["status"] == "viewing"

    [confirm] = agency_re.pooled(viewing)
    assert (confirm.element_id, confirm.candidate_groups) == ("confirm_viewing", ("agents",))
    agency_re.complete(confirm, {"scheduled_at": "2026-03-04T18:30:00+03:00"})
    [hold] = agency_re.mine(viewing)
    assert hold.element_id == "hold_viewing"

    with pytest.raises(ValidationError) as err:
        agency_re.complete(hold, {"result": "offer"})
    assert "offer_price" in err.value.errors
    agency_re.complete(hold, {"result": "offer", "offer_price": "14500000", "feedback": "Берём, если скинут"})
    assert agency_re.fields(buyer_id)["status"] == "offer"
    assert agency_re.fields(flat_id)["status"] == "reserved"

    [offer] = agency_re.mine(viewing)
    assert offer.element_id == "prepare_offer"
    agency_re.complete(offer, {"offer_price": "14600000", "seller_answer": "accepted"})
    assert agency_re.process_status(viewing) == "completed"
    assert agency_re.fields(viewing)["offer_price"] == "14600000"


def test_a_buyer_thinking_it_over_is_asked_again_after_three_days(agency_re: Business) -> None:
    buyer_id, flat_id = buyer(agency_re), flat(agency_re)
    viewing = agency_re.create("Viewing", title="Волков — второй просмотр", buyer=buyer_id, property=flat_id)
    [confirm] = agency_re.pooled(viewing)
    agency_re.complete(confirm, {"scheduled_at": "2026-03-04T18:30:00+03:00"})
    [hold] = agency_re.mine(viewing)
    agency_re.complete(hold, {"result": "thinking"})
    assert agency_re.open_tasks(viewing) == []
    assert agency_re.fields(buyer_id)["status"] == "viewing"

    later = NOW + timedelta(days=3, minutes=1)
    with time_machine.travel(later, tick=False):
        assert fire_due(agency_re.uow(), later) == 1
    [follow_up] = agency_re.mine(viewing)
    assert follow_up.element_id == "follow_up"
    agency_re.complete(follow_up, {"decision": "offer"}, later)

    assert agency_re.fields(viewing)["result"] == "offer"  # written by the process...
    assert agency_re.fields(buyer_id)["status"] == "offer"  # ...and the rules follow it
    assert agency_re.fields(flat_id)["status"] == "reserved"
    assert [t.element_id for t in agency_re.mine(viewing)] == ["prepare_offer"]


def test_a_viewing_that_did_not_suit_just_closes(agency_re: Business) -> None:
    buyer_id, flat_id = buyer(agency_re), flat(agency_re)
    viewing = agency_re.create("Viewing", title="Не подошла", buyer=buyer_id, property=flat_id)
    [confirm] = agency_re.pooled(viewing)
    agency_re.complete(confirm, {"scheduled_at": "2026-03-04T18:30:00+03:00"})
    [hold] = agency_re.mine(viewing)
    agency_re.complete(hold, {"result": "not_suitable", "feedback": "Шумная улица"})
    assert agency_re.process_status(viewing) == "completed"
    assert agency_re.fields(flat_id)["status"] == "available"
    assert agency_re.fields(buyer_id)["status"] == "viewing"


def test_real_estate_demo_seed_runs_its_rules(agency_re: Business) -> None:
    created = seed(agency_re.uow, EXAMPLES / "real_estate" / "demo" / "seed.yaml", NOW)
    assert created["records"] == 8
    buyers = {r.title: r for r in records.list_records(agency_re.uow(), agency_re.admin, "Buyer")}
    assert buyers["Ольга Никитина"].data["loyalty"] == "50"
    assert buyers["Андрей Волков"].data["status"] == "viewing"
    assert buyers["James Carter"].data["status"] == "viewing"
    confirms = [t for t in tasks.list_tasks(agency_re.uow(), agency_re.admin, "all") if t.element_id ==
                "confirm_viewing"]
    assert len(confirms) == 2
