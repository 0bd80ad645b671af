"""crm_model/duplicates/<entity>.yaml: keys, rules and policies checked, every problem with file and line."""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from pathlib import Path

import pytest

from engine.config.loader import load_bundle, read_bundle_dir
from engine.errors import ConfigError, Problem

ROOT = Path(__file__).parents[2]
CONTACT = "crm_model/duplicates/contact.yaml"
GOOD = """entity: Contact
on_create: block
scan: {every: 12h}
max_block: 50
keys:
  phone: {field: phone, normalize: phone}
  initials: {field: full_name, normalize: name_initials, max_block: 30}
rules:
  - {name: same_phone, match: exact, key: phone, score: 95, on_create: warn}
  - name: close_name
    match: fuzzy
    block: [initials]
    fields:
      - {field: full_name, scorer: jaro_winkler, weight: 2}
      - {field: organization, scorer: exact, required: true}
    threshold: 90
  - name: household
    match: exact
    key: phone
    score: 50
    unless_fuzzy: {field: full_name, below: 60}
    suggest: related
"""


@cache
def _shipped() -> dict[str, str]:
    return read_bundle_dir(ROOT)


def problems_of(text: str, path: str = CONTACT) -> list[tuple[int | None, str]]:
    files = {**_shipped(), path: text}
    with pytest.raises(ConfigError) as caught:
        load_bundle(files)
    problems: list[Problem] = caught.value.problems
    return [(p.line, p.message) for p in problems if p.file == path]


def test_a_valid_file_loads_into_rules() -> None:
    rules = load_bundle({**_shipped(), CONTACT: GOOD}).duplicates["Contact"]
    assert (rules.on_create, rules.scan_every, rules.max_block) == ("block", timedelta(hours=12), 50)
    assert [r.name for r in rules.rules] == ["same_phone", "close_name", "household"]
    assert rules.rules[0].on_create == "warn"
    fuzzy = rules.rules[1]
    assert (fuzzy.block, fuzzy.threshold, fuzzy.line) == (("initials",), 90.0, 10)
    assert [(f.field, f.scorer, f.weight, f.required) for f in fuzzy.fields] == [
        ("full_name", "jaro_winkler", 2.0, False), ("organization", "exact", 1.0, True)]
    household = rules.rules[2]
    assert (household.suggest, household.below, household.unless_fuzzy.field) == ("related", 60.0, "full_name")
    assert rules.fields() == {"phone", "full_name", "organization"}
    assert (rules.block_limit("initials"), rules.block_limit("phone"), rules.region) == (30, 50, "RU")
    assert [f.kind for f in fuzzy.fields] == ["string", "reference"]
    assert [f.field for f in fuzzy.cheap_first] == ["organization", "full_name"]


def test_unknown_keys_fields_normalizers_and_scorers_are_reported_with_lines() -> None:
    text = GOOD.replace("normalize: phone}", "normalize: fone}").replace("scorer: jaro_winkler", "scorer: levenshtein")
    text = text.replace("field: organization", "field: company").replace("block: [initials]", "block: [initals]")
    text = text.replace("max_block: 50", "max_block: 50\ncolour: red")
    found = problems_of(text)
    assert (5, "unknown key 'colour'; expected: entity, on_create, keys, rules, scan, max_block") in found
    messages = dict(found)
    assert messages[7].startswith("unknown normalize 'fone'; use one of: phone, email")
    assert messages[13] == "block key 'initals' is not one of the keys: initials, phone"
    assert messages[15].startswith("unknown scorer 'levenshtein'; use one of: ratio")
    assert messages[16].startswith("Contact has no field 'company'; fields: full_name")
    assert len(found) == 5


def test_rule_shapes_are_checked() -> None:
    text = GOOD.replace("key: phone, score: 95", "key: mobile, score: 120, block: [phone]")
    text = text.replace("threshold: 90", "threshold: high").replace("suggest: related", "suggest: marry")
    text = text.replace("on_create: block", "on_create: shout").replace("below: 60", "under: 60")
    found = problems_of(text)
    assert (2, "on_create 'shout' must be one of: warn, link, block") in found
    assert (9, "key 'mobile' must name one of the keys: initials, phone") in found
    assert (9, "score must be a number from 0 to 100") in found
    assert (9, "'block' does not apply to an exact rule") in found
    assert (16, "threshold must be a number from 0 to 100") in found
    assert (21, "unknown key 'under'; expected: field, scorer, compare_as, below") in found
    assert (21, "unless_fuzzy needs below: <a score from 0 to 100>") in found
    assert (22, "suggest 'marry' must be one of: merge, related") in found
    assert len(found) == 8


def test_bad_limits_are_reported() -> None:
    text = GOOD.replace("max_block: 30", "max_block: 1").replace("max_block: 50", "max_block: many")
    assert problems_of(text) == [(4, "max_block must be a whole number of at least 2"),
                                 (7, "max_block must be a whole number of at least 2")]


def test_duplicate_rule_names_and_bad_periods() -> None:
    text = GOOD.replace("name: household", "name: same_phone").replace("every: 12h", "every: sometimes")
    found = problems_of(text)
    assert (3, "every 'sometimes' must be a positive period like 1d, 12h, 30m or P1D") in found
    assert (17, "duplicate rule name 'same_phone'") in found


def test_entity_and_file_name_must_agree() -> None:
    assert problems_of(GOOD.replace("entity: Contact", "entity: Ghost")) == [
        (1, "entity: <Name> of a known entity (known: Activity, Campaign, Comment, Contact, Deal, Lead, Organization, "
            "Product, Territory)")]
    assert problems_of(GOOD, "crm_model/duplicates/people.yaml") == [
        (1, "the rules of Contact belong in crm_model/duplicates/contact.yaml")]


def test_yaml_syntax_errors_name_the_line() -> None:
    assert problems_of("entity: Contact\nkeys: {phone: [\n")[0][0] == 3


def test_the_shipped_rules_load() -> None:
    duplicates = load_bundle(_shipped()).duplicates
    assert duplicates["Organization"].rules[0].name == "same_tax_id"
    assert all(rules.scan_every == timedelta(days=1) for rules in duplicates.values())


PROBABILISTIC = """entity: Contact
keys:
  phone: {field: phone, normalize: phone}
  names: {field: [first_name, last_name], normalize: name_sounds}
rules:
  - name: same_person
    match: probabilistic
    block: [phone, names]
    compare:
      - {field: [first_name, last_name], as: name}
      - {field: phone, as: phone}
      - {field: repeat_sale_for, as: date, days: 10}
"""


def test_a_probabilistic_rule_loads_with_the_default_probability_and_joined_fields() -> None:
    rules = load_bundle({**_shipped(), CONTACT: PROBABILISTIC}).duplicates["Contact"]
    assert rules.keys["names"].fields == ("first_name", "last_name")
    rule = rules.rules[0]
    assert (rule.match, rule.block, rule.threshold) == ("probabilistic", ("phone", "names"), 0.95)
    assert [(c.name, c.compare) for c in rule.comparisons] == [
        ("first_name+last_name", "name"), ("phone", "phone"), ("repeat_sale_for", "date")]
    assert rule.comparisons[2].days == 10
    assert {"first_name", "last_name", "phone", "repeat_sale_for"} <= rules.fields()


def test_probabilistic_rule_problems_name_their_line() -> None:
    text = PROBABILISTIC.replace("block: [phone, names]", "block: [phone, names]\n    threshold: 95\n    score: 180")
    text = text.replace("as: phone}", "as: soundex}").replace("as: name}", "as: name, days: 3}")
    text = text.replace("[first_name, last_name], as: name", "[first_name, surname], as: name")
    found = problems_of(text)
    assert (9, "threshold of a probabilistic rule is a match probability between 0 and 1 (exclusive), "
                "like 0.95") in found
    assert (10, "score (the most a pair of this rule scores) must be a number from 0 to 100") in found
    assert (12, "Contact has no field 'surname'; fields: " + ", ".join(
        load_bundle(_shipped()).entities["Contact"].fields)) in found
    assert (12, "days applies to a date comparison only") in found
    assert (13, "as 'soundex' must be one of: exact, name, text, id, date, number, phone, email") in found


def test_retrain_after_must_count_decisions() -> None:
    assert "every: 12h" in GOOD
    assert problems_of(GOOD.replace("every: 12h", "every: 12h, retrain_after: 0")) == [
        (3, "retrain_after 0 must be a whole number of reviewers' decisions, at least 1")]
    assert (3, "scan must be {every: <period>, retrain_after: <decisions>}, like {every: 1d} or "
               "{every: P1D, retrain_after: 20}") in problems_of(GOOD.replace("every: 12h", "each: 12h"))
    rules = load_bundle({**_shipped(), CONTACT: GOOD.replace("every: 12h", "every: 12h, retrain_after: 5")})
    assert rules.duplicates["Contact"].retrain_after == 5


def test_a_rule_label_needs_every_locale_at_its_line() -> None:
    named = "  - name: close_name\n"
    labelled = GOOD.replace(named, named + "    label: {en: Close name, ru: Похожее имя}\n")
    rules = load_bundle({**_shipped(), CONTACT: labelled}).duplicates["Contact"].rules
    assert [r.label for r in rules] == [{}, {"en": "Close name", "ru": "Похожее имя"}, {}]
    assert problems_of(labelled.replace(", ru: Похожее имя}", "}")) == [(11, "label is missing ru")]
    assert problems_of(labelled.replace("label: {en: Close name, ru: Похожее имя}", "label: Close name")) == [
        (11, "label must be a mapping like {en: ..., ru: ...}")]
