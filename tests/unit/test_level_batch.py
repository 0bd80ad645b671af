"""The batched comparison levels of a scan (engine/quality/level_batch.py) are those one pair gets
(comparisons.compare), pair for pair, on values full of the slips a duplicate carries."""

from __future__ import annotations

import random
from itertools import combinations

import numpy as np
import pytest

from engine.config.duplicates_model import Comparison, MatchRule
from engine.quality.comparisons import compare, value_of
from engine.quality.level_batch import level_matrix

WORDS = ["walker", "walkre", "walter", "james", "jaems", "smith", "smyth", "j", "w", "oak", "parade", "crescent",
         "xrescent", "ivanov", "iwanow", "иванов", "петров", "mary", "maryanne", "de", "la", "cruz", "12", "12a"]


def _slip(text: str, rng: random.Random) -> str:
    if not text or rng.random() < 0.5:
        return text
    at = rng.randrange(len(text))
    return text[:at] + rng.choice("aeiouxz") + text[at + 1:]


def _values(rng: random.Random, count: int) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for _ in range(count):
        name = " ".join(_slip(rng.choice(WORDS), rng) for _ in range(rng.choice([0, 1, 2, 2, 2, 3, 5])))
        year, month, day = rng.choice([1956, 1965, 1959, 1996, 2001]), rng.randint(1, 12), rng.randint(1, 12)
        rows.append({
            "given": rng.choice(["", "j", "james", "jaems", "mary"]), "name": name or None,
            "born": rng.choice([f"{year:04d}-{month:02d}-{day:02d}", f"{year}{day:02d}{month:02d}", None, "junk"]),
            "ssn": rng.choice(["4410032", "4410023", "4419932", "4410932", "99", None]),
            "amount": rng.choice([100, 100.5, 108, 150, 0, None, "x"]),
            "phone": rng.choice(["+79123456789", "+79123456780", "8 (912) 345-67-89", "+79991112233", None]),
            "email": rng.choice(["ivan@mail.ru", "ivan@gmail.com", "ivam@mail.ru", "olga@mail.ru", None]),
            "code": rng.choice(["NSW", "nsw", "vic", None]),
        })
    return rows


COMPARISONS = (Comparison("name", "name", also=()), Comparison("given", "name", also=("name",)),
               Comparison("name", "text"), Comparison("born", "date", days=30), Comparison("ssn", "id"),
               Comparison("amount", "number"), Comparison("phone", "phone"), Comparison("email", "email"),
               Comparison("code", "exact"))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_batched_levels_are_the_one_pair_levels(seed: int) -> None:
    rows = _values(random.Random(seed), 90)  # noqa: S311 - test data, not secrets
    values = {n + 10: row for n, row in enumerate(rows)}
    pairs = list(combinations(sorted(values), 2))
    lows, highs = np.asarray([a for a, _ in pairs]), np.asarray([b for _, b in pairs])
    rule = MatchRule("all", "probabilistic", block=("k",), comparisons=COMPARISONS)
    matrix = level_matrix(rule, lows, highs, values)
    expected = np.asarray([[compare(c, value_of(c, values[a]), value_of(c, values[b])) for c in COMPARISONS]
                           for a, b in pairs])
    wrong = [(pairs[r], COMPARISONS[k].compare, int(matrix[r, k]), int(expected[r, k]))
             for r, k in zip(*np.nonzero(matrix != expected), strict=True)]
    assert wrong == []
    assert len(set(matrix[:, 0].tolist())) >= 5  # the values reach most name levels, so the check means something


def test_no_pairs_give_an_empty_matrix() -> None:
    rule = MatchRule("all", "probabilistic", block=("k",), comparisons=COMPARISONS)
    empty = np.zeros(0, dtype=np.int64)
    assert level_matrix(rule, empty, empty, {}).shape == (0, len(COMPARISONS))
