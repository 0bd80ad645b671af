"""Duplicate detection on the shipped rules (crm_model/duplicates/): keys at write, policies, scans, schedule."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from engine.config.loader import load_bundle
from engine.errors import ValidationError
from engine.processes.deployed import active_bundle
from engine.quality.checks import DUPLICATE_LINK
from engine.quality.matching import find_candidates
from engine.quality.scan import rebuild_keys, run_scheduled_scans, scan
from engine.services.deployments import deploy_bundle
from engine.services.records import create_record, update_record
from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.conftest import NOW

Factory = Callable[[], UnitOfWork]


def _contact(uow: Factory, actor: Actor, **data: Any) -> int:
    return create_record(uow(), actor, "Contact", data, NOW).id


def _org(uow: Factory, actor: Actor, name: str = "Romashka", **data: Any) -> int:
    return create_record(uow(), actor, "Organization", {"name": name, **data}, NOW).id


def _candidates(uow: Factory, entity: str, data: dict[str, Any], exclude: tuple[int, ...] = ()) -> list[Any]:
    make = uow()
    bundle, _ = active_bundle(make)
    with make:
        return find_candidates(make, bundle, entity, data, exclude_ids=exclude)


def _pairs(uow: Factory, entity: str, status: str | None = "open") -> list[tuple[int, int, str, str]]:
    with uow() as u:
        return [(p.record_a_id, p.record_b_id, p.rule, p.found_by) for p in u.quality.queue(entity, status)]


def _redeploy(uow: Factory, files: dict[str, str], changes: dict[str, str]) -> None:
    designer = Actor(id=None, username="setup", display_name="setup", roles=frozenset({"designer"}))
    deploy_bundle(uow(), designer, {**files, **changes}, NOW)


def test_phone_in_two_formats_is_one_key(deployed: Factory, actors: dict[str, Actor]) -> None:
    first = _contact(deployed, actors["head"], full_name="Ivan Petrov", phone="8 (912) 345-67-89")
    found = _candidates(deployed, "Contact", {"phone": "+7 912 3456789"})
    assert [(c.record_id, c.rule, c.suggest, c.score) for c in found] == [(first, "same_phone", "merge", 95)]
    assert found[0].reasons[0] == {"field": "phone", "how": "exact", "a": "+7 912 3456789",
                                   "b": "8 (912) 345-67-89", "score": 100.0}
    with deployed() as u:
        assert ("phone", "+79123456789") in u.quality.keys_of(first)
        assert u.records.get(first).data["phone"] == "8 (912) 345-67-89"  # the value stays as typed


def test_email_case_and_spaces_do_not_matter(deployed: Factory, actors: dict[str, Actor]) -> None:
    first = _contact(deployed, actors["head"], full_name="Anna Smirnova", email="Anna.Smirnova@Example.com")
    found = _candidates(deployed, "Contact", {"full_name": "A. Smirnova", "email": " anna.smirnova@example.COM "})
    assert [(c.record_id, c.rule, c.score) for c in found] == [(first, "same_email", 100.0)]


@pytest.mark.parametrize("other", ["Ivan Petorv", "Иван Петров", "Petrov Ivan", "Петров  Иван", "Iwan Petrow"])
def test_similar_name_in_same_organization(deployed: Factory, actors: dict[str, Actor], other: str) -> None:
    org = _org(deployed, actors["head"])
    first = _contact(deployed, actors["head"], full_name="Ivan Petrov", organization=org)
    _contact(deployed, actors["head"], full_name="Olga Sidorova", organization=org)
    found = _candidates(deployed, "Contact", {"full_name": other, "organization": org})
    assert [(c.record_id, c.rule) for c in found] == [(first, "similar_name_same_org")]
    assert found[0].score >= 88
    assert {r["field"] for r in found[0].reasons} == {"full_name", "organization"}


def test_same_name_without_disagreeing_numbers(deployed: Factory, actors: dict[str, Actor]) -> None:
    first = _contact(deployed, actors["head"], full_name="Ivan Petrov", email="ivan@one.ru")
    found = _candidates(deployed, "Contact", {"full_name": "Петров Иван", "phone": "+79990001122"})
    assert [(c.record_id, c.rule, c.score) for c in found] == [(first, "similar_name_no_conflict", 90)]


def test_namesakes_with_other_numbers_are_no_duplicates(deployed: Factory, actors: dict[str, Actor]) -> None:
    _contact(deployed, actors["head"], full_name="Ivan Petrov", phone="+79123456789", email="ivan@one.ru")
    assert _candidates(deployed, "Contact", {"full_name": "Ivan Petrov", "phone": "+79990001122"}) == []
    assert _candidates(deployed, "Contact", {"full_name": "Ivan Petrov", "email": "ivan@two.ru"}) == []


def test_the_learned_rule_finds_what_the_others_miss_and_they_outrank_it(deployed: Factory,
                                                                       actors: dict[str, Actor]) -> None:
    """crm_model's same_person (probabilistic, untrained defaults): a name typo and a phone with one digit
    wrong is a pair no exact or fuzzy rule finds; where another rule matches, that rule's score wins."""
    first = _contact(deployed, actors["head"], full_name="Ivan Petrov", phone="+79123456789")
    found = _candidates(deployed, "Contact", {"full_name": "Iwan Petrow", "phone": "+79123456780"})
    assert [(c.record_id, c.rule, c.score) for c in found] == [(first, "same_person", 85.0)]
    levels = {r["field"]: r.get("level") for r in found[0].reasons}
    assert (levels["full_name"], levels["phone"]) == ("exact", "one_digit")  # Iwan Petrow folds to Ivan Petrov
    same = _candidates(deployed, "Contact", {"full_name": "Petrov Ivan", "phone": "89123456789"})
    assert [(c.rule, c.score) for c in same] == [("same_phone", 95)]


def test_same_phone_other_person_is_suggested_as_related(deployed: Factory, actors: dict[str, Actor]) -> None:
    husband = _contact(deployed, actors["head"], full_name="Ivan Petrov", phone="+79123456789")
    found = _candidates(deployed, "Contact", {"full_name": "Maria Kuznetsova", "phone": "89123456789"})
    assert [(c.record_id, c.rule, c.suggest) for c in found] == [(husband, "household", "related")]
    same = _candidates(deployed, "Contact", {"full_name": "Petrov Ivan Sergeevich", "phone": "89123456789"})
    assert [(c.rule, c.suggest) for c in same] == [("same_phone", "merge")]  # a middle name more: same person


def test_same_email_outranks_the_household_exception(deployed: Factory, actors: dict[str, Actor]) -> None:
    first = _contact(deployed, actors["head"], full_name="Mark Cooper", phone="+79123456789", email="mc@x.ru")
    found = _candidates(deployed, "Contact", {"full_name": "Кпуер Марк", "phone": "+79123456789",
                                              "email": "MC@x.ru"})
    assert [(c.record_id, c.rule, c.suggest) for c in found] == [(first, "same_email", "merge")]


def test_warn_opens_a_pair_found_by_create_and_update(deployed: Factory, actors: dict[str, Actor]) -> None:
    first = _contact(deployed, actors["head"], full_name="Ivan Petrov", phone="+79123456789")
    second = _contact(deployed, actors["head"], full_name="Ivan Petrov", phone="8 912 345 67 89")
    third = _contact(deployed, actors["head"], full_name="Petr Ivanov", email="p@example.com")
    assert _pairs(deployed, "Contact") == [(first, second, "same_phone", "create")]
    update_record(deployed(), actors["head"], third, {"email": "P@Example.com"}, NOW)  # same key: no new pair
    fourth = _contact(deployed, actors["head"], full_name="Anna Smirnova")
    update_record(deployed(), actors["head"], fourth, {"email": "p@example.com"}, NOW + timedelta(hours=1))
    assert (third, fourth, "same_email", "update") in _pairs(deployed, "Contact")


def test_block_refuses_the_create_naming_the_record_and_field(deployed: Factory, actors: dict[str, Actor]) -> None:
    first = _org(deployed, actors["head"], "Romashka", tax_id="7701234567")
    with pytest.raises(ValidationError) as caught:
        _org(deployed, actors["head"], "Romashka Trade", tax_id="77 0123 4567")
    assert caught.value.errors == {"tax_id": [f"same as Organization #{first} Romashka"]}
    with deployed() as u:
        assert u.quality.count_records("Organization") == 1  # rolled back
    other = _org(deployed, actors["head"], "Vasilek", tax_id="7709999999")
    with pytest.raises(ValidationError):
        update_record(deployed(), actors["head"], other, {"tax_id": "7701234567"}, NOW)


def test_link_policy_links_the_new_record(deployed: Factory, actors: dict[str, Actor],
                                          bundle_files: dict[str, str]) -> None:
    text = bundle_files["crm_model/duplicates/lead.yaml"].replace("on_create: warn", "on_create: link")
    _redeploy(deployed, bundle_files, {"crm_model/duplicates/lead.yaml": text})
    first = create_record(deployed(), actors["head"], "Lead", {"title": "A", "email": "x@y.ru"}, NOW).id
    second = create_record(deployed(), actors["head"], "Lead", {"title": "B", "email": "X@Y.RU"}, NOW).id
    with deployed() as u:
        links = [(link.from_record_id, link.to_record_id) for link in u.links.outgoing(second)
                 if link.kind == DUPLICATE_LINK]
        assert links == [(second, first)]
    assert _pairs(deployed, "Lead") == [(first, second, "same_email", "create")]


def test_scan_finds_pairs_and_keeps_decisions(deployed: Factory, actors: dict[str, Actor]) -> None:
    org = _org(deployed, actors["head"], "Vector")
    ids = [_contact(deployed, actors["head"], full_name=name, organization=org)
           for name in ("Sergei Volkov", "Volkov Sergei", "Nina Orlova", "Нина Орлова", "Pavel Egorov")]
    with deployed() as u:  # forget what the creates found
        for pair in u.quality.queue("Contact", None, limit=500):
            u.session.delete(pair)
        u.commit()
    bundle, _ = active_bundle(deployed())
    report = scan(deployed(), bundle, "Contact", NOW)
    assert (report.records, report.found, report.new) == (5, 2, 2)
    assert sorted(_pairs(deployed, "Contact")) == [(ids[0], ids[1], "similar_name_same_org", "scan"),
                                                   (ids[2], ids[3], "similar_name_same_org", "scan")]
    with deployed() as u:
        pair = u.quality.pair_between(ids[2], ids[3])
        pair.status, pair.decided_at, pair.decided_by = "dismissed", NOW, "hank"
        u.commit()
    again = scan(deployed(), bundle, "Contact", NOW + timedelta(days=1))
    assert (again.found, again.new) == (2, 0)
    assert _pairs(deployed, "Contact") == [(ids[0], ids[1], "similar_name_same_org", "scan")]
    assert len(_pairs(deployed, "Contact", "dismissed")) == 1


def test_merged_records_are_ignored(deployed: Factory, actors: dict[str, Actor]) -> None:
    first = _contact(deployed, actors["head"], full_name="Ivan Petrov", phone="+79123456789")
    second = _contact(deployed, actors["head"], full_name="Ivan Petrov", phone="+79123456789")
    third = _contact(deployed, actors["head"], full_name="Ivan Petrov", phone="+79123456789")
    assert len(_pairs(deployed, "Contact")) == 3
    with deployed() as u:
        u.records.get(second).merged_into_id = first
        u.commit()
    assert _pairs(deployed, "Contact") == [(first, third, "same_phone", "create")]
    found = _candidates(deployed, "Contact", {"full_name": "Ivan Petrov", "phone": "+79123456789"})
    assert sorted(c.record_id for c in found) == [first, third]
    bundle, _ = active_bundle(deployed())
    assert scan(deployed(), bundle, "Contact", NOW).records == 2
    assert rebuild_keys(deployed(), bundle, "Contact") == 2
    with deployed() as u:
        assert u.quality.keys_of(second) == []
        assert u.quality.keys_of(first)


def test_rebuild_keys_keys_records_written_before_the_rules(deployed: Factory, actors: dict[str, Actor]) -> None:
    first = _contact(deployed, actors["head"], full_name="Ivan Petrov", phone="+79123456789")
    with deployed() as u:
        u.quality.delete_entity_keys("Contact")
        u.commit()
    assert _candidates(deployed, "Contact", {"full_name": "X Y", "phone": "+79123456789"}) == []
    bundle, _ = active_bundle(deployed())
    assert rebuild_keys(deployed(), bundle, "Contact") == 1
    assert [c.record_id for c in _candidates(deployed, "Contact", {"full_name": "Ivan Petrov",
                                                                   "phone": "+79123456789"})] == [first]


def test_scheduled_scan_runs_once_per_period(deployed: Factory, actors: dict[str, Actor]) -> None:
    _contact(deployed, actors["head"], full_name="Ivan Petrov", phone="+79123456789")
    _contact(deployed, actors["head"], full_name="Ivan Petrov", phone="+79123456789")
    first = run_scheduled_scans(deployed, NOW)
    assert sorted(r.entity for r in first) == ["Contact", "Lead", "Organization"]
    assert run_scheduled_scans(deployed, NOW + timedelta(hours=23)) == []
    later = run_scheduled_scans(deployed, NOW + timedelta(days=1))
    assert [r.found for r in later if r.entity == "Contact"] == [1]
    with deployed() as u:
        row = u.schedules.get("duplicates:Contact")
        assert row is not None
        assert row.next_run_at == NOW + timedelta(days=2)


def test_shipped_bundle_configures_three_entities(bundle_files: dict[str, str]) -> None:
    bundle = load_bundle(bundle_files)
    assert sorted(bundle.duplicates) == ["Contact", "Lead", "Organization"]
    assert bundle.duplicates["Organization"].rules[0].on_create == "block"


def test_queue_pages_by_score(deployed: Factory, actors: dict[str, Actor]) -> None:
    a = _contact(deployed, actors["head"], full_name="Ivan Petrov", phone="+79123456789", email="ip@x.ru")
    b = _contact(deployed, actors["head"], full_name="Ivan Petrov", phone="+79123456789")  # same_phone 95
    c = _contact(deployed, actors["head"], full_name="Ivan Petrov", email="IP@x.ru")  # same_email 100 with a
    d = _contact(deployed, actors["head"], full_name="Olga Petrova", phone="+79123456789")  # household 60
    with deployed() as u:
        scores = [(p.record_a_id, p.record_b_id, p.score) for p in u.quality.queue("Contact", limit=500)]
        assert [s for _, _, s in scores] == sorted((s for _, _, s in scores), reverse=True)
        assert scores[0] == (a, c, 100.0)
        assert (a, d, 60.0) in scores
        page = u.quality.queue("Contact", limit=2, offset=1)
        assert [(p.record_a_id, p.record_b_id, p.score) for p in page] == scores[1:3]
        assert u.quality.queue_count("Contact") == len(scores)
        assert u.quality.queue_count("Lead") == 0
        assert {(p.record_a_id, p.record_b_id) for p in u.quality.pairs_of(b)} == {
            (x, y) for x, y, _ in scores if b in (x, y)}


def test_organizations_meet_without_legal_forms(deployed: Factory, actors: dict[str, Actor]) -> None:
    first = _org(deployed, actors["head"], "ООО «Ромашка»", city="Москва")
    same = _candidates(deployed, "Organization", {"name": "Romashka LLC", "city": "Moscow"})
    assert [(c.record_id, c.rule, c.score) for c in same] == [(first, "same_name", 95)]
    similar = _candidates(deployed, "Organization", {"name": "Ромашка Трейд", "city": " москва "})
    assert [(c.record_id, c.rule) for c in similar] == [(first, "similar_name_same_city")]
    assert _candidates(deployed, "Organization", {"name": "Ромашка Трейд", "city": "Казань"}) == []
