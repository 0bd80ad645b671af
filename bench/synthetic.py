"""A labelled synthetic contact base (Russian and English people) for the duplicate and import benchmarks.

Every row carries the id of the person it describes (`entity_id`): two rows with the same id are duplicates. A
duplicate differs from its person by typos, transliteration (several schemes), swapped name order, another phone
format, e-mail case and missing fields. Hard negatives are labelled too: a household (a spouse sharing the phone,
same surname) and namesakes (same common name, other phone and e-mail) are different people. Deterministic by seed.
"""

from __future__ import annotations

import csv
import random
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import combinations
from pathlib import Path
from typing import Any

import phonenumbers

from bench.names import (
    CYR_LOWER,
    EN_FEMALE,
    EN_LAST,
    EN_MALE,
    LAT_LOWER,
    RU_FEMALE,
    RU_LAST,
    RU_MALE,
    SCHEMES,
    feminine,
    patronymic,
    to_cyrillic,
    transliterate,
)

CSV_COLUMNS = ("full_name", "first_name", "last_name", "phone", "email", "region")
REGIONS = ("moscow", "saint_petersburg", "central", "northwest", "south", "volga", "urals", "siberia", "far_east")
MAIL_RU = ("mail.ru", "yandex.ru", "gmail.com", "bk.ru", "list.ru", "inbox.ru", "rambler.ru")
MAIL_EN = ("gmail.com", "outlook.com", "yahoo.com", "example.com", "proton.me")
RU_FORMATS = ("8 ({a}) {b}-{c}-{d}", "+7 {a} {b}{c}{d}", "8{a}{b}{c}{d}", "+7-{a}-{b}-{c}-{d}",
              "+7 ({a}) {b}-{c}-{d}", "+7{a}{b}{c}{d}")
EN_FORMATS = ("+1 {a} {b} {c}{d}", "+1 ({a}) {b}-{c}{d}", "+1{a}{b}{c}{d}", "+1-{a}-{b}-{c}{d}")
VARIATIONS = ("typo", "translit", "swap_names", "phone_format", "email_case", "missing_phone", "missing_email",
              "missing_parts")


@dataclass(frozen=True)
class Person:
    """The truth about one person: canonical name parts, contact data and the ids of related people."""

    entity_id: int
    lang: str  # ru | en
    first: str
    last: str
    middle: str  # Russian patronymic, "" for English names
    phone: str  # national significant number (10 digits)
    email: str
    region: str


@dataclass
class SyntheticRow:
    """One contact as a CRM would hold it, with its label: which person, which variations of that person."""

    entity_id: int
    data: dict[str, Any]
    variations: tuple[str, ...] = ()


@dataclass
class Base:
    """The rows plus the labelled relations between people."""

    rows: list[SyntheticRow]
    people: dict[int, Person]
    households: set[tuple[int, int]] = field(default_factory=set)  # entity id pairs (smaller first)
    namesakes: set[tuple[int, int]] = field(default_factory=set)

    def pairs_by_entity(self) -> dict[str, set[tuple[int, int]]]:
        """Row index pairs (i < j): same person, household, namesake."""
        by_entity: dict[int, list[int]] = defaultdict(list)
        for i, row in enumerate(self.rows):
            by_entity[row.entity_id].append(i)
        same = {pair for idx in by_entity.values() for pair in combinations(idx, 2)}
        out: dict[str, set[tuple[int, int]]] = {"duplicate": same, "household": set(), "namesake": set()}
        for kind, relation in (("household", self.households), ("namesake", self.namesakes)):
            for a, b in relation:
                out[kind].update((min(i, j), max(i, j)) for i in by_entity[a] for j in by_entity[b])
        return out


class _Maker:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.next_id = 1
        self.phones: set[str] = set()
        self.emails: set[str] = set()

    def phone(self, lang: str) -> str:
        while True:
            if lang == "ru":
                number = f"9{self.rng.randrange(10**9):09d}"
            else:
                area = self.rng.choice(("212", "415", "617", "312", "206", "512", "303", "646", "718", "202"))
                number = f"{area}{self.rng.randrange(2, 10)}{self.rng.randrange(10**6):06d}"
            country = "+7" if lang == "ru" else "+1"
            if number not in self.phones and phonenumbers.is_valid_number(phonenumbers.parse(country + number)):
                self.phones.add(number)
                return number

    def email(self, first_lat: str, last_lat: str, lang: str) -> str:
        domains = MAIL_RU if lang == "ru" else MAIL_EN
        shapes = ("{f}.{l}", "{f0}{l}", "{l}.{f}", "{l}{n}", "{f}_{l}{n}", "{f0}.{l}{n}")
        while True:
            local = self.rng.choice(shapes).format(f=first_lat, l=last_lat, f0=first_lat[:1],
                                                   n=self.rng.randrange(1, 1000))
            address = f"{local}@{self.rng.choice(domains)}".lower()
            if address not in self.emails:
                self.emails.add(address)
                return address

    def person(self, lang: str, *, female: bool | None = None, last: str | None = None, first: str | None = None,
               phone: str | None = None, region: str | None = None) -> Person:
        rng = self.rng
        female = rng.random() < 0.5 if female is None else female
        if lang == "ru":
            first = first or rng.choice(RU_FEMALE if female else RU_MALE)
            base_last = last or rng.choice(RU_LAST)
            surname = feminine(base_last) if female else base_last
            middle = patronymic(rng.choice(RU_MALE), female)
            lat = transliterate(first, "passport"), transliterate(surname, "passport")
        else:
            first = first or rng.choice(EN_FEMALE if female else EN_MALE)
            surname = last or rng.choice(EN_LAST)
            middle = ""
            lat = first, surname
        person = Person(
            entity_id=self.next_id, lang=lang, first=first, last=surname, middle=middle,
            phone=phone or self.phone(lang), email=self.email(lat[0].lower(), lat[1].lower(), lang),
            region=region or rng.choice(REGIONS),
        )
        self.next_id += 1
        return person


def format_phone(national: str, style: int) -> str:
    """The number written in one of the formats people type (style picks it)."""
    formats = EN_FORMATS if national[:1] != "9" else RU_FORMATS
    a, b, c, d = national[:3], national[3:6], national[6:8], national[8:]
    return formats[style % len(formats)].format(a=a, b=b, c=c, d=d)


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 4:
        return word
    alphabet = CYR_LOWER if word[0].lower() in CYR_LOWER else LAT_LOWER
    i = rng.randrange(1, len(word) - 1)
    how = rng.choice(("insert", "delete", "swap", "replace"))
    if how == "insert":
        return word[:i] + rng.choice(alphabet) + word[i:]
    if how == "delete":
        return word[:i] + word[i + 1:]
    if how == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    return word[:i] + rng.choice(alphabet) + word[i + 1:]


def _canonical(person: Person, rng: random.Random) -> SyntheticRow:
    return SyntheticRow(person.entity_id, _data(person, person.first, person.last, person.middle,
                                                 format_phone(person.phone, rng.randrange(6)), person.email,
                                                 swap=False))


def _data(person: Person, first: str, last: str, middle: str, phone: str | None, email: str | None, *,
          swap: bool, parts: bool = True) -> dict[str, Any]:
    if person.lang == "ru" and middle:
        full = f"{first} {middle} {last}" if swap else f"{last} {first} {middle}"
    else:
        full = f"{last} {first}" if swap else f"{first} {last}"
    data: dict[str, Any] = {"full_name": full, "region": person.region}
    if parts:
        data["first_name"], data["last_name"] = first, last
    if phone:
        data["phone"] = phone
    if email:
        data["email"] = email
    return data


def _duplicate(person: Person, rng: random.Random) -> SyntheticRow:
    """Another record of the same person: 1..3 variations plus, always, its own phone format."""
    picks = set(rng.sample(("typo", "translit", "swap_names", "email_case", "missing", "missing_parts"),
                           rng.choice((1, 1, 2, 2, 3))))
    first, last, middle = person.first, person.last, person.middle
    applied = ["phone_format"]
    if "translit" in picks:
        if person.lang == "ru":
            scheme = rng.choice(list(SCHEMES))
            first, last = transliterate(first, scheme), transliterate(last, scheme)
            middle = transliterate(middle, scheme) if rng.random() < 0.5 else ""
        else:
            first, last = to_cyrillic(first), to_cyrillic(last)
        applied.append("translit")
    if "typo" in picks:
        if rng.random() < 0.6:
            last = _typo(last, rng)
        else:
            first = _typo(first, rng)
        applied.append("typo")
    swap = "swap_names" in picks
    if swap:
        applied.append("swap_names")
    email: str | None = person.email
    if "email_case" in picks:
        local, domain = person.email.split("@")
        email = f"{local.title()}@{domain.capitalize() if rng.random() < 0.5 else domain}"
        applied.append("email_case")
    phone: str | None = format_phone(person.phone, rng.randrange(6))
    if "missing" in picks:
        if rng.random() < 0.5:
            phone = None
            applied.append("missing_phone")
        else:
            email = None
            applied.append("missing_email")
    parts = "missing_parts" not in picks
    if not parts:
        applied.append("missing_parts")
    return SyntheticRow(person.entity_id, _data(person, first, last, middle, phone, email, swap=swap, parts=parts),
                        tuple(applied))


def contact_base(records: int, seed: int = 1, *, max_records: int = 4, duplicate_share: float = 0.15,
                 household_share: float = 0.05, namesake_share: float = 0.05, english_share: float = 0.2) -> Base:
    """About `records` contact rows (exactly that many) of people with 1..max_records records each."""
    maker = _Maker(seed)
    rng = maker.rng
    rows: list[SyntheticRow] = []
    people: dict[int, Person] = {}
    base = Base(rows, people)

    def add(person: Person) -> None:
        people[person.entity_id] = person
        rows.append(_canonical(person, rng))
        if rng.random() < duplicate_share:
            rows.extend(_duplicate(person, rng) for _ in range(rng.randint(1, max_records - 1)))

    while len(rows) < records:
        lang = "en" if rng.random() < english_share else "ru"
        person = maker.person(lang)
        add(person)
        draw = rng.random()
        if draw < household_share:
            spouse = maker.person(lang, female=not _is_female(person), last=_base_last(person),
                                  phone=person.phone, region=person.region)
            add(spouse)
            base.households.add((person.entity_id, spouse.entity_id))
        elif draw < household_share + namesake_share:
            namesake = maker.person(lang, female=_is_female(person), first=person.first, last=_base_last(person))
            add(namesake)
            base.namesakes.add((person.entity_id, namesake.entity_id))
    del rows[records:]
    alive = {row.entity_id for row in rows}
    base.households = {p for p in base.households if p[0] in alive and p[1] in alive}
    base.namesakes = {p for p in base.namesakes if p[0] in alive and p[1] in alive}
    rng.shuffle(rows)  # duplicates do not sit next to their originals (ids carry no hint)
    return base


def _is_female(person: Person) -> bool:
    return person.first in RU_FEMALE or person.first in EN_FEMALE


def _base_last(person: Person) -> str:
    """The masculine surname a spouse or namesake is built from."""
    if person.lang == "en" or not _is_female(person):
        return person.last
    return next((m for m in RU_LAST if feminine(m) == person.last), person.last)


def write_csv(rows: Iterable[SyntheticRow], path: Path, columns: tuple[str, ...] = CSV_COLUMNS) -> int:
    """Write the rows (without labels) as a UTF-8 CSV with a header; returns the row count."""
    count = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([row.data.get(c, "") for c in columns])
            count += 1
    return count


def record_rows(rows: Iterable[SyntheticRow], *, entity: str = "Contact", now: datetime, start_id: int = 1,
                created_by: str = "bench") -> Iterator[dict[str, Any]]:
    """The rows as `record` table values (ids from start_id, in order): for insert(RecordRow) or COPY."""
    for n, row in enumerate(rows):
        data = {"relationship": "potential_client", **row.data}
        yield {"id": start_id + n, "entity": entity, "title": data["full_name"], "data": data, "owner_id": None,
               "created_at": now, "created_by": created_by, "updated_at": now, "revision": 1}
