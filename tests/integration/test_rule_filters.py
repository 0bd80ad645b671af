"""A rule's `where:` filter (docs/rules.md): the rule fires only for records the filter matches — on a record
write, on a batch of created records and on a scheduled run — on every backend."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from engine.services import records, rules
from engine.services.bulk_records import bulk_ready, insert_records
from engine.services.deployments import active_bundle
from engine.services.views import Actor
from tests.conftest import NOW
from tests.integration.rules_bundle import MakeUow, deploy, make_people, rule

NORTH = {"field": "region", "op": "eq", "value": "north"}
SCORED = {"field": "score", "op": "gte", "value": 10}


@pytest.fixture
def people(make_uow: MakeUow) -> dict[str, Actor]:
    deploy(make_uow)
    return make_people(make_uow)


def create(make_uow: MakeUow, actor: Actor, data: dict[str, Any], entity: str = "Contact") -> int:
    return records.create_record(make_uow(), actor, entity, data, NOW, owner_id=None).id


def status(make_uow: MakeUow, actor: Actor, record_id: int) -> Any:
    return records.get_record(make_uow(), actor, record_id).data.get("status")


def test_a_rule_with_a_filter_fires_only_for_matching_records(make_uow: MakeUow, people: dict[str, Actor]) -> None:
    ada = people["admin"]
    deploy(
        make_uow,
        rule(
            "vip",
            "Contact",
            ["created", {"changed": ["region", "score"]}],
            [{"set": {"status": "vip"}}],
            otherwise=[{"set": {"status": "regular"}}],
            where={"all": [NORTH, SCORED]},
        ),
    )
    both = create(make_uow, ada, {"full_name": "Nora", "region": "north", "score": 12})
    south = create(make_uow, ada, {"full_name": "Sven", "region": "south", "score": 12})
    low = create(make_uow, ada, {"full_name": "Nils", "region": "north", "score": 5})
    assert [status(make_uow, ada, i) for i in (both, south, low)] == ["vip", "regular", "regular"]

    records.update_record(make_uow(), ada, south, {"region": "north"}, NOW)  # the write is seen by the filter
    records.update_record(make_uow(), ada, both, {"score": 9}, NOW)
    assert [status(make_uow, ada, i) for i in (both, south, low)] == ["regular", "vip", "regular"]


def test_a_filter_and_a_condition_must_both_hold(make_uow: MakeUow, people: dict[str, Actor]) -> None:
    ada = people["admin"]
    deploy(
        make_uow,
        rule(
            "north_scored",
            "Contact",
            ["created"],
            [{"set": {"status": "picked"}}],
            where=NORTH,
            when="score is not None and score > 3",
        ),
    )
    picked = create(make_uow, ada, {"full_name": "A", "region": "north", "score": 4})
    unscored = create(make_uow, ada, {"full_name": "B", "region": "north"})
    southern = create(make_uow, ada, {"full_name": "C", "region": "south", "score": 4})
    assert [status(make_uow, ada, i) for i in (picked, unscored, southern)] == ["picked", None, None]


def test_a_filter_may_count_linked_records(make_uow: MakeUow, people: dict[str, Actor]) -> None:
    ada = people["admin"]
    twice = {
        "linked": {
            "entity": "Deal",
            "via": "client",
            "aggregate": "count",
            "op": "gte",
            "value": 2,
            "where": {"field": "stage", "op": "eq", "value": "won"},
        }
    }
    deploy(
        make_uow,
        rule(
            "repeat_buyer",
            "Contact",
            [{"linked_created": {"entity": "Deal", "via": "client"}}],
            [{"set": {"status": "repeat"}}],
            where=twice,
        ),
    )
    ann = create(make_uow, ada, {"full_name": "Ann"})
    bob = create(make_uow, ada, {"full_name": "Bob"})
    create(make_uow, ada, {"title": "d1", "client": ann, "stage": "won"}, "Deal")
    create(make_uow, ada, {"title": "d2", "client": bob, "stage": "won"}, "Deal")
    create(make_uow, ada, {"title": "d3", "client": bob, "stage": "lost"}, "Deal")
    assert (status(make_uow, ada, ann), status(make_uow, ada, bob)) == (None, None)
    create(make_uow, ada, {"title": "d4", "client": ann, "stage": "won"}, "Deal")
    assert (status(make_uow, ada, ann), status(make_uow, ada, bob)) == ("repeat", None)


def test_records_created_in_a_batch_are_filtered_alike(make_uow: MakeUow, people: dict[str, Actor]) -> None:
    ada = people["admin"]
    deploy(
        make_uow,
        rule(
            "vip",
            "Contact",
            ["created"],
            [{"set": {"status": "vip"}}],
            otherwise=[{"set": {"status": "regular"}}],
            where={"all": [NORTH, SCORED]},
        ),
    )
    with make_uow() as uow:
        bundle, _ = active_bundle(uow)
        entity = bundle.entities["Contact"]
        assert bulk_ready(bundle, entity)
        rows = insert_records(
            uow,
            ada,
            entity,
            [
                {"full_name": "A", "region": "north", "score": 12},
                {"full_name": "B", "region": "south", "score": 12},
                {"full_name": "C", "region": "north", "score": 1},
                {"full_name": "D", "region": "north", "score": 10},
            ],
            NOW,
            start_processes=False,
        )
        ids = [row.id for row in rows]
        uow.commit()
    assert [status(make_uow, ada, i) for i in ids] == ["vip", "regular", "regular", "vip"]


def test_a_filter_with_linked_records_keeps_creation_off_the_batch_path(
    make_uow: MakeUow, people: dict[str, Actor]
) -> None:
    deploy(
        make_uow,
        rule(
            "has_deal",
            "Contact",
            ["created"],
            [{"set": {"status": "client"}}],
            where={"linked": {"entity": "Deal", "via": "client"}},
        ),
    )
    with make_uow() as uow:
        bundle, _ = active_bundle(uow)
        assert not bulk_ready(bundle, bundle.entities["Contact"])


def scores(make_uow: MakeUow, actor: Actor, ids: list[int]) -> list[Any]:
    return [records.get_record(make_uow(), actor, i).data.get("score") for i in ids]


@pytest.mark.parametrize("otherwise", [None, [{"set": {"status": "skipped"}}]])
def test_a_scheduled_rule_with_a_filter_acts_on_matching_records_only(
    make_uow: MakeUow, people: dict[str, Actor], monkeypatch: pytest.MonkeyPatch, otherwise: list[Any] | None
) -> None:
    ada = people["admin"]
    monkeypatch.setattr(rules, "BATCH", 2)  # several batches: the filter holds across keyset pages
    deploy(
        make_uow,
        rule(
            "nightly",
            "Contact",
            [{"schedule": "P1D"}],
            [{"compute": {"score": "(score or 0) + 1"}}],
            where=NORTH,
            otherwise=otherwise,
        ),
    )
    ids = [
        create(make_uow, ada, {"full_name": f"c{i}", "region": region})
        for i, region in enumerate(["north", "south", "north", "north", None, "north"])
    ]
    assert rules.run_scheduled_rules(make_uow, NOW) == 1
    assert scores(make_uow, ada, ids) == [1, None, 1, 1, None, 1]
    assert rules.run_scheduled_rules(make_uow, NOW + timedelta(days=1)) == 1
    assert scores(make_uow, ada, ids) == [2, None, 2, 2, None, 2]
    expected = "skipped" if otherwise else None
    assert [status(make_uow, ada, i) for i in ids] == [None, expected, None, None, expected, None]


def test_let_aggregates_may_count_linked_records_through_a_filter(make_uow: MakeUow, people: dict[str, Actor]) -> None:
    ada = people["admin"]
    won = {"field": "stage", "op": "eq", "value": "won"}
    big_won = {"all": [won, {"field": "amount", "op": "gt", "value": 1}]}
    deploy(
        make_uow,
        rule(
            "by_won_deals",
            "Contact",
            [
                {"linked_changed": {"entity": "Deal", "via": "client", "fields": ["stage"]}},
                {"linked_created": {"entity": "Deal", "via": "client"}},
            ],
            [{"compute": {"status": "'many' if won >= 2 else 'one'", "revenue": "big"}}],
            let={
                "won": {"count": "Deal", "via": "client", "where": won},
                "big": {"sum": "amount", "of": "Deal", "via": "client", "where": big_won},
            },
            when="won >= 1",
        ),
    )
    ann = create(make_uow, ada, {"full_name": "Ann"})
    create(make_uow, ada, {"title": "d1", "client": ann, "stage": "new", "amount": "5"}, "Deal")
    assert status(make_uow, ada, ann) is None
    create(make_uow, ada, {"title": "d2", "client": ann, "stage": "won", "amount": "0.50"}, "Deal")
    data = records.get_record(make_uow(), ada, ann).data
    assert (data["status"], data["revenue"]) == ("one", "0")
    create(make_uow, ada, {"title": "d3", "client": ann, "stage": "won", "amount": "7.25"}, "Deal")
    data = records.get_record(make_uow(), ada, ann).data
    assert (data["status"], data["revenue"]) == ("many", "7.25")
