"""The filter model: validation by JSON path, value coercion, limits — against the shipped bundle, no database."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from engine.config.loader import load_bundle, read_bundle_dir
from engine.config.model import Bundle
from engine.errors import ValidationError
from engine.filters.model import MAX_CONDITIONS, MAX_LINK_DEPTH, parse_filter, searchable_fields
from engine.store.filter_spec import AllOf, AnyOf, FieldCondition, FieldRef, LinkedCondition, NotOf, SortKey
from tests.integration.find_data import IDLE_ORGANIZATIONS, PHONE_BUYERS, PROBABLE_UNANSWERED

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bundle() -> Bundle:
    return load_bundle(read_bundle_dir(ROOT))


def errors_of(bundle: Bundle, data: Any) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        parse_filter(bundle, data)
    return caught.value.errors


def leaf(bundle: Bundle, entity: str, condition: dict[str, Any]) -> FieldCondition:
    parsed = parse_filter(bundle, {"entity": entity, "where": condition}).where
    assert isinstance(parsed, FieldCondition)
    return parsed


def test_the_issue_examples_parse(bundle: Bundle) -> None:
    for flt in (PHONE_BUYERS, IDLE_ORGANIZATIONS, PROBABLE_UNANSWERED):
        assert parse_filter(bundle, flt).entity == flt["entity"]
    buyers = parse_filter(bundle, PHONE_BUYERS).where
    assert isinstance(buyers, LinkedCondition)
    assert (buyers.direction, buyers.entity, buyers.via, buyers.aggregate) == ("incoming", "Deal", "client", "exists")
    assert isinstance(buyers.where, AllOf)
    product = buyers.where.items[3]
    assert isinstance(product, LinkedCondition)
    assert (product.direction, product.entity) == ("outgoing", "Product")
    last = parse_filter(bundle, PROBABLE_UNANSWERED).where
    assert isinstance(last, AllOf)
    assert isinstance(last.items[1], LinkedCondition)
    assert last.items[1].field == FieldRef("result", "enum")
    assert last.items[1].order_by == FieldRef("happened_at", "datetime")


def test_values_are_coerced_per_type(bundle: Bundle) -> None:
    assert leaf(bundle, "Deal", {"field": "amount", "op": "gt", "value": "700.50"}).value == Decimal("700.50")
    assert leaf(bundle, "Deal", {"field": "amount", "op": "between", "value": [1, "2.5"]}).value == (
        Decimal(1), Decimal("2.5"))
    assert leaf(bundle, "Deal", {"field": "close_date", "op": "lt", "value": "2016-05-31"}).value == "2016-05-31"
    moment = leaf(bundle, "Activity", {"field": "happened_at", "op": "gte", "value": "2016-04-01T03:00:00+03:00"})
    assert moment.value == datetime(2016, 4, 1, tzinfo=UTC)
    day = leaf(bundle, "Activity", {"field": "happened_at", "op": "gte", "value": "2016-04-01"})
    assert day.value == datetime(2016, 4, 1, tzinfo=UTC)
    assert leaf(bundle, "Product", {"field": "active", "op": "eq", "value": False}).value is False
    assert leaf(bundle, "Deal", {"field": "client", "op": "eq", "value": "12"}).value == 12
    assert leaf(bundle, "Contact", {"field": "tags", "op": "has_any", "value": ["vip", "vip"]}).value == ("vip",)
    assert leaf(bundle, "Contact", {"field": "created_at", "op": "within_last_days", "value": 30}).value == 30
    owner = leaf(bundle, "Contact", {"field": "owner", "op": "eq", "value": "anna"})
    assert owner.field == FieldRef("owner", "owner", system=True)


def test_descendants_expand_hierarchical_codes(bundle: Bundle) -> None:
    cond = leaf(bundle, "Contact", {"field": "status", "op": "eq", "value": "potential", "descendants": True})
    assert (cond.op, cond.value) == ("in", ("potential", "interested", "probable", "unlikely"))
    cond = leaf(bundle, "Contact", {"field": "status", "op": "ne", "value": "refused", "descendants": True})
    assert (cond.op, cond.value) == ("not_in", ("refused", "lost", "missed"))
    errors = errors_of(bundle, {"entity": "Contact", "where": {"field": "full_name", "op": "eq", "value": "x",
                                                               "descendants": True}})
    assert list(errors) == ["where.descendants"]


def test_every_problem_is_reported_by_json_path(bundle: Bundle) -> None:
    errors = errors_of(bundle, {"entity": "Contact", "extra": 1, "sort": [{"field": "tags"}, {"field": "x"}],
                                "where": {"all": [
                                    {"field": "nope", "op": "eq", "value": 1},
                                    {"field": "status", "op": "eq", "value": "vip"},
                                    {"field": "full_name", "op": "gt", "value": "a"},
                                    {"any": [{"field": "email", "op": "is_empty", "value": "x"}]},
                                    {"not": {"field": "created_at", "op": "gte", "value": "yesterday"}},
                                    {"linked": {"entity": "Deal", "via": "product", "aggregate": "exists"}},
                                    {"linked": {"entity": "Deal", "via": "client", "aggregate": "sum",
                                                "field": "stage", "op": "gt", "value": 1}},
                                    {"linked": {"link_kind": "enemy", "entity": "Contact"}},
                                    {"field": "amount"},
                                    [],
                                ]}})
    assert set(errors) == {
        "extra", "sort[0].field", "sort[1].field",
        "where.all[0].field", "where.all[1].value", "where.all[2].op", "where.all[3].any[0].value",
        "where.all[4].not.value", "where.all[5].linked.via", "where.all[6].linked.field",
        "where.all[7].linked.link_kind", "where.all[8].field", "where.all[9]"}
    assert "'vip' is not a code of catalog client_status" in errors["where.all[1].value"][0]
    assert "contains" in errors["where.all[2].op"][0]


@pytest.mark.parametrize(("condition", "path", "message"), [
    ({"field": "amount", "op": "gt", "value": "12,5"}, "where.value", "number"),
    ({"field": "amount", "op": "gt", "value": True}, "where.value", "number"),
    ({"field": "amount", "op": "between", "value": [5, 1]}, "where.value", "greater"),
    ({"field": "amount", "op": "in", "value": []}, "where.value", "non-empty list"),
    ({"field": "close_date", "op": "eq", "value": "2016-02-30"}, "where.value", "YYYY-MM-DD"),
    ({"field": "close_date", "op": "within_last_days", "value": -1}, "where.value", "days"),
    ({"field": "title", "op": "contains", "value": ""}, "where.value", "non-empty"),
    ({"field": "product", "op": "eq", "value": 0}, "where.value", "record id"),
    ({"field": "stage", "op": "has_any", "value": ["won"]}, "where.op", "not an operator"),
    ({"field": "stage", "op": "like", "value": "won"}, "where.op", "not an operator"),
    ({"field": "stage"}, "where.op", "required"),
    ({"linked": {"entity": "Activity", "via": "deal", "aggregate": "last", "field": "result",
                 "op": "eq", "value": "agreed"}}, "where.linked.order_by", "field name"),
    ({"linked": {"entity": "Activity", "via": "deal", "aggregate": "count"}}, "where.linked.op", "required"),
    ({"linked": {"entity": "Activity", "via": "deal", "aggregate": "exists", "op": "gt"}}, "where.linked.op",
     "does not apply"),
    ({"linked": {"entity": "Activity", "via": "deal", "aggregate": "avg"}}, "where.linked.aggregate", "one of"),
    ({"linked": {"entity": "Activity", "aggregate": "exists"}}, "where.linked", "exactly one of"),
    ({"linked": {"via": "title", "aggregate": "exists"}}, "where.linked.via", "reference field"),
    ({"linked": {"link_kind": "related", "aggregate": "exists"}}, "where.linked.entity", "required"),
])
def test_bad_conditions(bundle: Bundle, condition: dict[str, Any], path: str, message: str) -> None:
    errors = errors_of(bundle, {"entity": "Deal", "where": condition})
    assert path in errors, errors
    assert message in " ".join(errors[path])


def test_unknown_entity_and_non_object(bundle: Bundle) -> None:
    assert "unknown entity" in errors_of(bundle, {"entity": "Nope"})["entity"][0]
    assert "is required" in errors_of(bundle, {})["entity"][0]
    assert errors_of(bundle, ["Contact"]) == {"": ["a filter must be an object {entity, where, sort}"]}


def test_limits_of_depth_and_size(bundle: Bundle) -> None:
    inner: dict[str, Any] = {"field": "stage", "op": "eq", "value": "won"}
    for _ in range(MAX_LINK_DEPTH + 1):
        inner = {"linked": {"entity": "Deal", "via": "campaign", "aggregate": "exists", "where": inner}}
        inner = {"linked": {"via": "campaign", "aggregate": "exists", "where": inner}}
    errors = errors_of(bundle, {"entity": "Deal", "where": inner})
    assert any("nested at most" in m for ms in errors.values() for m in ms)
    many = {"any": [{"field": "title", "op": "eq", "value": str(i)} for i in range(MAX_CONDITIONS + 5)]}
    errors = errors_of(bundle, {"entity": "Deal", "where": many})
    assert any(f"at most {MAX_CONDITIONS}" in m for ms in errors.values() for m in ms)
    values = {"field": "title", "op": "in", "value": [str(i) for i in range(1001)]}
    assert "at most 1000" in errors_of(bundle, {"entity": "Deal", "where": values})["where.value"][0]


def test_structure_and_sort(bundle: Bundle) -> None:
    flt = parse_filter(bundle, {"entity": "Deal", "sort": [{"field": "amount", "dir": "desc"}, {"field": "id"}],
                                "where": {"not": {"any": [{"field": "stage", "op": "is_empty"}]}}})
    assert isinstance(flt.where, NotOf)
    assert isinstance(flt.where.item, AnyOf)
    assert flt.sort == (SortKey(FieldRef("amount", "money"), True), SortKey(FieldRef("id", "integer", True), False))
    assert parse_filter(bundle, {"entity": "Deal"}).where is None


def test_searchable_fields_come_from_the_yaml(bundle: Bundle) -> None:
    fields = searchable_fields(bundle)
    assert ("Deal", "amount", "money") in fields
    assert ("Activity", "happened_at", "datetime") in fields
    assert all(kind not in ("text", "multi_enum") for _, _, kind in fields)


def test_searchable_is_refused_where_no_index_helps() -> None:
    from engine.errors import ConfigError

    files = read_bundle_dir(ROOT)
    files["crm_model/entities/deal.yaml"] = files["crm_model/entities/deal.yaml"].replace(
        "description:  {type: text,", "description:  {type: text, searchable: true,").replace(
        "title:        {type: string,", "title:        {type: string, searchable: yes please,")
    with pytest.raises(ConfigError) as caught:
        load_bundle(files)
    messages = [p.message for p in caught.value.problems]
    assert "option 'searchable' applies only to string, email, phone, url, user, integer, decimal, money, date, " \
           "datetime, boolean, enum, reference fields" in messages
    assert "searchable must be true or false" in messages
