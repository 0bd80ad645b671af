"""The `let` aggregates of the batch path carried from one record of the batch to the next (engine.rules.linked_batch
`_Aggregates`): with many rows on one target, count (with a `where` expression), sum (with a `where` filter), min
and max of money and of dates come out as row by row, and each linking record's value is read once, not once per
later record of the batch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.services.views import Actor
from tests.integration.test_import_bulk import Factory
from tests.integration.test_import_bulk_linked import Compare, batch_path_taken, job, targets, write_rows
from tests.statements import count_calls

TOTALS_RULE = """\
rule: deal_totals
label: {en: Deal totals, ru: Итоги сделок}
entity: Contact
on:
  - linked_created: {entity: Deal, via: client}
let:
  won: {count: Deal, via: client, where: "stage == 'won'"}
  won_sum: {sum: amount, of: Deal, via: client, where: {field: stage, op: eq, value: won}}
  top: {max: amount, of: Deal, via: client}
  bottom: {min: amount, of: Deal, via: client}
  earliest: {min: close_date, of: Deal, via: client}
  latest: {max: close_date, of: Deal, via: client}
when: "won >= 1"
actions:
  - compute: {won_count: "won", revenue: "won_sum", biggest: "top", smallest: "bottom", first_close: "earliest",
              last_close: "latest"}
else:
  - compute: {biggest: "top", won_count: "0"}
"""

TOTAL_FIELDS = """\
  won_count:    {type: integer, label: {en: Won deals, ru: Выиграно сделок}}
  revenue:      {type: money, label: {en: Revenue, ru: Выручка}}
  biggest:      {type: money, label: {en: Biggest deal, ru: Крупнейшая сделка}}
  smallest:     {type: money, label: {en: Smallest deal, ru: Наименьшая сделка}}
  first_close:  {type: date, label: {en: First close, ru: Первое закрытие}}
  last_close:   {type: date, label: {en: Last close, ru: Последнее закрытие}}
"""

HEADER = ["title", "stage", "amount", "close_date", "client", "organization"]
STAGES = ("new", "won", "lost", "won", "offer", "won", "won")


@pytest.fixture
def bundle_files(bundle_files: dict[str, str]) -> dict[str, str]:
    """The shipped bundle with Contact fields for the totals and the rule deal_totals in place of
    contact_status_by_deals (one rule per target entity keeps the batch path)."""
    files = {name: text for name, text in bundle_files.items() if "contact_status_by_deals" not in name}
    contact = files["crm_model/entities/contact.yaml"]
    notes = next(line for line in contact.splitlines(keepends=True) if line.startswith("  notes:"))
    files["crm_model/entities/contact.yaml"] = contact.replace(notes, notes + TOTAL_FIELDS, 1)
    return {**files, "crm_model/rules/deal_totals.yaml": TOTALS_RULE}


def deal_rows(people: list[int], companies: list[int], rows: int) -> list[list[str]]:
    """Deals in turn over the contacts: stages, amounts and close dates varying, with equal ones and empty ones."""
    return [
        [
            f"Deal {n}",
            STAGES[n % len(STAGES)],
            "" if n % 11 == 4 else str((n * 37) % 500 + (n % 3) / 4),
            "" if n % 5 == 2 else f"2026-{1 + (n * 7) % 12:02d}-{1 + n % 28:02d}",
            f"#{people[n % len(people)]}",
            f"#{companies[n % len(companies)]}",
        ]
        for n in range(rows)
    ]


def test_running_aggregates_of_many_rows_per_target_are_those_of_row_by_row(
    deployed: Factory, actors: dict[str, Actor], compare_paths: Compare, tmp_path: Path
) -> None:
    admin = actors["admin"]
    assert batch_path_taken(deployed, "Deal")  # the rule is one the batch path runs

    def imports(bulk: bool) -> list[Any]:
        people, companies = targets(deployed, admin, contacts=3)
        first = write_rows(tmp_path / "first.csv", HEADER, deal_rows(people, companies, 9))
        second = write_rows(tmp_path / "second.csv", HEADER, deal_rows(people, companies, 60)[9:])
        return [job(deployed, admin, "Deal", path, bulk=bulk, batch_size=100) for path in (first, second)]

    alone, expected = compare_paths(imports)
    assert [(c["created"], c["rejected"]) for _, c, _, _ in alone] == [(9, 0), (51, 0)], alone
    totals = [row for row in expected["field_change"] if "'rule deal_totals'" in str(row)]
    assert sum("'won_count'" in str(row) for row in totals) >= 20, totals  # the counts moved on inside the batch
    assert any("'revenue'" in str(row) for row in totals)
    assert any("'last_close'" in str(row) for row in totals)


def test_a_batch_on_one_target_reads_each_linked_value_once(
    deployed: Factory, actors: dict[str, Actor], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """300 deals of one contact in one batch: the money aggregates (a sum with a filter, a max, a min) read each
    deal's amount once (about 3 x 300); taken again from the start for every deal it was about 3 x 300²/2."""
    import engine.rules.aggregates as aggregates

    admin = actors["admin"]
    people, companies = targets(deployed, admin, contacts=1)
    path = write_rows(tmp_path / "deals.csv", HEADER, deal_rows(people, companies, 300))
    reads = count_calls(monkeypatch, aggregates, "amount")
    status, counts, _, rejects = job(deployed, admin, "Deal", path, bulk=True, batch_size=300)
    assert (status, counts["created"], rejects) == ("done", 300, [])
    assert len(reads) <= 3 * 300, len(reads)
    with deployed() as uow:
        contact = uow.records.get(people[0])
        assert contact is not None
        assert contact.data["won_count"] == sum(STAGES[n % len(STAGES)] == "won" for n in range(300))
