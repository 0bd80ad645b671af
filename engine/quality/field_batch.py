"""The scores of fuzzy fields (`matching.score_field`) for many pairs at once: each record's value is folded
once, equal forms are found as integer codes, and the string scorers run in rapidfuzz's C++ over the distinct
(string, string) pairs only (`process.cpdist`), so a scan or an import's batch does not call a Python scorer per
pair. The scores are those `score_field` gives, pair for pair and bit for bit (tests/unit/test_field_batch.py):
the same scorer functions, the same maximum over the forms, the same rounding; the rules' weighted means and
reasons stay in `match_pair`, which a pair reaches only when some rule may match it (engine/quality/pair_scoring.py)."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

import numpy as np
from rapidfuzz import fuzz
from rapidfuzz.distance import JaroWinkler
from rapidfuzz.process import cpdist

from engine.config.duplicates_model import FuzzyField
from engine.quality.level_batch import workers
from engine.quality.matching import TEXT_TYPES, KeyCache, cached_key, score_field
from engine.quality.normalize import comparable_forms

MAX_WORDS = 4  # words per side token_match compares in arrays; longer values are scored one pair at a time
FORMS = 3  # comparable_forms gives the folded, the Latin and the spelling-folded form
Index = np.ndarray  # positions of records, one per pair

# scorers rapidfuzz runs itself: the functions score_field calls, and a factor applied after (Jaro-Winkler × 100)
_NATIVE: dict[str, tuple[Callable[..., float], float]] = {
    "ratio": (fuzz.ratio, 1.0),
    "partial_ratio": (fuzz.partial_ratio, 1.0),
    "token_sort_ratio": (fuzz.token_sort_ratio, 1.0),
    "token_set_ratio": (fuzz.token_set_ratio, 1.0),
    "jaro_winkler": (JaroWinkler.normalized_similarity, 100.0),
}


def field_scores(
    spec: FuzzyField,
    values: Sequence[Mapping[str, Any]],
    ia: Index,
    ib: Index,
    region: str,
    cache: KeyCache | None = None,
) -> np.ndarray:
    """`score_field(spec, values[ia[i]][field], values[ib[i]][field])` for every i, as float64 with NaN where
    it gives None."""
    raw = [data.get(spec.field) for data in values]
    out = np.full(len(ia), np.nan)
    if not len(ia):
        return out
    if spec.kind in ("phone", "email"):
        keys = [None if _empty(value) else cached_key(spec.kind, value, region, cache) for value in raw]
        codes = _codes([key or None for key in keys])
        both = (codes[ia] >= 0) & (codes[ib] >= 0)
        out[both] = np.where(codes[ia[both]] == codes[ib[both]], 100.0, 0.0)
        return out
    if spec.kind not in TEXT_TYPES or spec.scorer == "token_align":
        # equality of any values (references, enums, numbers), or the one scorer of word alignment: per pair
        for n, (x, y) in enumerate(zip(ia.tolist(), ib.tolist(), strict=True)):
            found = score_field(spec, raw[x], raw[y], region, cache)
            if found is not None:
                out[n] = found
        return out
    forms = [None if _empty(value) else (comparable_forms(value, spec.compare_as) or None) for value in raw]
    present = np.fromiter((form is not None for form in forms), dtype=bool, count=len(forms))
    rows = np.flatnonzero(present[ia] & present[ib])
    a, b = ia[rows], ib[rows]
    numbering: dict[Hashable, int] = {}
    coded = [_codes([None if form is None else form[k] for form in forms], numbering) for k in range(FORMS)]
    equal = np.zeros(len(rows), dtype=bool)
    for codes in coded:
        equal |= codes[a] == codes[b]
    best = np.zeros(len(rows))
    rest = np.flatnonzero(~equal)
    vocabulary = np.asarray([*numbering, ""], dtype=object)  # code -1 reads ""
    for codes in coded:
        best[rest] = np.maximum(best[rest], _form_scores(spec.scorer, vocabulary, codes[a[rest]], codes[b[rest]]))
    # Python's round (correctly rounded), as score_field rounds: numpy's may differ in the last place
    out[rows] = np.where(
        equal, 100.0, np.fromiter((round(x, 1) for x in best.tolist()), dtype=np.float64, count=len(best))
    )
    return out


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str | list) and not value)


def _codes(values: Sequence[Hashable], numbering: dict[Hashable, int] | None = None) -> np.ndarray:
    """One integer per value, equal for equal values (None → -1)."""
    seen = {} if numbering is None else numbering
    return np.fromiter(
        (-1 if value is None else seen.setdefault(value, len(seen)) for value in values),
        dtype=np.int64,
        count=len(values),
    )


def _form_scores(scorer: str, vocabulary: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """The scorer of the strings coded left[i] and right[i], each distinct pair of strings scored once."""
    if not len(left):
        return np.zeros(0)
    pair_codes, inverse = np.unique(left * len(vocabulary) + right, return_inverse=True)
    first, second = vocabulary[pair_codes // len(vocabulary)].tolist(), vocabulary[pair_codes % len(vocabulary)]
    if scorer in _NATIVE:
        function, factor = _NATIVE[scorer]
        found = cpdist(first, second.tolist(), scorer=function, dtype=np.float64, workers=workers(len(first))) * factor
    elif scorer == "exact":  # equal forms were found before: every pair left differs
        found = np.zeros(len(pair_codes))
    else:
        found = _token_match(first, second.tolist())
    result: np.ndarray = found[inverse.reshape(-1)]
    return result


def _token_match(left: list[str], right: list[str]) -> np.ndarray:
    """`matching.token_match` of each pair of texts: the words of the shorter text (the left one when both have
    as many) each take their best `fuzz.ratio` among the other's words (a one-letter word meets a word it starts
    at 100), and the pair scores the weakest of those."""
    words_l, words_r = [text.split() for text in left], [text.split() for text in right]
    count_l = np.fromiter(map(len, words_l), dtype=np.int64, count=len(words_l))
    count_r = np.fromiter(map(len, words_r), dtype=np.int64, count=len(words_r))
    left_short = count_l <= count_r
    short_words = [w_l if flag else w_r for w_l, w_r, flag in zip(words_l, words_r, left_short.tolist(), strict=True)]
    long_words = [w_r if flag else w_l for w_l, w_r, flag in zip(words_l, words_r, left_short.tolist(), strict=True)]
    short_n, long_n = np.minimum(count_l, count_r), np.maximum(count_l, count_r)
    out = np.zeros(len(left))
    numbering: dict[str, int] = {}
    short_codes, long_codes = _padded(short_words, numbering), _padded(long_words, numbering)
    vocabulary = np.asarray([*numbering, ""], dtype=object)
    length = np.fromiter(map(len, vocabulary), dtype=np.int64, count=len(vocabulary))
    first = np.asarray([word[:1] for word in vocabulary], dtype=object)
    rows = np.flatnonzero((long_n <= MAX_WORDS) & (short_n > 0))
    weakest = np.full(len(rows), np.inf)
    for i in range(MAX_WORDS):
        live = short_n[rows] > i
        best = np.full(len(rows), -np.inf)
        for j in range(MAX_WORDS):
            valid = np.flatnonzero(live & (long_n[rows] > j))
            if not len(valid):
                continue
            word, other = short_codes[rows[valid], i], long_codes[rows[valid], j]
            score = _word_ratios(vocabulary, word, other)
            initial = (length[word] == 1) & (first[other] == first[word])
            best[valid] = np.maximum(best[valid], np.where(initial, 100.0, score))
        weakest = np.where(live, np.minimum(weakest, best), weakest)
    out[rows] = weakest
    for at in np.flatnonzero(long_n > MAX_WORDS).tolist():  # rare: a text of many words
        out[at] = _token_match_words(short_words[at], long_words[at])
    return out


def _token_match_words(short: list[str], long: list[str]) -> float:
    return min(
        max(100.0 if len(word) == 1 and other.startswith(word) else fuzz.ratio(word, other) for other in long)
        for word in short
    )


def _padded(words: Sequence[list[str]], numbering: dict[str, int]) -> np.ndarray:
    """Each text's first MAX_WORDS words as codes (-1 beyond its last)."""
    codes = np.full((len(words), MAX_WORDS), -1, dtype=np.int64)
    for j in range(MAX_WORDS):
        codes[:, j] = np.fromiter(
            (numbering.setdefault(w[j], len(numbering)) if j < len(w) else -1 for w in words),
            dtype=np.int64,
            count=len(words),
        )
    return codes


def _word_ratios(vocabulary: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """fuzz.ratio of the words coded left[i] and right[i], each distinct pair of words once."""
    pair_codes, inverse = np.unique(left * len(vocabulary) + right, return_inverse=True)
    found: np.ndarray = cpdist(
        vocabulary[pair_codes // len(vocabulary)].tolist(),
        vocabulary[pair_codes % len(vocabulary)].tolist(),
        scorer=fuzz.ratio,
        dtype=np.float64,
        workers=workers(len(pair_codes)),
    )
    result: np.ndarray = found[inverse.reshape(-1)]
    return result
