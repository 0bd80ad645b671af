"""Normalized keys of typed values: E.164 phones, folded e-mails and names, transliteration, phonetic codes.

Pure functions: stored record values keep what the user typed; only these derived keys are compared."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import phonenumbers

_TRANSLIT = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z", "и": "i",
    "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t",
    "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "",
    "э": "e", "ю": "yu", "я": "ya", "і": "i", "ї": "yi", "є": "ye", "ґ": "g", "ў": "u",
}
_TRANSLIT_TABLE = str.maketrans(_TRANSLIT)
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+")
_APOSTROPHES = re.compile(r"['’`ʼ]")
_NOT_WORD = re.compile(r"[\W_]+")
# Legal forms are no part of an organization's name: "ООО «Ромашка»" and "Romashka LLC" meet.
LEGAL_FORMS = frozenset({
    "ооо", "оао", "зао", "пао", "ао", "нао", "ип", "нко", "ано", "гуп", "фгуп", "муп", "тоо", "чп",
    "llc", "ltd", "limited", "inc", "corp", "corporation", "co", "company", "gmbh", "ag", "plc", "sa", "srl",
    "oy", "ab", "bv", "nv", "kg",
})
# Phonetic classes (soundex-like) over Latin letters after transliteration; vowels and h carry no code.
_SOUND_CLASSES = {
    **dict.fromkeys("bfpv", "1"), **dict.fromkeys("cgjkqsxz", "2"), **dict.fromkeys("dt", "3"),
    "l": "4", **dict.fromkeys("mn", "5"), "r": "6",
}
_SOUND_FOLDS = (("shch", "s"), ("sch", "s"), ("tch", "c"), ("ph", "f"), ("kh", "h"), ("ck", "k"), ("w", "v"),
                ("ts", "c"), ("tz", "c"), ("zh", "j"), ("sh", "s"), ("ch", "c"), ("ks", "x"))


def phone_key(value: Any, region: str) -> str | None:
    """The E.164 form of a phone number ("+79123456789"); None when it cannot be read as a possible number."""
    if not isinstance(value, str | int) or isinstance(value, bool) or not str(value).strip():
        return None
    return _phone(str(value), region)


def _phone(value: str, region: str) -> str | None:
    return read_phone(value, region)[0]


@lru_cache(maxsize=131072)  # parsing is the slow part of keying, checking and comparing: once per number
def read_phone(value: str, region: str) -> tuple[str | None, str | None, bool]:
    """What one parse of a phone tells: its E.164 form and national digits (None unless it is a possible
    number) and whether it is a valid number."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None, None, False
    valid = bool(phonenumbers.is_valid_number(number))
    if not phonenumbers.is_possible_number(number):
        return None, None, valid
    return (phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), str(number.national_number),
            valid)


def email_key(value: Any) -> str | None:
    """The trimmed, lower-case e-mail address; None when it is not one."""
    if not isinstance(value, str):
        return None
    text = value.strip().lower()
    return text if _EMAIL.fullmatch(text) else None


def name_key(value: Any) -> str | None:
    """A name folded for comparison: trimmed, case-folded, ё→е, accents and punctuation dropped, single spaces."""
    if not isinstance(value, str):
        return None
    return _folded_name(value)


@lru_cache(maxsize=65536)  # the search words, the name tokens and the compared forms of one value all fold it
def _folded_name(value: str) -> str | None:
    text = unicodedata.normalize("NFKD", value.casefold().replace("ё", "е").replace("й", "\0"))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).replace("\0", "й")
    text = _NOT_WORD.sub(" ", _APOSTROPHES.sub("", text))
    return " ".join(text.split()) or None


def translit(value: str) -> str:
    """Cyrillic letters spelled in Latin ones by a fixed table ("иванов" → "ivanov"); other characters kept."""
    return value.lower().translate(_TRANSLIT_TABLE)


def company_key(value: Any) -> str | None:
    """An organization name folded like name_key, without legal forms (ООО, LLC, GmbH...)."""
    folded = name_key(value)
    if folded is None:
        return None
    tokens = [token for token in folded.split() if token not in LEGAL_FORMS]
    return " ".join(tokens) or folded


def digits_key(value: Any) -> str | None:
    """Only the digits of a value (tax ids, registration numbers); None when it has none."""
    if value is None or isinstance(value, bool):
        return None
    digits = "".join(ch for ch in str(value) if ch.isdigit())
    return digits or None


def text_key(value: Any) -> str | None:
    """Trimmed, case-folded text with single spaces; None when empty."""
    if value is None or isinstance(value, bool | list | dict):
        return None
    return " ".join(str(value).casefold().split()) or None


@lru_cache(maxsize=65536)
def sound_key(token: str) -> str:
    """A soundex-like code of one word after transliteration: typos in vowels and spelling variants
    (Ivanov, Iwanow, Иванов) give the same code."""
    text = translit(token.lower())
    for spelled, folded in _SOUND_FOLDS:
        text = text.replace(spelled, folded)
    letters = [ch for ch in text if "a" <= ch <= "z"]
    if not letters:
        return ""
    first = {"y": "i", "j": "i", "e": "i"}.get(letters[0], letters[0])
    code, last = [first], _SOUND_CLASSES.get(letters[0], "")
    for ch in letters[1:]:
        digit = _SOUND_CLASSES.get(ch, "")
        if digit and digit != last:
            code.append(digit)
        if ch not in "hw":  # a vowel separates two equal codes, h does not (classic soundex)
            last = digit
        if len(code) == 5:
            break
    return "".join(code)


def name_tokens(value: Any) -> list[str]:
    """The transliterated words of a name, sorted (word order does not matter)."""
    return list(_tokens_of(value)) if isinstance(value, str) else []


@lru_cache(maxsize=65536)  # names repeat, and several block keys read the same words
def _tokens_of(value: str) -> tuple[str, ...]:
    folded = name_key(value)
    return tuple(sorted(translit(folded).split())) if folded else ()


def _one(key: str | None) -> list[str]:
    return [key] if key else []


def _words(value: Any) -> list[str]:
    """The words a per-word block key is made of: two letters or more, legal forms left out."""
    return [token for token in name_tokens(company_key(value)) if len(token) >= 2]


def _prefixes(value: Any, _region: str) -> list[str]:
    return sorted({token[:4] for token in _words(value)})


def _sounds(value: Any, _region: str) -> list[str]:
    return sorted({code for token in _words(value) if (code := sound_key(token))})


def _initials(value: Any, _region: str) -> list[str]:
    tokens = name_tokens(value)
    return _one(" ".join(sorted(token[:3] for token in tokens)) if len(tokens) > 1 else None)


def _pairs(value: Any, _region: str) -> list[str]:
    starts = sorted({token[:3] for token in name_tokens(value)})[:6]
    return [f"{a} {b}" for i, a in enumerate(starts) for b in starts[i + 1:]]


def _sound_set(value: Any, _region: str) -> list[str]:
    codes = sorted(code for token in name_tokens(value) if (code := sound_key(token)))
    return _one(" ".join(codes) if len(codes) > 1 else None)


def _name(value: Any, _region: str) -> list[str]:
    folded = name_key(value)
    return _one(translit(folded) if folded else None)


def _tokens(value: Any, _region: str) -> list[str]:
    return _one(" ".join(name_tokens(value)) or None)


def _company(value: Any, _region: str) -> list[str]:
    folded = company_key(value)
    return _one(translit(folded) if folded else None)


# Key kinds a configuration may name (`normalize:`); each turns one field value into zero or more keys.
NORMALIZERS: dict[str, Callable[[Any, str], list[str]]] = {
    "phone": lambda value, region: _one(phone_key(value, region)),
    "email": lambda value, _region: _one(email_key(value)),
    "name": _name,
    "name_tokens": _tokens,
    "company": _company,
    "digits": lambda value, _region: _one(digits_key(value)),
    "text": lambda value, _region: _one(text_key(value)),
    "name_prefix": _prefixes,
    "name_sound": _sounds,
    "name_initials": _initials,  # the sorted first three letters of every word: "iva pet" (2+ words)
    "name_pairs": _pairs,  # the same for every two words: a middle name more or less still meets
    "name_sounds": _sound_set,  # the sorted phonetic codes of every word (2+ words)
}


def keys_of(kind: str, value: Any, region: str) -> list[str]:
    """The keys of one value under a normalizer kind (see NORMALIZERS); KeyError for an unknown kind."""
    if isinstance(value, str):
        return list(_text_keys(kind, value, region))
    return NORMALIZERS[kind](value, region)


@lru_cache(maxsize=131072)  # an import keys each row for matching, for its match_key rows and for later rows
def _text_keys(kind: str, value: str, region: str) -> tuple[str, ...]:
    return tuple(NORMALIZERS[kind](value, region))


_SPELLING_FOLDS = (("ph", "f"), ("kh", "h"), ("ck", "k"), ("w", "v"), ("j", "y"), ("yo", "e"), ("io", "e"),
                   ("iia", "ia"), ("ia", "ya"), ("iu", "yu"), ("ie", "ye"), ("ks", "x"))
_WORD_END_FOLDS = ((re.compile(r"(?<=[aeiouy])ff\b"), "v"), (re.compile(r"(?<=[a-z])(?:ii|ij|iy|yi)\b"), "y"),
                   (re.compile(r"(?<=[a-z])ski\b"), "sky"))


def latin_fold(text: str) -> str:
    """Latin spelling variants of one sound made alike (Iwan/Ivan, Jakovlev/Iakovlev/Yakovlev, Krasnoff/Krasnov,
    Dmitrii/Dmitriy, Grachyov/Grachev)."""
    for pattern, folded in _WORD_END_FOLDS:
        text = pattern.sub(folded, text)
    for spelled, folded in _SPELLING_FOLDS:
        text = text.replace(spelled, folded)
    return text


def comparable_forms(value: Any, how: str) -> tuple[str, ...]:
    """The three forms of a value a fuzzy scorer compares position by position with another's: the folded text,
    its transliteration and that with Latin spelling variants folded (Иванов, ivanov; Iwanow → ivanov)."""
    if isinstance(value, str):
        return _text_forms(value, how)
    return _forms(value, how)


@lru_cache(maxsize=65536)  # a scan compares each record with several others
def _text_forms(value: str, how: str) -> tuple[str, ...]:
    return _forms(value, how)


def _forms(value: Any, how: str) -> tuple[str, ...]:
    folded = company_key(value) if how == "company" else text_key(value) if how == "text" else name_key(value)
    if folded is None:
        return ()
    latin = translit(folded)
    return (folded, latin, latin_fold(latin))
