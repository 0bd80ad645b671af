"""Finding records by filters on real data; every case runs on SQLite and on PostgreSQL with the same answers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from engine.errors import Forbidden, ValidationError
from engine.services.deployments import deploy_bundle
from engine.services.finding import count_records, explain, find_records, iter_record_ids
from engine.services.links import link_records
from engine.services.records import update_record
from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.conftest import NOW
from tests.integration.find_data import IDLE_ORGANIZATIONS, PHONE_BUYERS, PROBABLE_UNANSWERED, ago, build

Uows = Callable[[], UnitOfWork]


@pytest.fixture
def data(deployed: Uows, actors: dict[str, Actor]) -> dict[str, int]:
    return build(deployed, actors)


def found(make_uow: Uows, actor: Actor, flt: dict[str, Any], ids: dict[str, int]) -> list[str]:
    by_id = {v: k for k, v in ids.items()}
    page = find_records(make_uow(), actor, flt, NOW, limit=500)
    assert page.total == len(page.items)
    return [by_id[item.id] for item in page.items]


def where(entity: str, condition: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {"entity": entity, **({"where": condition} if condition else {}), **extra}


def test_the_three_examples_of_the_issue(deployed: Uows, actors: dict[str, Actor], data: dict[str, int]) -> None:
    admin = actors["admin"]
    assert found(deployed, admin, PHONE_BUYERS, data) == ["alice"]
    assert found(deployed, admin, IDLE_ORGANIZATIONS, data) == ["quiet", "acme"]
    assert found(deployed, admin, PROBABLE_UNANSWERED, data) == ["carol"]


DEALS = {"d_alice", "d_alice2", "d_bob", "d_carol", "d_dan", "d_erin"}
FIELD_CASES: list[tuple[str, dict[str, Any], set[str]]] = [
    ("Deal", {"field": "amount", "op": "gt", "value": 700}, DEALS - {"d_bob"}),
    ("Deal", {"field": "amount", "op": "gte", "value": "720.5"}, DEALS - {"d_bob"}),
    ("Deal", {"field": "amount", "op": "lt", "value": 700}, {"d_bob"}),
    ("Deal", {"field": "amount", "op": "lte", "value": 650}, {"d_bob"}),
    ("Deal", {"field": "amount", "op": "between", "value": [650, "800"]}, {"d_alice", "d_bob", "d_erin"}),
    ("Deal", {"field": "amount", "op": "eq", "value": 800}, {"d_alice"}),
    ("Deal", {"field": "amount", "op": "in", "value": [650, "1000.00"]}, {"d_bob", "d_dan"}),
    ("Deal", {"field": "amount", "op": "ne", "value": 800}, DEALS - {"d_alice"}),
    ("Deal", {"field": "amount", "op": "not_in", "value": [800, 650]}, DEALS - {"d_alice", "d_bob"}),
    ("Deal", {"field": "stage", "op": "in", "value": ["won"]}, {"d_alice", "d_alice2", "d_bob", "d_erin"}),
    ("Deal", {"field": "stage", "op": "not_in", "value": ["won", "lost"]}, {"d_carol"}),
    ("Deal", {"field": "close_date", "op": "gt", "value": "2016-05-31"}, {"d_alice2", "d_erin"}),
    ("Deal", {"field": "close_date", "op": "lte", "value": "2016-04-20"}, {"d_alice", "d_bob"}),
    ("Deal", {"field": "title", "op": "contains", "value": "ALICE"}, {"d_alice", "d_alice2"}),
    ("Deal", {"field": "title", "op": "starts_with", "value": "deal d_b"}, {"d_bob"}),
    ("Deal", {"field": "title", "op": "contains", "value": "%"}, set()),
    ("Deal", {"field": "description", "op": "is_empty"}, DEALS),
    ("Deal", {"field": "description", "op": "is_not_empty"}, set()),
    ("Deal", {"field": "loss_reason", "op": "ne", "value": "competitor"}, DEALS),
    ("Contact", {"field": "tags", "op": "has_any", "value": ["vip"]}, {"alice", "dan"}),
    ("Contact", {"field": "tags", "op": "has_all", "value": ["vip", "retail"]}, {"alice"}),
    ("Contact", {"field": "tags", "op": "eq", "value": "retail"}, {"alice", "bob"}),
    ("Contact", {"field": "tags", "op": "ne", "value": "vip"}, {"bob", "carol", "erin"}),
    ("Contact", {"field": "tags", "op": "not_in", "value": ["vip", "retail"]}, {"carol", "erin"}),
    ("Contact", {"field": "tags", "op": "is_empty"}, {"carol", "erin"}),
    ("Contact", {"field": "tags", "op": "is_not_empty"}, {"alice", "bob", "dan"}),
    ("Contact", {"field": "status", "op": "eq", "value": "active", "descendants": True}, {"alice", "bob", "erin"}),
    ("Contact", {"field": "status", "op": "in", "value": ["potential"], "descendants": True}, {"carol", "dan"}),
    ("Contact", {"field": "status", "op": "ne", "value": "active", "descendants": True}, {"carol", "dan"}),
    ("Contact", {"field": "status", "op": "eq", "value": "active"}, set()),
    ("Contact", {"field": "region", "op": "is_empty"}, {"bob", "carol", "dan", "erin"}),
    ("Contact", {"field": "full_name", "op": "contains", "value": "o'neil"}, {"carol"}),
    ("Contact", {"field": "email", "op": "eq", "value": "x' OR '1'='1"}, set()),
    ("Contact", {"field": "full_name", "op": "eq", "value": "Bob Brown'); DROP TABLE record; --"}, set()),
    ("Contact", {"field": "owner", "op": "eq", "value": "sam"}, {"alice", "carol", "dan"}),
    ("Contact", {"field": "owner", "op": "ne", "value": "sam"}, {"bob", "erin"}),
    ("Contact", {"field": "owner", "op": "in", "value": ["sue", "nobody"]}, {"bob"}),
    ("Contact", {"field": "owner", "op": "is_empty"}, {"erin"}),
    ("Contact", {"field": "title", "op": "starts_with", "value": "a"}, {"alice"}),
    ("Contact", {"field": "created_by", "op": "eq", "value": "ada"}, {"alice", "bob", "carol", "dan", "erin"}),
    ("Contact", {"field": "created_at", "op": "gt", "value": "2026-03-02T09:00:00Z"}, set()),
    ("Contact", {"field": "updated_at", "op": "within_last_days", "value": 1},
     {"alice", "bob", "carol", "dan", "erin"}),
    ("Contact", {"not": {"field": "tags", "op": "has_any", "value": ["vip"]}}, {"bob", "carol", "erin"}),
    ("Contact", {"any": [{"field": "owner", "op": "is_empty"}, {"field": "tags", "op": "eq", "value": "vip"}]},
     {"alice", "dan", "erin"}),
    ("Contact", {"not": {"all": [{"field": "region", "op": "eq", "value": "south"},
                                 {"field": "tags", "op": "has_any", "value": ["vip"]}]}},
     {"bob", "carol", "dan", "erin"}),
    ("Product", {"field": "active", "op": "eq", "value": True}, {"phone", "laptop"}),
    ("Product", {"field": "active", "op": "ne", "value": True}, set()),
    ("Product", {"field": "price", "op": "lt", "value": "1000"}, {"phone"}),
    ("Product", {"field": "category", "op": "in", "value": ["goods"], "descendants": True}, {"phone", "laptop"}),
    ("Activity", {"field": "happened_at", "op": "within_last_days", "value": 4}, {"a2", "a3", "a5"}),
    ("Activity", {"field": "happened_at", "op": "older_than_days", "value": 30}, {"a6", "o1"}),
    ("Activity", {"field": "happened_at", "op": "gt", "value": ago(2.5, "+03:00")}, {"a2", "a3"}),
    ("Activity", {"field": "happened_at", "op": "between", "value": [ago(10.5), ago(2.5, "-05:00")]},
     {"a4", "a5", "o2"}),
    ("Activity", {"field": "happened_at", "op": "eq", "value": ago(10, "+03:00")}, {"a4"}),
    ("Activity", {"field": "happened_at", "op": "eq", "value": ago(2, "+00:00")}, {"a2"}),
    ("Activity", {"field": "happened_at", "op": "lte", "value": ago(20)}, {"a1", "a6", "o1"}),
]


def test_field_operators(deployed: Uows, actors: dict[str, Actor], data: dict[str, int]) -> None:
    wrong = {}
    for entity, condition, expected in FIELD_CASES:  # one data set for all cases: building it is the slow part
        got = set(found(deployed, actors["admin"], where(entity, condition), data))
        if got != expected:
            wrong[str(condition)] = (sorted(got), sorted(expected))
    assert wrong == {}


def test_reference_and_id_fields(deployed: Uows, actors: dict[str, Actor], data: dict[str, int]) -> None:
    admin = actors["admin"]
    flt = where("Deal", {"field": "product", "op": "eq", "value": data["laptop"]})
    assert found(deployed, admin, flt, data) == ["d_alice2"]
    flt = where("Contact", {"field": "id", "op": "in", "value": [data["bob"], data["alice"]]})
    assert found(deployed, admin, flt, data) == ["bob", "alice"]


def linked_client(aggregate: str, **extra: Any) -> dict[str, Any]:
    return {"linked": {"entity": "Deal", "via": "client", "aggregate": aggregate, **extra}}


AGGREGATE_CASES: list[tuple[dict[str, Any], set[str]]] = [
    (linked_client("count", op="gte", value=2), {"alice"}),
    (linked_client("count", op="eq", value=1), {"bob", "carol", "dan", "erin"}),
    (linked_client("count", op="eq", value=0, where={"field": "stage", "op": "eq", "value": "won"}), {"carol", "dan"}),
    (linked_client("sum", field="amount", op="gt", value=2000), {"alice"}),
    (linked_client("sum", field="amount", op="between", value=[700, 1000]), {"carol", "dan", "erin"}),
    (linked_client("min", field="amount", op="lt", value=700), {"bob"}),
    (linked_client("max", field="close_date", op="gte", value="2017-01-01"), {"alice"}),
    (linked_client("exists", where={"field": "stage", "op": "eq", "value": "lost"}), {"dan"}),
    (linked_client("none", where={"field": "stage", "op": "eq", "value": "won"}), {"carol", "dan"}),
    (linked_client("last", field="stage", order_by="close_date", op="eq", value="won"), {"alice", "bob", "erin"}),
    (linked_client("last", field="amount", order_by="close_date", op="gt", value=1000), {"alice"}),
    ({"linked": {"entity": "Activity", "via": "contact", "aggregate": "max", "field": "happened_at",
                 "op": "within_last_days", "value": 5}}, {"carol", "dan"}),
    ({"not": linked_client("exists", where={"field": "amount", "op": "gt", "value": 850})}, {"bob", "erin"}),
]


def test_linked_aggregates(deployed: Uows, actors: dict[str, Actor], data: dict[str, int]) -> None:
    wrong = {}
    for condition, expected in AGGREGATE_CASES:
        got = set(found(deployed, actors["admin"], where("Contact", condition), data))
        if got != expected:
            wrong[str(condition)] = (sorted(got), sorted(expected))
    assert wrong == {}


def test_outgoing_reference_and_manual_links_in_both_directions(deployed: Uows, actors: dict[str, Actor],
                                                                data: dict[str, int]) -> None:
    admin = actors["admin"]
    computers = {"field": "category", "op": "eq", "value": "computers"}
    flt = where("Deal", {"linked": {"via": "product", "where": computers}})
    assert found(deployed, admin, flt, data) == ["d_alice2"]
    flt = where("Deal", {"linked": {"via": "client", "aggregate": "exists",
                                    "where": {"field": "tags", "op": "has_any", "value": ["vip"]}}})
    assert set(found(deployed, admin, flt, data)) == {"d_alice", "d_alice2", "d_dan"}
    link_records(deployed(), admin, data["alice"], data["bob"], "spouse", NOW)
    spouses = where("Contact", {"linked": {"link_kind": "spouse", "entity": "Contact", "aggregate": "exists"}})
    assert set(found(deployed, admin, spouses, data)) == {"alice", "bob"}
    flt = where("Contact", {"linked": {"link_kind": "spouse", "entity": "Contact", "aggregate": "exists",
                                       "where": {"field": "owner", "op": "eq", "value": "sue"}}})
    assert found(deployed, admin, flt, data) == ["alice"]
    flt = where("Contact", {"linked": {"link_kind": "related", "entity": "Contact", "aggregate": "exists"}})
    assert found(deployed, admin, flt, data) == []


def test_sorting_by_fields_is_stable(deployed: Uows, actors: dict[str, Actor], data: dict[str, int]) -> None:
    admin = actors["admin"]
    by_amount = where("Deal", sort=[{"field": "amount", "dir": "desc"}])
    assert found(deployed, admin, by_amount, data) == ["d_alice2", "d_dan", "d_carol", "d_alice", "d_erin", "d_bob"]
    by_when = where("Activity", {"field": "contact", "op": "is_not_empty"}, sort=[{"field": "happened_at"}])
    assert found(deployed, admin, by_when, data) == ["a6", "a1", "a4", "a5", "a2", "a3"]
    by_owner = where("Contact", sort=[{"field": "owner"}, {"field": "title", "dir": "desc"}])
    assert found(deployed, admin, by_owner, data) == ["dan", "carol", "alice", "bob", "erin"]  # sam, sue, nobody
    by_owner["sort"][0]["dir"] = "desc"
    assert found(deployed, admin, by_owner, data) == ["bob", "dan", "carol", "alice", "erin"]  # no owner: last
    assert found(deployed, admin, where("Contact"), data) == ["erin", "dan", "carol", "bob", "alice"]  # newest first


def test_visibility_and_paging(deployed: Uows, actors: dict[str, Actor], data: dict[str, int]) -> None:
    everyone = where("Contact")
    assert found(deployed, actors["sales"], everyone, data) == ["dan", "carol", "alice"]
    assert found(deployed, actors["sales2"], everyone, data) == ["bob"]
    assert count_records(deployed(), actors["auditor"], everyone, NOW) == 5
    assert count_records(deployed(), actors["sales"], PHONE_BUYERS, NOW) == 1
    assert count_records(deployed(), actors["sales2"], PHONE_BUYERS, NOW) == 0
    page = find_records(deployed(), actors["admin"], everyone, NOW, limit=2, offset=2)
    assert ([r.id for r in page.items], page.total) == ([data["carol"], data["bob"]], 5)
    with pytest.raises(Forbidden):
        find_records(deployed(), actors["designer"], everyone, NOW)


def test_iter_record_ids_walks_keyset_batches(deployed: Uows, actors: dict[str, Actor], data: dict[str, int]) -> None:
    batches = list(iter_record_ids(deployed(), actors["admin"], where("Contact"), NOW, batch=2))
    assert batches == [[data["alice"], data["bob"]], [data["carol"], data["dan"]], [data["erin"]]]
    assert list(iter_record_ids(deployed(), actors["sales2"], where("Contact"), NOW, batch=2)) == [[data["bob"]]]


def test_merged_records_never_match(deployed: Uows, actors: dict[str, Actor], data: dict[str, int]) -> None:
    uow = deployed()
    with uow:
        row = uow.records.get(data["erin"])
        assert row is not None
        row.merged_into_id = data["alice"]
        deal = uow.records.get(data["d_alice2"])
        assert deal is not None
        deal.merged_into_id = data["d_alice"]
        uow.commit()
    admin = actors["admin"]
    assert "erin" not in found(deployed, admin, where("Contact"), data)
    assert found(deployed, admin, where("Contact", linked_client("count", op="gte", value=2)), data) == []


def test_custom_field_added_by_yaml_is_filterable(deployed: Uows, actors: dict[str, Actor], data: dict[str, int],
                                                  bundle_files: dict[str, str]) -> None:
    files = dict(bundle_files)
    files["crm_model/entities/contact.yaml"] += (
        "  shoe_size:    {type: integer, label: {en: Shoe size, ru: Размер обуви}}\n"
        "  since:        {type: date, label: {en: Client since, ru: Клиент с}}\n")
    deploy_bundle(deployed(), actors["designer"], files, NOW)
    update_record(deployed(), actors["admin"], data["bob"], {"shoe_size": 44, "since": "2015-02-01"}, NOW)
    update_record(deployed(), actors["admin"], data["dan"], {"shoe_size": 39}, NOW)
    flt = where("Contact", {"field": "shoe_size", "op": "gte", "value": 40})
    assert found(deployed, actors["admin"], flt, data) == ["bob"]
    flt = where("Contact", {"field": "since", "op": "lt", "value": "2016-01-01"}, sort=[{"field": "shoe_size"}])
    assert found(deployed, actors["admin"], flt, data) == ["bob"]


def test_bad_filters_name_every_problem_by_path(deployed: Uows, actors: dict[str, Actor]) -> None:
    bad = {"entity": "Contact", "where": {"all": [{"field": "nope", "op": "eq", "value": 1},
                                                  {"field": "tags", "op": "gt", "value": 1}]}}
    with pytest.raises(ValidationError) as caught:
        find_records(deployed(), actors["admin"], bad, NOW)
    assert set(caught.value.errors) == {"where.all[0].field", "where.all[1].op"}


def test_explain_shows_parameter_names_not_values(deployed: Uows, actors: dict[str, Actor]) -> None:
    sql = explain(deployed(), PHONE_BUYERS)
    assert "record_link" in sql
    assert ":param_" in sql
    assert "'won'" not in sql
    assert "700" not in sql
    assert "'Contact'" in sql  # entity names and JSON keys are checked identifiers, inlined for the indexes
    scoped = explain(deployed(), PHONE_BUYERS, actor=actors["sales"], now=NOW)
    assert "owner_id IN" in scoped


def test_linked_none_from_the_linked_side_counts_a_missing_reference_as_no_link(
        deployed: Uows, actors: dict[str, Actor], data: dict[str, int]) -> None:
    admin = actors["admin"]
    computers = {"field": "category", "op": "eq", "value": "computers"}
    update_record(deployed(), admin, data["d_bob"], {"product": None}, NOW)
    flt = where("Deal", {"linked": {"via": "product", "aggregate": "none", "where": computers}})
    assert set(found(deployed, admin, flt, data)) == {"d_alice", "d_bob", "d_carol", "d_dan", "d_erin"}
    negated = where("Deal", {"not": {"linked": {"via": "product", "aggregate": "exists", "where": computers}}})
    assert set(found(deployed, admin, negated, data)) == {"d_alice", "d_bob", "d_carol", "d_dan", "d_erin"}
    no_won = where("Contact", {"linked": {"entity": "Deal", "via": "client", "aggregate": "none",
                                          "where": {"field": "stage", "op": "eq", "value": "won"}}})
    assert set(found(deployed, admin, no_won, data)) == {"carol", "dan"}


def test_keyset_pages_follow_every_sort_to_the_end(deployed: Uows, actors: dict[str, Actor],
                                                  data: dict[str, int]) -> None:
    from engine.services.finding import find_after

    admin = actors["admin"]
    for flt in (where("Deal", sort=[{"field": "amount", "dir": "desc"}]),
                where("Contact", sort=[{"field": "owner"}, {"field": "title", "dir": "desc"}]),
                where("Contact", sort=[{"field": "owner", "dir": "desc"}]),
                where("Activity", {"field": "contact", "op": "is_not_empty"}, sort=[{"field": "happened_at"}]),
                where("Contact")):
        whole = [item.id for item in find_records(deployed(), admin, flt, NOW, limit=500).items]
        paged: list[int] = []
        after = None
        while True:
            page = find_after(deployed(), admin, flt, NOW, after=after, limit=2)
            paged += [item.id for item in page.items]
            assert page.total == len(whole)
            if page.next_after is None:
                break
            after = page.next_after
        assert paged == whole, flt
