"""A labelled English-language person base in the style of the standard record-linkage benchmarks (FEBRL's
dataset generator): originals drawn from skewed name, street and suburb frequencies, and duplicates of them with
1..4 corruptions each — typos in names and addresses, given name and surname swapped, missing values, date of birth
errors (day and month swapped, a year digit wrong, a few days off) and id digit errors (a digit replaced or two
neighbouring digits transposed). Households (same surname and address, another person) are labelled non-duplicates.
Deterministic by seed; rows carry the id of the person they describe (two rows with one id are duplicates)."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import combinations
from typing import Any


def _words(text: str) -> list[str]:
    return text.split()


GIVEN = _words(
    "james john robert michael william david richard joseph thomas charles christopher daniel matthew anthony mark "
    "donald steven paul andrew joshua kenneth kevin brian george timothy ronald edward jason jeffrey ryan jacob gary "
    "nicholas eric jonathan stephen larry justin scott brandon benjamin samuel gregory alexander frank patrick "
    "raymond jack dennis jerry tyler aaron jose adam nathan henry douglas zachary peter kyle noah ethan jeremy walter "
    "christian keith roger terry austin sean gerald carl harold dylan arthur lawrence jordan jesse bryan billy bruce "
    "gabriel joe logan albert willie alan eugene russell vincent philip bobby johnny bradley mary patricia jennifer "
    "linda elizabeth barbara susan jessica sarah karen lisa nancy betty sandra margaret ashley kimberly emily donna "
    "michelle carol amanda melissa deborah stephanie dorothy rebecca sharon laura cynthia amy kathleen angela shirley "
    "brenda emma anna pamela nicole samantha katherine christine helen debra rachel carolyn janet maria catherine "
    "heather diane olivia julie joyce victoria ruth virginia lauren kelly christina joan evelyn judith andrea hannah "
    "megan cheryl jacqueline martha madison teresa gloria sara janice ann kathryn abigail sophia frances jean alice "
    "judy isabella julia grace amber denise danielle marilyn beverly charlotte natalie theresa diana brittany doris "
    "kayla alexis lori marie chloe jade tahlia mia ruby zoe lily ella isla matilda")
_SURNAME_HEADS = _words("ash black brad brook cald carl chad cran dal dun el fair fern gold green hal hart haw hol "
                        "king "
                  "lang lind mar mid mor new north oak pem rad red ros shel stan stock thorn wake wel whit wood brig "
                  "cart dar eas fal gil har kel lock mac "
                  "mel mil nor pen quin rich sax tal up van war york")
_SURNAME_TAILS = _words("ley ton wood worth field ford ham more well by brook dale stone croft wick bury hurst man son "
                  "er ridge mont cott ing land")
SURNAMES = tuple(sorted({h + t for h in _SURNAME_HEADS for t in _SURNAME_TAILS} | set(_words(
    "smith jones williams brown wilson taylor nguyen johnson martin white anderson walker thompson thomas lee "
     "ryan robinson kelly king davis wright evans roberts green hall wood jackson clarke campbell harris edwards "
     "mitchell young turner baker hill scott cooper morris ward moore collins murphy stewart miller"))))
STREET_TYPES = ("street", "road", "avenue", "crescent", "place", "close", "circuit", "drive", "parade", "lane")
STATES = ("nsw", "vic", "qld", "wa", "sa", "tas", "act", "nt")
_STATE_SHARE = (32, 26, 20, 10, 7, 2, 2, 1)
LETTERS = "abcdefghijklmnopqrstuvwxyz"
CORRUPTIONS = ("name_typo", "swap_names", "missing", "date_error", "id_digit", "address_typo", "postcode_digit")


@dataclass
class PersonRow:
    """One record with its label: the person it describes and the corruptions applied."""

    entity_id: int
    data: dict[str, Any]
    corruptions: tuple[str, ...] = ()


@dataclass
class PersonBase:
    """The rows and the labelled households (entity id pairs that are different people at one address)."""

    rows: list[PersonRow]
    households: set[tuple[int, int]]

    def duplicate_pairs(self) -> set[tuple[int, int]]:
        """Row index pairs (i < j) of the same person."""
        by_entity: dict[int, list[int]] = defaultdict(list)
        for index, row in enumerate(self.rows):
            by_entity[row.entity_id].append(index)
        return {pair for rows in by_entity.values() for pair in combinations(rows, 2)}


def _skewed(rng: random.Random, values: tuple[str, ...] | list[str]) -> str:
    """A value drawn with Zipf-like frequencies: common names are common."""
    index = int(len(values) * (rng.random() ** 2.2))
    return values[min(index, len(values) - 1)]


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 3:
        return word
    at = rng.randrange(len(word))
    how = rng.choice(("insert", "delete", "replace", "transpose"))
    if how == "insert":
        return word[:at] + rng.choice(LETTERS) + word[at:]
    if how == "delete":
        return word[:at] + word[at + 1:]
    if how == "transpose" and at < len(word) - 1:
        return word[:at] + word[at + 1] + word[at] + word[at + 2:]
    return word[:at] + rng.choice(LETTERS) + word[at + 1:]


def _digit_error(digits: str, rng: random.Random) -> str:
    at = rng.randrange(len(digits) - 1)
    if rng.random() < 0.5 and digits[at] != digits[at + 1]:  # swapping two equal digits would change nothing
        return digits[:at] + digits[at + 1] + digits[at] + digits[at + 2:]
    other = rng.choice([d for d in "0123456789" if d != digits[at]])
    return digits[:at] + other + digits[at + 1:]


def _date_error(day: date, rng: random.Random) -> date:
    how = rng.choice(("swap", "year", "days"))
    if how == "swap" and day.day <= 12 and day.day != day.month:
        return date(day.year, day.day, day.month)
    if how == "year":
        year = str(day.year)
        at = rng.choice((2, 3))
        changed = int(year[:at] + rng.choice([d for d in "0123456789" if d != year[at]]) + year[at + 1:])
        try:
            return day.replace(year=changed)
        except ValueError:  # 29 February
            return day.replace(year=changed, day=28)
    return day + timedelta(days=rng.choice((-3, -2, -1, 1, 2, 3, 7, 10)))


class _Places:
    """Suburbs with their postcode and state, and street names: drawn once per seed."""

    def __init__(self, rng: random.Random) -> None:
        heads = list(_SURNAME_HEADS)
        tails = ("vale", "field", "hill", "wood", "park", "ton", "dale", "bank", "side", "view", "ridge", "bay")
        names = sorted({h + t for h in heads for t in tails})
        rng.shuffle(names)
        self.suburbs = names[:600]
        self.where = {s: (f"{rng.randrange(2000, 8000):04d}", rng.choices(STATES, _STATE_SHARE)[0])
                      for s in self.suburbs}
        streets = sorted({f"{s} {t}" for s in SURNAMES for t in STREET_TYPES})
        rng.shuffle(streets)
        self.streets = streets[:3000]


def _person(rng: random.Random, places: _Places, ids: set[str], surname: str | None = None,
            address: tuple[str, str, str] | None = None) -> dict[str, Any]:
    while True:
        ssn = f"{rng.randrange(10**6, 10**7)}"
        if ssn not in ids:
            ids.add(ssn)
            break
    suburb = address[2] if address else _skewed(rng, places.suburbs)
    postcode, state = places.where[suburb]
    born = date(1930, 1, 1) + timedelta(days=rng.randrange(365 * 75))
    return {"given_name": _skewed(rng, GIVEN), "surname": surname or _skewed(rng, SURNAMES),
            "street_number": address[0] if address else str(rng.choice((rng.randrange(1, 40), rng.randrange(1, 400)))),
            "address_1": address[1] if address else _skewed(rng, places.streets), "suburb": suburb,
            "postcode": postcode, "state": state, "date_of_birth": born.isoformat(), "soc_sec_id": ssn}


def _duplicate(original: dict[str, Any], rng: random.Random) -> tuple[dict[str, Any], tuple[str, ...]]:
    data = dict(original)
    picks = rng.sample(CORRUPTIONS, rng.choice((1, 1, 2, 2, 3, 4)))
    for how in sorted(picks, key=lambda how: how == "missing"):  # blanks last: the others change a value
        if how == "name_typo":
            name = rng.choice(("given_name", "surname"))
            data[name] = _typo(data[name], rng)
        elif how == "swap_names":
            data["given_name"], data["surname"] = data["surname"], data["given_name"]
        elif how == "missing":
            for name in rng.sample(("given_name", "street_number", "address_1", "suburb", "postcode",
                                    "date_of_birth", "soc_sec_id"), rng.choice((1, 1, 2))):
                data[name] = None
        elif how == "date_error" and data["date_of_birth"]:
            data["date_of_birth"] = _date_error(date.fromisoformat(data["date_of_birth"]), rng).isoformat()
        elif how == "id_digit" and data["soc_sec_id"]:
            data["soc_sec_id"] = _digit_error(data["soc_sec_id"], rng)
        elif how == "address_typo" and data["address_1"]:
            street, kind = data["address_1"].rsplit(" ", 1)
            data["address_1"] = f"{_typo(street, rng)} {kind}" if rng.random() < 0.7 else f"{street} {_typo(kind, rng)}"
        elif how == "postcode_digit" and data["postcode"]:
            data["postcode"] = _digit_error(data["postcode"], rng)
    return {k: v for k, v in data.items() if v not in (None, "")}, tuple(picks)


def person_base(records: int, seed: int = 1, *, duplicate_share: float = 0.3, household_share: float = 0.04,
                most_duplicates: int = 3) -> PersonBase:
    """Exactly `records` person rows: originals, 1..most_duplicates corrupted duplicates of `duplicate_share` of
    them, and households (a second person with the same surname and address), shuffled."""
    rng = random.Random(seed)
    places, ids = _Places(rng), set[str]()
    rows: list[PersonRow] = []
    households: set[tuple[int, int]] = set()
    next_id = 1
    while len(rows) < records:
        original = _person(rng, places, ids)
        person_id, next_id = next_id, next_id + 1
        rows.append(PersonRow(person_id, original))
        if rng.random() < duplicate_share:
            for _ in range(rng.choice((1, 1, 1, 2, most_duplicates))):
                data, how = _duplicate(original, rng)
                rows.append(PersonRow(person_id, data, how))
        if rng.random() < household_share:
            address = (original["street_number"], original["address_1"], original["suburb"])
            rows.append(PersonRow(next_id, _person(rng, places, ids, original["surname"], address)))
            households.add((person_id, next_id))
            next_id += 1
    del rows[records:]
    rng.shuffle(rows)
    return PersonBase(rows, households)
