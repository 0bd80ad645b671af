"""Comparison levels, Fellegi-Sunter weights and EM, the token_align scorer and how reasons name a scorer."""

from __future__ import annotations

import numpy as np
import pytest
from rapidfuzz import fuzz

from engine.config.duplicates_model import Comparison, DuplicateRules, FuzzyField, MatchRule
from engine.quality.comparisons import LEVELS, compare
from engine.quality.fellegi_sunter import MatchModel, default_model, explain, probabilities, probability, train
from engine.quality.matching import match_pair, score_field, token_align


def level(how: str, a: object, b: object, **options: object) -> str:
    comparison = Comparison("f", how, **options)  # type: ignore[arg-type]
    return LEVELS[how][compare(comparison, a, b)]


@pytest.mark.parametrize(("how", "a", "b", "expected"), [
    ("name", "James Walker", "james  walker", "exact"),
    ("name", "Walker James", "James Walker", "swapped"),
    ("name", "Иван Петров", "Ivan Petrov", "exact"),  # transliterated
    ("name", "walker crescent", "walker xrescent", "close"),
    ("name", "jonathan smith", "mary smith", "other"),
    ("name", None, "mary smith", "null"),
    ("date", "1956-04-09", "19560409", "exact"),
    ("date", "1956-04-09", "1956-09-04", "day_month_swapped"),
    ("date", "1956-04-09", "1965-04-09", "year_typo"),
    ("date", "1956-04-09", "1956-04-30", "near"),
    ("date", "1956-04-09", "1957-08-01", "other"),
    ("date", "1956-04-09", "not a date", "null"),
    ("id", "441-0032", "4410032", "exact"),
    ("id", "4410032", "4410023", "one_edit"),  # neighbouring digits transposed
    ("id", "4410032", "4410932", "one_edit"),
    ("id", "4410032", "4419933", "other"),
    ("id", "4410032", "4419932", "two_edits"),
    ("number", 100, 100.0, "exact"),
    ("number", 100, 100.5, "within_1pct"),
    ("number", 100, 108, "within_10pct"),
    ("number", 100, 150, "other"),
    ("phone", "8 (912) 345-67-89", "+79123456789", "exact"),
    ("phone", "+79123456789", "+79123456780", "one_digit"),
    ("email", "Ivan@Mail.ru", "ivan@mail.ru", "exact"),
    ("email", "ivan@mail.ru", "ivan@gmail.com", "same_user"),
    ("text", "Oak Parade", "oak parade", "exact"),
    ("exact", "NSW", "nsw", "exact"),
    ("exact", "nsw", "vic", "other"),
])
def test_comparison_levels(how: str, a: object, b: object, expected: str) -> None:
    assert level(how, a, b) == expected


def test_near_dates_follow_the_days_option() -> None:
    assert level("date", "2024-01-01", "2024-01-20", days=30) == "near"
    assert level("date", "2024-01-01", "2024-01-20", days=7) == "other"


RULE = MatchRule("same", "probabilistic", block=("k",), threshold=0.95,
                 comparisons=(Comparison("name", "name"), Comparison("born", "date"), Comparison("ssn", "id")))


def test_explanation_adds_the_prior_and_level_weights_into_a_probability() -> None:
    model = default_model(RULE)
    found = explain(model, (1, 1, 0))
    weights = model.weights()
    assert found.weights == (weights[0][1], weights[1][1], 0.0)  # a missing value weighs nothing
    assert found.total == pytest.approx(model.prior_weight() + weights[0][1] + weights[1][1])
    assert found.probability == pytest.approx(probability(found.total))
    assert explain(model, (6, 5, 4)).probability < 0.001 < 0.95 < found.probability


def _simulated(rng: np.random.Generator, n: int, prior: float, m: list[list[float]],
               u: list[list[float]]) -> tuple[np.ndarray, np.ndarray]:
    is_match = rng.random(n) < prior
    columns = []
    for m_k, u_k in zip(m, u, strict=True):
        levels = np.arange(1, len(m_k) + 1)
        columns.append(np.where(is_match, rng.choice(levels, n, p=m_k), rng.choice(levels, n, p=u_k)))
    return np.stack(columns, axis=1).astype(np.int8), is_match


def test_em_recovers_the_prior_and_the_m_and_u_it_was_simulated_with() -> None:
    rng = np.random.default_rng(3)
    m = [[0.7, 0.05, 0.15, 0.05, 0.03, 0.02], [0.8, 0.04, 0.06, 0.06, 0.04], [0.85, 0.1, 0.03, 0.02]]
    u = [[0.03, 0.005, 0.02, 0.1, 0.2, 0.645], [0.05, 0.002, 0.003, 0.02, 0.925], [0.001, 0.004, 0.01, 0.985]]
    vectors, is_match = _simulated(rng, 40_000, 0.2, m, u)
    model = train(RULE, vectors)
    assert model.prior == pytest.approx(0.2, abs=0.01)
    assert model.m[0][1] == pytest.approx(0.7, abs=0.02)
    assert model.u[2][4] == pytest.approx(0.985, abs=0.01)
    assert model.pairs == 40_000
    found = probabilities(model, vectors) >= 0.95
    assert (found & is_match).sum() / found.sum() > 0.99


def test_labels_keep_their_class_and_are_counted() -> None:
    rng = np.random.default_rng(5)
    m = [[0.9, 0.02, 0.04, 0.02, 0.01, 0.01], [0.9, 0.02, 0.02, 0.03, 0.03], [0.9, 0.05, 0.03, 0.02]]
    u = [[0.01, 0.01, 0.02, 0.1, 0.2, 0.66], [0.02, 0.002, 0.003, 0.02, 0.955], [0.001, 0.004, 0.01, 0.985]]
    vectors, _ = _simulated(rng, 2_000, 0.1, m, u)
    # reviewers dismissed pairs that agree on the name and the date but not the id: they are not matches
    dismissed = np.tile(np.array([[1, 1, 4]], dtype=np.int8), (200, 1))
    unlabelled = train(RULE, vectors)
    labelled = train(RULE, vectors, dismissed, np.zeros(200))
    assert labelled.labels == 200
    assert explain(labelled, (1, 1, 4)).probability < explain(unlabelled, (1, 1, 4)).probability


def test_no_pairs_leaves_the_defaults_and_a_changed_rule_does_not_fit() -> None:
    empty = train(RULE, np.zeros((0, 3), dtype=np.int8))
    assert empty == default_model(RULE)
    assert not empty.trained
    other = MatchRule("same", "probabilistic", block=("k",), comparisons=(Comparison("name", "name"),))
    assert not empty.fits(other)
    assert MatchModel.from_json(empty.as_json()) == empty


def test_token_align_does_not_reorder_words_on_a_first_letter_typo() -> None:
    assert fuzz.token_sort_ratio("walker xrescent", "walker crescent") < 50  # the case
    assert token_align("walker xrescent", "walker crescent") >= 90
    assert token_align("xrescent walker", "walker crescent") >= 90
    default = FuzzyField("street")  # token_align is the default scorer
    assert score_field(default, "Walker Xrescent", "walker crescent") is not None
    assert (score_field(default, "Walker Xrescent", "walker crescent") or 0) >= 90
    assert (score_field(default, "mary young", "henry young") or 0) < 90


def test_an_exact_scorer_is_explained_as_exact() -> None:
    rule = MatchRule("same_org", "fuzzy", block=("k",), threshold=80,
                     fields=(FuzzyField("name", "token_align"), FuzzyField("city", "exact", kind="string")))
    config = DuplicateRules("Contact", "warn", {}, (rule,))
    found = match_pair(config, {"k"}, {"name": "Ivan Petrov", "city": "Moscow"},
                       {"name": "Ivan Petrov", "city": "Moscow"}, 2)
    assert found is not None
    assert {r["field"]: r["how"] for r in found.reasons} == {"name": "fuzzy", "city": "exact"}
