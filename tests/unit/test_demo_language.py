"""The demo data (`make run`) speaks the shipped CRM's default language: people, companies, deals, calls, notes and
segments read in Russian, so a Russian seller meets no English record and an English one meets a Russian company
(the UI around them is translated, the data is not)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from engine.config.loader import load_bundle, read_bundle_dir

ROOT = Path(__file__).resolve().parents[2]
CYRILLIC = re.compile(r"[А-Яа-яЁё]")
ENGLISH_WORD = re.compile(r"\b[A-Za-z][a-z]{2,}\b")  # codes and SKUs (MSK, NB-E14) are no words
WORDED = ("string", "text")
# Ivan Sokolov typed again in Latin: the demo's duplicate of Иван Соколов across scripts (docs/duplicates.md)
ON_PURPOSE = {"Ivan Sokolov"}


def english(value: object) -> bool:
    return (
        isinstance(value, str)
        and value not in ON_PURPOSE
        and bool(ENGLISH_WORD.search(value))
        and not CYRILLIC.search(value)
    )


def test_demo_records_users_and_segments_are_in_the_bundles_language() -> None:
    bundle = load_bundle(read_bundle_dir(ROOT))
    assert bundle.settings.default_locale == "ru"
    seed = yaml.safe_load((ROOT / "demo" / "seed.yaml").read_text(encoding="utf-8"))
    found = [f"user {u['username']}: {u['name']}" for u in seed["users"] if english(u.get("name"))]
    for number, record in enumerate(seed["records"], start=1):
        entity = bundle.entities[record["entity"]]
        found += [
            f"record {number} ({entity.name}) {name}: {value!r}"
            for name, value in record["data"].items()
            if name in entity.fields and entity.fields[name].type in WORDED and english(value)
        ]
    segments = yaml.safe_load((ROOT / "demo" / "segments.yaml").read_text(encoding="utf-8"))["segments"]
    found += [f"segment {s['name']}" for s in segments if english(s["name"]) or english(s.get("description"))]
    csv_text = (ROOT / "demo" / "contacts_import.csv").read_bytes().decode("cp1251")
    rows = [row.split(";") for row in csv_text.splitlines()]
    worded = [rows[0].index("ФИО"), rows[0].index("Должность")]  # the other columns hold phones, e-mails, codes
    found += [
        f"contacts_import.csv line {n}: {';'.join(row)}"
        for n, row in enumerate(rows, start=1)
        if any(english(row[i]) for i in worded)
    ]
    assert found == []
