"""The batched pair scoring (engine/quality/field_batch.py, pair_scoring.scored_pairs) finds exactly the pairs,
scores, rules and reasons the per-pair scorer (`match_pair` on one pair, every field scored by `score_field`)
gives: on generated contacts with Cyrillic and transliterated names, phones in several formats, empty and
unreadable fields, long names, and rules whose thresholds sit on scores that occur (ties)."""

from __future__ import annotations

import random
from dataclasses import replace
from functools import cache
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engine.config.duplicates_model import DuplicateRules, FuzzyField, MatchRule
from engine.config.loader import load_bundle, read_bundle_dir
from engine.quality.candidates import CandidatePairs
from engine.quality.field_batch import field_scores
from engine.quality.matching import match_pair, record_keys, score_field
from engine.quality.pair_scoring import rule_levels, scored_pairs

ROOT = Path(__file__).parents[2]
GIVEN = [
    "Иван",
    "Ivan",
    "Iwan",
    "Пётр",
    "Petr",
    "Piotr",
    "Мария",
    "Maria",
    "Mariya",
    "Дмитрий",
    "Dmitrii",
    "И",
    "I",
    "Олег",
    "Oleg",
    "Анна",
    "Anna",
    "Ann",
]
SURNAMES = [
    "Петров",
    "Petrov",
    "Petrow",
    "Petroff",
    "Иванов",
    "Ivanov",
    "Iwanow",
    "Краснов",
    "Krasnoff",
    "Сидорова",
    "Sidorova",
    "Sidorowa",
    "Петрова",
    "Petrova",
    "Ёлкин",
    "Yolkin",
    "Elkin",
]
MIDDLE = ["Петрович", "Petrovich", "Михайлович", "Mikhailovich", "", "", ""]
PHONES = [
    "+7 912 345-67-89",
    "8 (912) 345-67-89",
    "89123456789",
    "912 345 67 89",
    "+79123456780",
    "+7 (912) 345-67-80",
    "+7 999 111-22-33",
    "8-999-111-22-33",
    "abc",
    "",
    None,
]
EMAILS = ["ivan@mail.ru", " Ivan@Mail.RU", "ivan@gmail.com", "petrov@mail.ru", "not an address", "", None]
ORGS = [1, 1, 2, 3, None]


def _slip(text: str, rng: random.Random) -> str:
    if len(text) < 3 or rng.random() < 0.7:
        return text
    at = rng.randrange(len(text))
    return text[:at] + rng.choice("аеиоaeioxz") + text[at + 1 :]


def _name(rng: random.Random) -> str | None:
    shape = rng.random()
    if shape < 0.05:
        return rng.choice([None, "", "  "])
    words = [_slip(rng.choice(GIVEN), rng), _slip(rng.choice(SURNAMES), rng)]
    if shape < 0.15:
        words = words[1:]
    elif shape < 0.35:
        words.insert(1, rng.choice(MIDDLE))
    elif shape < 0.4:
        words += [rng.choice(SURNAMES), rng.choice(GIVEN), rng.choice(MIDDLE)]  # five words: the one-pair path
    if rng.random() < 0.3:
        words.reverse()
    text = " ".join(word for word in words if word)
    return text.upper() if rng.random() < 0.1 else text


def contacts(count: int, seed: int) -> dict[int, dict[str, Any]]:
    """Record id -> the values the rules read."""
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    return {
        record_id: {
            "full_name": _name(rng),
            "phone": rng.choice(PHONES),
            "email": rng.choice(EMAILS),
            "organization": rng.choice(ORGS),
        }
        for record_id in range(1, count + 1)
    }


@cache
def shipped() -> DuplicateRules:
    return load_bundle(read_bundle_dir(ROOT)).duplicates["Contact"]


def candidate_pairs(config: DuplicateRules, values: dict[int, dict[str, Any]]) -> CandidatePairs:
    """The pairs a scan compares: records sharing a value of a key some rule reads."""
    groups: dict[tuple[str, str], list[int]] = {}
    for record_id, data in values.items():
        for name, keys in record_keys(config, data, config.region).items():
            for value in keys:
                groups.setdefault((name, value), []).append(record_id)
    names = {rule.key for rule in config.rules if rule.key} | {b for rule in config.rules for b in rule.block}
    return CandidatePairs.from_groups(names, ((name, ids) for (name, _), ids in groups.items() if name in names))


def one_by_one(
    config: DuplicateRules, pairs: CandidatePairs, values: dict[int, dict[str, Any]]
) -> dict[tuple[int, int], tuple[Any, ...]]:
    """Every pair scored alone, as before the batch: `match_pair` with each field and level computed for it."""
    found = {}
    for (low, high), shared in pairs.items():
        candidate = match_pair(config, shared, values[low], values[high], high)
        if candidate is not None:
            found[low, high] = (candidate.score, candidate.rule, candidate.reasons, candidate.suggest)
    return found


def batched(
    config: DuplicateRules, pairs: CandidatePairs, values: dict[int, dict[str, Any]]
) -> dict[tuple[int, int], tuple[Any, ...]]:
    return {
        (low, high): (candidate.score, candidate.rule, candidate.reasons, candidate.suggest)
        for low, high, candidate in scored_pairs(config, pairs, values, rule_levels(config, pairs, values), {})
    }


def _name_rule(threshold: float, scorer: str) -> MatchRule:
    return MatchRule(
        "name_only",
        "fuzzy",
        block=("name_initials", "name_sounds"),
        fields=(FuzzyField("full_name", scorer),),
        threshold=threshold,
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_batched_scoring_finds_the_pairs_and_scores_of_one_pair_at_a_time(seed: int) -> None:
    config = shipped()
    values = contacts(250, seed)
    pairs = candidate_pairs(config, values)
    expected = one_by_one(config, pairs, values)
    assert len(pairs) > 1000
    assert {rule for _, rule, _, _ in expected.values()} >= {
        "household",
        "same_email",
        "same_phone",
        "similar_name_no_conflict",
        "same_person",
    }
    assert batched(config, pairs, values) == expected


@pytest.mark.parametrize(
    "scorer",
    [
        "token_match",
        "ratio",
        "partial_ratio",
        "token_sort_ratio",
        "token_set_ratio",
        "jaro_winkler",
        "token_align",
        "exact",
    ],
)
def test_field_scores_are_score_field_bit_for_bit(scorer: str) -> None:
    config = shipped()
    values = contacts(150, 11)
    records = list(values.values())
    ia, ib = (np.asarray(side, dtype=np.int64) for side in zip(*combinations(range(len(records)), 2), strict=True))
    for spec in (
        FuzzyField("full_name", scorer),
        FuzzyField("full_name", scorer, compare_as="text"),
        FuzzyField("phone", scorer, kind="phone"),
        FuzzyField("email", kind="email"),
        FuzzyField("organization", "exact", kind="reference"),
    ):
        found = field_scores(spec, records, ia, ib, config.region)
        expected = [
            score_field(spec, records[a].get(spec.field), records[b].get(spec.field), config.region)
            for a, b in zip(ia.tolist(), ib.tolist(), strict=True)
        ]
        assert [None if np.isnan(x) else x for x in found.tolist()] == expected, spec


def test_ties_at_the_thresholds_are_decided_as_one_pair_at_a_time() -> None:
    config = shipped()
    values = contacts(200, 5)
    pairs = candidate_pairs(config, values)
    name = FuzzyField("full_name", "token_match")
    scores = sorted(
        {
            score
            for (low, high) in pairs
            if (score := score_field(name, values[low]["full_name"], values[high]["full_name"]))
            not in (None, 0.0, 100.0)
        }
    )
    ties = 0
    for threshold in scores[:: max(1, len(scores) // 5)]:
        household = replace(config.rules[0], unless_fuzzy=name, below=threshold)
        tied = replace(config, rules=(household, *config.rules[1:], _name_rule(threshold, "token_match")))
        expected = one_by_one(tied, pairs, values)
        ties += sum(1 for score, rule, _, _ in expected.values() if rule == "name_only" and score == threshold)
        assert batched(tied, pairs, values) == expected, threshold
    assert ties > 0
