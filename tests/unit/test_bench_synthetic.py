"""The labelled synthetic contact base of the benchmarks: deterministic, labelled, and as hard as it says."""

from __future__ import annotations

import csv
from pathlib import Path

import phonenumbers
import pytest

from bench.common import NOW
from bench.names import feminine, patronymic, transliterate
from bench.synthetic import CSV_COLUMNS, contact_base, format_phone, record_rows, write_csv


@pytest.mark.parametrize(
    ("text", "scheme", "latin"),
    [
        ("Иванов", "passport", "Ivanov"),
        ("Иванов", "german", "Iwanow"),
        ("Иванов", "french", "Ivanoff"),
        ("Юлия", "common", "Yulia"),
        ("Юлия", "german", "Julia"),
        ("Юлия", "passport", "Iuliia"),
        ("Щербаков", "passport", "Shcherbakov"),
    ],
)
def test_transliteration_schemes_spell_names_as_people_do(text: str, scheme: str, latin: str) -> None:
    assert transliterate(text, scheme) == latin


def test_russian_name_forms() -> None:
    assert feminine("Иванов") == "Иванова"
    assert feminine("Вишневский") == "Вишневская"
    assert feminine("Черных") == "Черных"
    assert patronymic("Сергей", female=False) == "Сергеевич"
    assert patronymic("Дмитрий", female=True) == "Дмитриевна"
    assert patronymic("Илья", female=False) == "Ильич"


def test_every_phone_format_is_the_same_valid_number() -> None:
    for national in ("9123456789", "2125551234"):
        parsed = {phonenumbers.format_number(phonenumbers.parse(format_phone(national, style), "RU"),
                                             phonenumbers.PhoneNumberFormat.E164) for style in range(6)}
        assert len(parsed) == 1
    assert format_phone("9123456789", 0) == "8 (912) 345-67-89"
    assert format_phone("9123456789", 1) == "+7 912 3456789"


def test_base_is_deterministic_and_exactly_sized() -> None:
    one, two = contact_base(800, seed=3), contact_base(800, seed=3)
    assert len(one.rows) == 800
    assert [r.data for r in one.rows] == [r.data for r in two.rows]
    assert [r.data for r in contact_base(800, seed=4).rows] != [r.data for r in one.rows]


def test_labels_name_duplicates_households_and_namesakes() -> None:
    base = contact_base(3000, seed=1)
    pairs = base.pairs_by_entity()
    assert all(pairs[kind] for kind in ("duplicate", "household", "namesake"))
    for a, b in pairs["duplicate"]:
        assert base.rows[a].entity_id == base.rows[b].entity_id
    for a, b in base.households:
        assert base.people[a].phone == base.people[b].phone
        assert base.people[a].first != base.people[b].first
    for a, b in base.namesakes:
        assert base.people[a].first == base.people[b].first
        assert base.people[a].phone != base.people[b].phone
        assert base.people[a].email != base.people[b].email
    seen = {v for row in base.rows for v in row.variations}
    assert {"typo", "translit", "swap_names", "phone_format", "email_case", "missing_parts"} <= seen


def test_rows_serve_as_csv_and_as_record_rows(tmp_path: Path) -> None:
    base = contact_base(50, seed=2)
    path = tmp_path / "contacts.csv"
    assert write_csv(base.rows, path) == 50
    with path.open(encoding="utf-8", newline="") as handle:
        read = list(csv.DictReader(handle))
    assert tuple(read[0]) == CSV_COLUMNS
    assert [r["full_name"] for r in read] == [r.data["full_name"] for r in base.rows]
    records = list(record_rows(base.rows, now=NOW, start_id=10))
    assert [r["id"] for r in records] == list(range(10, 60))
    assert all(r["entity"] == "Contact" and r["title"] == r["data"]["full_name"] for r in records)


def test_every_generated_phone_is_valid_for_the_crm() -> None:
    base = contact_base(3000, seed=1)
    phones = [row.data["phone"] for row in base.rows if "phone" in row.data]
    assert all(phonenumbers.is_valid_number(phonenumbers.parse(phone, "RU")) for phone in phones)
