"""Comparison levels of many pairs at once: the levels engine/quality/comparisons.py gives one pair, computed
with numpy over arrays of candidate pairs and rapidfuzz's batched pairwise distances (`process.cpdist`, which
runs on every core), so that a scan of 100,000 records does not call a Python function per pair and field.

Each record's values are prepared once (comparisons.prepare); equality is compared as integer codes of the
prepared values; string similarities only for the pairs that need them. The levels are those of
`comparisons.compare_prepared`, pair for pair (tests/unit/test_level_batch.py holds them to it)."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from datetime import date
from typing import Any

import numpy as np
from rapidfuzz.distance import OSA, JaroWinkler, Levenshtein
from rapidfuzz.process import cpdist

from engine.config.duplicates_model import Comparison, MatchRule
from engine.quality.comparisons import CLOSE, SIMILAR, WEAK, _aligned, prepare, value_of

CHUNK = 100_000  # pairs per word alignment step
MAX_WORDS = 3  # words per side the word alignment computes in arrays; longer values take the one-pair path
Index = np.ndarray  # positions of prepared values, one per pair
PARALLEL = 20_000  # string pairs from which cpdist runs on every core: below, starting its threads costs more
# (about a millisecond a call, and an import's batch makes dozens of small calls)


def workers(pairs: int) -> int:
    """cpdist's `workers` for this many string pairs."""
    return -1 if pairs >= PARALLEL else 1


def level_matrix(rule: MatchRule, lows: np.ndarray, highs: np.ndarray,
                 values: Mapping[int, Mapping[str, Any]]) -> np.ndarray:
    """The (pairs × comparisons) level matrix of the pairs (lows[i], highs[i]) of record ids, every id in
    `values`."""
    ids = np.unique(np.concatenate([lows, highs])) if len(lows) else np.zeros(0, dtype=np.int64)
    ia, ib = np.searchsorted(ids, lows), np.searchsorted(ids, highs)
    matrix = np.zeros((len(lows), len(rule.comparisons)), dtype=np.int8)
    for k, comparison in enumerate(rule.comparisons):
        prepared = [prepare(comparison, value_of(comparison, values[int(record_id)])) for record_id in ids]
        present = np.fromiter((value is not None for value in prepared), dtype=bool, count=len(prepared))
        rows = np.flatnonzero(present[ia] & present[ib]) if len(ids) else np.zeros(0, dtype=np.int64)
        if len(rows):
            matrix[rows, k] = _BATCHED[comparison.compare](comparison, prepared, ia[rows], ib[rows])
    return matrix


def _codes(values: Sequence[Hashable], seen: dict[Hashable, int] | None = None) -> np.ndarray:
    """One integer per value, equal for equal values (None → -1); `seen` shares the numbering between calls."""
    seen = {} if seen is None else seen
    return np.fromiter((-1 if value is None else seen.setdefault(value, len(seen)) for value in values),
                       dtype=np.int64, count=len(values))


def _pick(strings: Sequence[Any], at: Index) -> list[str]:
    found: list[str] = np.asarray(strings, dtype=object)[at].tolist()
    return found


def _similarity(left: list[str], right: list[str]) -> np.ndarray:
    """Jaro-Winkler of each pair of strings, as float64 (cpdist's default float32 would round the bands)."""
    if not left:
        return np.zeros(0)
    found: np.ndarray = cpdist(left, right, scorer=JaroWinkler.normalized_similarity, dtype=np.float64,
                                 workers=workers(len(left)))
    return found


def _coded_similarity(vocabulary: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Jaro-Winkler of the strings coded `left[i]` and `right[i]` in `vocabulary`, each distinct pair of codes
    computed once (names and streets repeat: a million pairs hold far fewer distinct word pairs)."""
    if not len(left):
        return np.zeros(0)
    pair_codes, inverse = np.unique(left * len(vocabulary) + right, return_inverse=True)
    found = _similarity(vocabulary[pair_codes // len(vocabulary)].tolist(),
                        vocabulary[pair_codes % len(vocabulary)].tolist())
    result: np.ndarray = found[inverse.reshape(-1)]
    return result


def _distance(scorer: Callable[..., Any], left: list[str], right: list[str], cutoff: int) -> np.ndarray:
    if not left:
        return np.zeros(0, dtype=np.int64)
    found: np.ndarray = cpdist(left, right, scorer=scorer, score_cutoff=cutoff, dtype=np.int64,
                                 workers=workers(len(left)))
    return found


def _exact(_: Comparison, prepared: Sequence[Any], ia: Index, ib: Index) -> np.ndarray:
    codes = _codes(prepared)
    return np.where(codes[ia] == codes[ib], 1, 2)


def _edits(scorer: Callable[..., Any], cutoff: int, levels: tuple[int, ...]) -> Callable[..., np.ndarray]:
    """Levels of ids and phones: exact, then one per number of edits up to `cutoff`, then disagreement."""

    def batched(_: Comparison, prepared: Sequence[Any], ia: Index, ib: Index) -> np.ndarray:
        codes = _codes(prepared)
        out = np.ones(len(ia), dtype=np.int8)
        rest = np.flatnonzero(codes[ia] != codes[ib])
        edits = _distance(scorer, _pick(prepared, ia[rest]), _pick(prepared, ib[rest]), cutoff)
        out[rest] = np.asarray(levels)[np.minimum(edits, cutoff + 1) - 1]
        return out

    return batched


def _email(_: Comparison, prepared: Sequence[Any], ia: Index, ib: Index) -> np.ndarray:
    codes, users = _codes(prepared), _codes([None if value is None else value.split("@")[0] for value in prepared])
    out = np.ones(len(ia), dtype=np.int8)
    rest = np.flatnonzero(codes[ia] != codes[ib])
    same_user = users[ia[rest]] == users[ib[rest]]
    out[rest[same_user]] = 2
    other = rest[~same_user]
    edits = _distance(Levenshtein.distance, _pick(prepared, ia[other]), _pick(prepared, ib[other]), 1)
    out[other] = np.where(edits <= 1, 3, 4)
    return out


def _date(comparison: Comparison, prepared: Sequence[Any], ia: Index, ib: Index) -> np.ndarray:
    def part(of: Callable[[date], int]) -> np.ndarray:
        return np.fromiter((0 if day is None else of(day) for day in prepared), dtype=np.int64, count=len(prepared))

    year, month, day, ordinal = part(lambda d: d.year), part(lambda d: d.month), part(lambda d: d.day), \
        part(lambda d: d.toordinal())
    ya, yb, ma, mb, da, db = year[ia], year[ib], month[ia], month[ib], day[ia], day[ib]
    digits_a = np.stack([ya // 1000 % 10, ya // 100 % 10, ya // 10 % 10, ya % 10], axis=1)
    digits_b = np.stack([yb // 1000 % 10, yb // 100 % 10, yb // 10 % 10, yb % 10], axis=1)
    differ = digits_a != digits_b
    swapped = (digits_a[:, :-1] == digits_b[:, 1:]) & (digits_a[:, 1:] == digits_b[:, :-1]) & differ[:, :-1] \
        & differ[:, 1:] & (differ.sum(axis=1) == 2)[:, None]
    one_digit = (differ.sum(axis=1) == 1) | swapped.any(axis=1)
    return np.select([ordinal[ia] == ordinal[ib], (ya == yb) & (ma == db) & (da == mb),
                      (ma == mb) & (da == db) & one_digit, np.abs(ordinal[ia] - ordinal[ib]) <= comparison.days],
                     [1, 2, 3, 4], 5)


def _number(_: Comparison, prepared: Sequence[Any], ia: Index, ib: Index) -> np.ndarray:
    numbers = np.asarray([0.0 if x is None else x for x in prepared], dtype=float)
    x, y = numbers[ia], numbers[ib]
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = np.abs(x - y) / np.maximum(np.abs(x), np.abs(y))
    return np.select([x == y, gap <= 0.01, gap <= 0.1], [1, 2, 3], 4)


class _Words:
    """The words of prepared values (longest first) as codes into one vocabulary, padded to MAX_WORDS columns
    (-1), with each word's length and first character, for the word alignment."""

    def __init__(self, words: Sequence[tuple[str, ...] | None]) -> None:
        numbering: dict[str, int] = {}
        self.count = np.fromiter((len(w) if w else 0 for w in words), dtype=np.int64, count=len(words))
        self.codes = np.full((len(words), MAX_WORDS), -1, dtype=np.int64)
        for j in range(MAX_WORDS):
            self.codes[:, j] = np.fromiter((numbering.setdefault(w[j], len(numbering)) if w and j < len(w) else -1
                                            for w in words), dtype=np.int64, count=len(words))
        vocabulary = list(numbering)
        self.vocabulary = np.asarray([*vocabulary, ""], dtype=object)  # code -1 reads the padding ""
        self.length = np.fromiter(map(len, self.vocabulary), dtype=np.int64, count=len(self.vocabulary))
        self.first = np.fromiter((ord(w[0]) if w else -1 for w in self.vocabulary), dtype=np.int64,
                                 count=len(self.vocabulary))
        self.words = words


def _aligned_batch(words: _Words, ia: Index, ib: Index) -> np.ndarray:
    """`_aligned_chunk` CHUNK pairs at a time (its score cube is pairs × MAX_WORDS × MAX_WORDS floats)."""
    if len(ia) <= CHUNK:
        return _aligned_chunk(words, ia, ib)
    return np.concatenate([_aligned_chunk(words, ia[n:n + CHUNK], ib[n:n + CHUNK]) for n in range(0, len(ia), CHUNK)])


def _aligned_chunk(words: _Words, ia: Index, ib: Index) -> np.ndarray:
    """comparisons._aligned of each pair: the short side's words, in order, each take the most similar free word
    of the long side (an initial meets the word it starts at 0.9), weighted by word length."""
    count_a, count_b = words.count[ia], words.count[ib]
    out = np.zeros(len(ia))
    wide = np.flatnonzero(np.maximum(count_a, count_b) > MAX_WORDS)
    for at in wide.tolist():  # rare: a value of many words
        a, b = words.words[int(ia[at])] or (), words.words[int(ib[at])] or ()
        out[at] = _aligned(a, b)
    rows = np.flatnonzero((np.maximum(count_a, count_b) <= MAX_WORDS) & (np.minimum(count_a, count_b) > 0))
    a_short = count_a[rows] <= count_b[rows]
    short_at, long_at = np.where(a_short, ia[rows], ib[rows]), np.where(a_short, ib[rows], ia[rows])
    short_n, long_n = words.count[short_at], words.count[long_at]
    scores = np.full((len(rows), MAX_WORDS, MAX_WORDS), -1.0)
    for i in range(MAX_WORDS):
        for j in range(MAX_WORDS):
            valid = np.flatnonzero((short_n > i) & (long_n > j))
            if not len(valid):
                continue
            word, other = words.codes[short_at[valid], i], words.codes[long_at[valid], j]
            score = _coded_similarity(words.vocabulary, word, other)
            initial = (words.length[word] == 1) & (words.first[other] == words.first[word])
            scores[valid, i, j] = np.where(initial, 0.9, score)
    total, weight = np.zeros(len(rows)), np.zeros(len(rows))
    free = np.ones((len(rows), MAX_WORDS), dtype=bool)
    taken = np.arange(len(rows))
    for i in range(MAX_WORDS):
        live = short_n > i
        # the first free word of the best score (the one-pair loop keeps the first of equal scores)
        choice = np.argmax(np.where(free, scores[:, i, :], -1.0), axis=1)
        best = np.maximum(scores[taken, i, choice], 0.0)
        length = words.length[words.codes[short_at, i]]
        total = np.where(live, total + best * length, total)
        weight = np.where(live, weight + length, weight)
        free[taken[live], choice[live]] = False
    out[rows] = total / np.maximum(weight, 1)
    return out


def _text(_: Comparison, prepared: Sequence[Any], ia: Index, ib: Index) -> np.ndarray:
    forms = [None if value is None else value[0] for value in prepared]
    codes = _codes(forms)
    out = np.ones(len(ia), dtype=np.int8)
    rest = np.flatnonzero(codes[ia] != codes[ib])
    vocabulary = np.asarray([*dict.fromkeys(form for form in forms if form is not None), ""], dtype=object)
    best = _coded_similarity(vocabulary, codes[ia[rest]], codes[ib[rest]])
    low = np.flatnonzero(best < CLOSE)
    words = _Words([None if value is None else value[1] for value in prepared])
    best[low] = np.maximum(best[low], _aligned_batch(words, ia[rest[low]], ib[rest[low]]))
    out[rest] = np.select([best >= CLOSE, best >= SIMILAR], [2, 3], 4)
    return out


def _name(_: Comparison, prepared: Sequence[Any], ia: Index, ib: Index) -> np.ndarray:
    out = np.zeros(len(ia), dtype=np.int8)
    best = np.zeros(len(ia))
    forms = max((len(value) for value in prepared if value is not None), default=0)
    previous: np.ndarray | None = None
    numbering: dict[Hashable, int] = {}  # one numbering for every form: a form is compared with the previous one
    for k in range(forms):
        exact = _codes([None if value is None else value[k][0] for value in prepared], numbering)
        as_set = _codes([None if value is None else value[k][1] for value in prepared], numbering)
        undecided = out == 0
        out[undecided & (exact[ia] == exact[ib])] = 1
        out[(out == 0) & (as_set[ia] == as_set[ib])] = 2  # the same words in another order
        # a form equal to the previous one (Latin text transliterates to itself) adds nothing
        pair_sets = np.stack([as_set[ia], as_set[ib]], axis=1)
        rows = np.flatnonzero((out == 0) if previous is None else (out == 0) & (pair_sets != previous).any(axis=1))
        previous = pair_sets
        words = _Words([None if value is None else value[k][2] for value in prepared])
        best[rows] = np.maximum(best[rows], _aligned_batch(words, ia[rows], ib[rows]))
    rest = out == 0
    out[rest] = np.select([best[rest] >= CLOSE, best[rest] >= SIMILAR, best[rest] >= WEAK], [3, 4, 5], 6)
    return out


_BATCHED: dict[str, Callable[[Comparison, Sequence[Any], Index, Index], np.ndarray]] = {
    "exact": _exact, "name": _name, "text": _text, "id": _edits(OSA.distance, 2, (2, 3, 4)), "date": _date,
    "number": _number, "phone": _edits(Levenshtein.distance, 1, (2, 3)), "email": _email}
