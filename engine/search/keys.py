"""Search keys of a record and of a query: the same normalizers on both sides, so "Иванов", "ivanov" and "Iwanow"
meet, "+7 912 345-67-89" and "8 (912) 3456789" meet, and "Ivan@Mail.RU" meets "ivan@mail.ru".

Pure functions (no database): engine/search/index.py stores the keys, engine/services/search.py queries them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import phonenumbers

from engine.config.model import Entity
from engine.quality.normalize import email_key, latin_fold, name_key, phone_key, read_phone, translit

TEXT_TYPES = ("string", "email", "phone", "url")  # a title or searchable field of these types is searched
MAX_KEYS = 40  # per record: a long title adds its first words only
MAX_KEY = 200  # the key column's length
MIN_QUERY = 2  # characters of the shortest word a query searches by
MIN_PHONE_DIGITS = 3  # digits of the shortest national number start a partial phone searches by
_PHONE_TEXT = re.compile(r"[\d\s()+\-.]+")
_VOWEL_I = re.compile(r"(?<=[aeiou])i$")  # Sergei/Sergey, Nikolai/Nikolay: й after a vowel spelled i or y


def word_keys(value: Any) -> list[str]:
    """The words of a text in one script: folded, transliterated to Latin, spelling variants folded."""
    return list(_word_keys(value)) if isinstance(value, str) else []


@lru_cache(maxsize=65536)  # names repeat across records, and a batch of new records keys each value once
def _word_keys(value: str) -> tuple[str, ...]:
    folded = name_key(value)
    if folded is None:
        return ()
    return tuple(_latin_word(word) for word in translit(folded).split() if word)


@lru_cache(maxsize=65536)  # first names and surnames repeat across values far more than whole names do
def _latin_word(word: str) -> str:
    return _VOWEL_I.sub("y", latin_fold(word))


def phone_keys(value: Any, region: str) -> list[str]:
    """The E.164 form and the national digits of a phone ("+79123456789", "9123456789")."""
    e164 = phone_key(value, region)
    if e164 is None:
        return []
    return [e164, str(read_phone(str(value), region)[1])]  # the parse phone_key made (cached)


def searched_fields(entity: Entity) -> list[str]:
    """The title field and the searchable text, e-mail, phone and URL fields of an entity."""
    names = [entity.title_field] if entity.title_field in entity.fields else []
    names += [n for n, f in entity.fields.items() if f.searchable and f.type in TEXT_TYPES and n not in names]
    return names


def record_keys(entity: Entity, data: dict[str, Any], region: str) -> list[str]:
    """Every distinct key of a record (at most MAX_KEYS, each at most MAX_KEY characters)."""
    keys: list[str] = []
    for name in searched_fields(entity):
        value, kind = data.get(name), entity.fields[name].type
        if value in (None, ""):
            continue
        if kind == "phone":
            keys += phone_keys(value, region)
        elif kind == "email":
            address = email_key(value)
            keys += [address] if address else []
            keys += word_keys(str(value).split("@")[0])
        else:
            keys += word_keys(value)
    return list(dict.fromkeys(k[:MAX_KEY] for k in keys if k))[:MAX_KEYS]


@dataclass(frozen=True)
class QueryKeys:
    """What a query searches: every word as a prefix (all must match), or one of several exact/prefix keys."""

    words: tuple[str, ...] = ()  # each a prefix; a record must have a key starting with every one
    exact: tuple[str, ...] = ()  # any one of these keys, exactly (an E.164 phone)
    prefixes: tuple[str, ...] = ()  # any key starting with one of these (e-mail, phone digits)

    def empty(self) -> bool:
        """Whether the query has nothing to search by."""
        return not (self.words or self.exact or self.prefixes)


def query_keys(text: str, region: str) -> QueryKeys:
    """The keys a typed query looks for: an e-mail (prefix), a phone in any format, else words of a name."""
    text = text.strip()[:MAX_KEY]
    if "@" in text:
        address = text.lower()
        return QueryKeys(prefixes=(address,)) if len(address) >= MIN_QUERY else QueryKeys()
    digits = "".join(ch for ch in text if ch.isdigit())
    if _PHONE_TEXT.fullmatch(text) and len(digits) >= 4:
        whole = _whole_number(text, region)
        return QueryKeys(exact=(whole,)) if whole else QueryKeys(prefixes=phone_starts(text, digits, region))
    words = tuple(dict.fromkeys(w for w in word_keys(text) if len(w) >= MIN_QUERY))
    return QueryKeys(words=words[:5])


def _whole_number(text: str, region: str) -> str | None:
    """The E.164 form of a typed phone that is a whole number; None for the start of one (a number that is only
    possible as a local number without its area code, like "8 912 345", is read as a start)."""
    e164 = phone_key(text, region)
    if e164 is None:
        return None
    number = phonenumbers.parse(text, region)  # phone_key read it, so it parses
    whole = phonenumbers.is_possible_number_with_reason(number) == phonenumbers.ValidationResult.IS_POSSIBLE
    return e164 if whole else None


def phone_starts(text: str, digits: str, region: str) -> tuple[str, ...]:
    """The key starts a partial phone matches: typed with "+" the start of the E.164 form ("+7912"); else the
    start of the national digits ("912-34"), the same without the region's trunk prefix ("8 912 345" in RU,
    "030 12" in DE) and the E.164 digits typed without "+" ("7912")."""
    if text.lstrip().startswith("+"):
        return (f"+{digits}",)
    starts = [digits, f"+{digits}"]
    trunk = _trunk_prefix(region)
    if trunk and digits.startswith(trunk) and len(digits) - len(trunk) >= MIN_PHONE_DIGITS:
        starts.append(digits[len(trunk) :])
    return tuple(starts)


@lru_cache(maxsize=64)
def _trunk_prefix(region: str) -> str:
    """The digit(s) a region's numbers are dialled with inside the country ("8" in RU, "0" in DE), else ""."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region.upper())
    return (metadata.national_prefix or "") if metadata is not None else ""
