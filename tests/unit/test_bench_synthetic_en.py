"""bench/synthetic_en.py: the English benchmark-style person base is deterministic, labelled and corrupted as
documented."""

from __future__ import annotations

from datetime import date

from bench.synthetic_en import CORRUPTIONS, person_base


def test_the_base_is_deterministic_sized_and_labelled() -> None:
    first, again = person_base(600, seed=4), person_base(600, seed=4)
    assert [r.data for r in first.rows] == [r.data for r in again.rows]
    assert len(first.rows) == 600
    pairs = first.duplicate_pairs()
    assert pairs
    assert all(first.rows[a].entity_id == first.rows[b].entity_id for a, b in pairs)
    assert first.households
    assert {how for row in first.rows for how in row.corruptions} == set(CORRUPTIONS)


def test_corruptions_change_what_they_say() -> None:
    base = person_base(2000, seed=5)
    originals = {row.entity_id: row.data for row in base.rows if not row.corruptions}
    for row in base.rows:
        original = originals.get(row.entity_id)
        if original is None or len(row.corruptions) != 1:
            continue
        (how,) = row.corruptions
        if how == "swap_names":
            assert (row.data["given_name"], row.data["surname"]) == (original["surname"], original["given_name"])
        elif how == "id_digit":
            ssn, theirs = row.data["soc_sec_id"], original["soc_sec_id"]
            assert ssn != theirs
            assert len(ssn) == len(theirs)
        elif how == "date_error":
            delta = abs((date.fromisoformat(row.data["date_of_birth"]) -
                         date.fromisoformat(original["date_of_birth"])).days)
            assert delta > 0
        elif how == "missing":
            assert set(row.data) < set(original)
