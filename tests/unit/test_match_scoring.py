"""Scoring two records' values under the duplicate rules: scorers, fields, the related exception (no database)."""

from __future__ import annotations

import pytest

from engine.config.duplicates_model import DuplicateRules, FuzzyField, MatchKey, MatchRule
from engine.quality.matching import match_pair, score_field, token_match

NAME = FuzzyField("name", "token_match")
PHONE = FuzzyField("phone", kind="phone")
ORG = FuzzyField("org", "exact", kind="reference", required=True)
RULES = DuplicateRules(
    "Person", "warn",
    {"phone": MatchKey("phone", "phone", "phone"), "email": MatchKey("email", "email", "email"),
     "names": MatchKey("names", "name", "name_initials")},
    (MatchRule("household", "exact", 60, "phone", unless_fuzzy=NAME, below=70, suggest="related"),
     MatchRule("same_email", "exact", 100, "email"),
     MatchRule("same_phone", "exact", 95, "phone"),
     MatchRule("same_org", "fuzzy", block=("names",), fields=(FuzzyField("name", weight=0.7),
                                                              FuzzyField("org", "exact", 0.3, kind="reference",
                                                                         required=True)), threshold=88)),
)


def test_token_match_needs_every_word_of_the_shorter_name() -> None:
    assert token_match("ivan ivanov", "ivanov ivan petrovich") == 100
    assert token_match("mary young", "henry young") < 60
    assert token_match("", "x") == 0
    assert token_match("petrov i", "ivan petrov") == 100


def test_phones_compare_by_key_and_references_by_equality() -> None:
    assert score_field(PHONE, "8 (912) 345-67-89", "+7 912 3456789") == 100
    assert score_field(PHONE, "8 (912) 345-67-89", "+7 912 3456780") == 0
    assert score_field(PHONE, "abc", "+7 912 3456789") is None  # unreadable: no evidence
    assert score_field(ORG, 4, 4) == 100
    assert score_field(ORG, 4, 5) == 0
    assert score_field(NAME, "Иван Петров", "") is None


@pytest.mark.parametrize(("a", "b"), [("Иван Петров", "Ivan Petrov"), ("Iwan Petrow", "Иван Петров"),
                                      ("Petrov Ivan", "Иван Петров")])
def test_names_meet_across_alphabets_and_word_order(a: str, b: str) -> None:
    assert score_field(NAME, a, b) == 100


def test_household_is_the_exception_to_the_same_phone_only() -> None:
    a = {"name": "Ivan Petrov", "phone": "+79123456789", "email": "ip@x.ru"}
    wife = {"name": "Maria Petrova", "phone": "89123456789"}
    found = match_pair(RULES, {"phone"}, a, wife, 2)
    assert found is not None
    assert (found.rule, found.suggest, found.score) == ("household", "related", 60)
    assert [r["how"] for r in found.reasons] == ["exact", "fuzzy"]
    shared_email = {**wife, "email": "IP@x.ru"}
    found = match_pair(RULES, {"phone", "email"}, a, shared_email, 2)
    assert found is not None
    assert (found.rule, found.suggest) == ("same_email", "merge")


def test_fuzzy_rule_weights_fields_and_requires_its_required_ones() -> None:
    a, b = {"name": "Ivan Petrov", "org": 7}, {"name": "Ivan Petorv", "org": 7}
    found = match_pair(RULES, {"names"}, a, b, 2)
    assert found is not None
    assert found.rule == "same_org"
    assert 88 <= found.score < 100
    assert [r["field"] for r in found.reasons] == ["org", "name"]
    assert match_pair(RULES, {"names"}, a, {**b, "org": None}, 2) is None  # required field missing
    assert match_pair(RULES, {"names"}, a, {**b, "org": 8}, 2) is None  # 0.3 lost: cannot reach 88
    assert match_pair(RULES, set(), a, b, 2) is None  # no shared block: not compared by this rule
