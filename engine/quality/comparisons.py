"""Comparison levels of a probabilistic rule: how alike two values of a field are, as one of a few named levels.

Level 0 is always `null` (either value missing: no evidence, weight 0); the others run from the strongest
agreement to `other` (disagreement). A level is what a Fellegi-Sunter model learns m and u probabilities for
(engine/quality/fellegi_sunter.py)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from rapidfuzz.distance import OSA, JaroWinkler, Levenshtein

from engine.config.duplicates_model import Comparison
from engine.quality.normalize import comparable_forms, email_key, phone_key

NULL = 0
# The levels of each kind of comparison, strongest agreement first after null; the last is disagreement.
LEVELS: dict[str, tuple[str, ...]] = {
    "exact": ("null", "exact", "other"),
    "name": ("null", "exact", "swapped", "close", "similar", "weak", "other"),
    "text": ("null", "exact", "close", "similar", "other"),
    "id": ("null", "exact", "one_edit", "two_edits", "other"),
    "date": ("null", "exact", "day_month_swapped", "year_typo", "near", "other"),
    "number": ("null", "exact", "within_1pct", "within_10pct", "other"),
    "phone": ("null", "exact", "one_digit", "other"),
    "email": ("null", "exact", "same_user", "one_edit", "other"),
}
# Jaro-Winkler bands of the name and text levels: close >= 0.94, similar >= 0.88, weak (names) >= 0.75
CLOSE, SIMILAR, WEAK = 0.94, 0.88, 0.75
_DATE = re.compile(r"(\d{4})-?(\d{2})-?(\d{2})")


def value_of(comparison: Comparison, data: Mapping[str, Any]) -> Any:
    """The value compared: the field's, or the fields' joined by spaces (given name + surname)."""
    if not comparison.also:
        return data.get(comparison.field)
    parts = [str(data[name]) for name in (comparison.field, *comparison.also) if data.get(name) not in (None, "")]
    return " ".join(parts) or None


def compare(comparison: Comparison, a: Any, b: Any) -> int:
    """The level (an index into LEVELS[comparison.compare]) two values of the field meet."""
    return compare_prepared(comparison, prepare(comparison, a), prepare(comparison, b))


def prepare(comparison: Comparison, value: Any) -> Any:
    """A value folded once for all its comparisons (a scan compares each record with several others): None
    when it is missing or unreadable."""
    if value in (None, "", []):
        return None
    return _PREPARERS[comparison.compare](comparison, value)


def compare_prepared(comparison: Comparison, a: Any, b: Any) -> int:
    """The level two prepared values meet."""
    if a is None or b is None:
        return NULL
    return _COMPARERS[comparison.compare](comparison, a, b)


def comparer(comparison: Comparison) -> Callable[[Comparison, Any, Any], int]:
    """The function `compare_prepared` calls for this comparison (values both present): a scan binds it once."""
    return _COMPARERS[comparison.compare]


def _casefold(_: Comparison, value: Any) -> Any:
    return value.strip().casefold() if isinstance(value, str) else value


def _exact(_: Comparison, a: Any, b: Any) -> int:
    return 1 if a == b else 2


@lru_cache(maxsize=131072)
def _name_words(value: str) -> tuple[tuple[str, ...], ...] | None:
    """Each comparable form (folded, Latin, spelling-folded) of a name as its words."""
    return tuple(tuple(form.split()) for form in comparable_forms(value, "name")) or None


def _longest_first(words: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted(words, key=len, reverse=True))


def aligned_similarity(words_a: tuple[str, ...], words_b: tuple[str, ...]) -> float:
    """Jaro-Winkler of the words of two names paired best first, weighted by length; a word more on one side
    (a middle name) is not held against the pair. 0..1."""
    return _aligned(_longest_first(words_a), _longest_first(words_b))


def _aligned(words_a: tuple[str, ...], words_b: tuple[str, ...]) -> float:
    """`aligned_similarity` of words already sorted longest first (prepared once per value)."""
    short, long = (words_a, words_b) if len(words_a) <= len(words_b) else (words_b, words_a)
    if not short:
        return 0.0
    similarity = JaroWinkler.normalized_similarity
    if len(short) == 1:
        word = short[0]
        if len(word) == 1:
            return 0.9 if any(other.startswith(word) for other in long) else 0.0
        return max(1.0 if word == other else similarity(word, other) for other in long)
    if len(short) == 2 and len(long) == 2 and min(map(len, short)) > 1:  # most names: two words each
        (first, second), (one, other) = short, long
        straight, crossed = similarity(first, one), similarity(first, other)
        rest = similarity(second, other) if straight >= crossed else similarity(second, one)
        return (max(straight, crossed) * len(first) + rest * len(second)) / (len(first) + len(second))
    free = list(long)
    total = weight = 0.0
    for word in short:
        best, at = 0.0, 0
        for index, other in enumerate(free):
            score = 1.0 if word == other else similarity(word, other)
            if len(word) == 1 and other.startswith(word):  # an initial meets the word it starts
                score = 0.9
            if score > best:
                best, at = score, index
        free.pop(at)
        total, weight = total + best * len(word), weight + len(word)
    return total / weight


def _name_prepared(_: Comparison, value: Any) -> Any:
    return _name_forms(str(value))


@lru_cache(maxsize=131072)  # an import's batches meet the same older records again and again
def _name_forms(value: str) -> Any:
    words = _name_words(value)
    if words is None:
        return None
    return tuple(zip(words, (tuple(sorted(form)) for form in words), (_longest_first(form) for form in words),
                     strict=True))


def _name(_: Comparison, a: Any, b: Any) -> int:
    best = 0.0
    seen: tuple[tuple[str, ...], tuple[str, ...]] | None = None
    for (words_a, set_a, long_a), (words_b, set_b, long_b) in zip(a, b, strict=True):
        if words_a == words_b:
            return 1
        if set_a == set_b:
            return 2  # the same words in another order: given name and surname swapped
        if (set_a, set_b) == seen:  # this form is the previous one (Latin text transliterates to itself)
            continue
        seen = set_a, set_b
        best = max(best, _aligned(long_a, long_b))
    return 3 if best >= CLOSE else 4 if best >= SIMILAR else 5 if best >= WEAK else 6


def _text_prepared(_: Comparison, value: Any) -> Any:
    forms = comparable_forms(str(value), "text")
    return (forms[0], _longest_first(tuple(forms[0].split()))) if forms else None


def _text(_: Comparison, a: tuple[str, tuple[str, ...]], b: tuple[str, tuple[str, ...]]) -> int:
    if a[0] == b[0]:
        return 1
    # the whole texts, or word by word: a part missing on one side (a street number, a suburb of joined fields)
    # is not a disagreement
    best = JaroWinkler.normalized_similarity(a[0], b[0])
    if best < CLOSE:
        best = max(best, _aligned(a[1], b[1]))
    return 2 if best >= CLOSE else 3 if best >= SIMILAR else 4


def _id_prepared(_: Comparison, value: Any) -> Any:
    return "".join(ch for ch in str(value).upper() if ch.isalnum()) or None


def _id(_: Comparison, a: Any, b: Any) -> int:
    if a == b:
        return 1
    edits = OSA.distance(a, b, score_cutoff=2)  # two neighbouring digits transposed is one slip of the hand
    return 2 if edits == 1 else 3 if edits == 2 else 4


def as_date(value: Any) -> date | None:
    """A date from a date, a datetime or text like 2024-03-01 or 20240301; None otherwise."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    found = _DATE.fullmatch(str(value).strip()[:10]) if isinstance(value, str) else None
    if found is None:
        return None
    try:
        return date(int(found[1]), int(found[2]), int(found[3]))
    except ValueError:
        return None


def _date_prepared(_: Comparison, value: Any) -> Any:
    return as_date(value)


def _date(comparison: Comparison, day_a: date, day_b: date) -> int:
    if day_a == day_b:
        return 1
    if (day_a.year, day_a.month, day_a.day) == (day_b.year, day_b.day, day_b.month):
        return 2
    if (day_a.month, day_a.day) == (day_b.month, day_b.day) and _one_digit(f"{day_a.year:04d}", f"{day_b.year:04d}"):
        return 3
    return 4 if abs((day_a - day_b).days) <= comparison.days else 5


def _one_digit(a: str, b: str) -> bool:
    """One digit of the year mistyped or two neighbouring ones swapped (1956 / 1959 / 1965)."""
    return OSA.distance(a, b, score_cutoff=1) == 1


def _number_prepared(_: Comparison, value: Any) -> Any:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _number(_: Comparison, x: float, y: float) -> int:
    if x == y:
        return 1
    gap = abs(x - y) / max(abs(x), abs(y))
    return 2 if gap <= 0.01 else 3 if gap <= 0.1 else 4


def _phone_prepared(comparison: Comparison, value: Any) -> Any:
    return phone_key(value, comparison.region)


def _phone(_: Comparison, a: str, b: str) -> int:
    if a == b:
        return 1
    return 2 if Levenshtein.distance(a, b, score_cutoff=1) <= 1 else 3


def _email_prepared(_: Comparison, value: Any) -> Any:
    return email_key(value)


def _email(_: Comparison, a: str, b: str) -> int:
    if a == b:
        return 1
    if a.split("@")[0] == b.split("@")[0]:
        return 2
    return 3 if Levenshtein.distance(a, b, score_cutoff=1) <= 1 else 4


_PREPARERS: dict[str, Callable[[Comparison, Any], Any]] = {
    "exact": _casefold, "name": _name_prepared, "text": _text_prepared, "id": _id_prepared,
    "date": _date_prepared, "number": _number_prepared, "phone": _phone_prepared, "email": _email_prepared}
_COMPARERS: dict[str, Callable[[Comparison, Any, Any], int]] = {
    "exact": _exact, "name": _name, "text": _text, "id": _id, "date": _date, "number": _number,
              "phone": _phone, "email": _email}
