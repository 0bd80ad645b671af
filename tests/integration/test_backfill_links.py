"""The reference-link backfill: restores missing links exactly, removes stale ones, and a second run changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, select

import cli
from engine.errors import NotFound, ValidationError
from engine.processes.deployed import active_bundle
from engine.quality.merge import merge_records
from engine.services import records
from engine.services.maintenance import BACKFILL_BY, BackfillCounts, backfill_reference_links
from engine.services.views import Actor
from engine.store.models import RecordLinkRow
from engine.store.uow import UnitOfWork
from tests.conftest import NOW

MakeUow = Callable[[], UnitOfWork]
LATER = NOW + timedelta(days=1)
Edge = tuple[int, int, str, str | None]


def links(make_uow: MakeUow, kind: str | None = "reference") -> list[Edge]:
    """Every link as (from, to, kind, field), sorted; only reference links unless kind is None."""
    with make_uow() as uow:
        stmt = select(RecordLinkRow.from_record_id, RecordLinkRow.to_record_id, RecordLinkRow.kind,
                      RecordLinkRow.field)
        if kind is not None:
            stmt = stmt.where(RecordLinkRow.kind == kind)
        return sorted((a, b, c, d) for a, b, c, d in uow.session.execute(stmt).all())


def build(make_uow: MakeUow, actors: dict[str, Actor]) -> dict[str, int]:
    """Contacts, organizations, deals and leads whose reference fields fill some links in several entities."""
    head = actors["head"]

    def make(entity: str, **data: object) -> int:
        return records.create_record(make_uow(), head, entity, data, NOW, owner_id=actors["sales"].id,
                                     start_processes=False).id

    ids: dict[str, int] = {}
    ids["acme"] = make("Organization", name="Acme")
    ids["globex"] = make("Organization", name="Globex")
    ids["ann"] = make("Contact", full_name="Ann Smith", email="ann@example.com", organization=ids["acme"])
    ids["bob"] = make("Contact", full_name="Bob Jones", email="bob@example.org")
    ids["deal"] = make("Deal", title="20 laptops", client=ids["ann"], organization=ids["acme"])
    ids["deal2"] = make("Deal", title="Printers", client=ids["bob"])
    ids["lead"] = make("Lead", title="Servers", contact=ids["bob"], organization=ids["globex"])
    for n in range(5):
        ids[f"comment{n}"] = make("Comment", text=f"note {n}", about=ids["ann"] if n % 2 else ids["bob"])
    return ids


def run(make_uow: MakeUow, batch: int = 1000) -> BackfillCounts:
    bundle, _ = active_bundle(make_uow())
    return backfill_reference_links(make_uow(), bundle, LATER, batch=batch)


@pytest.mark.parametrize("batch", [1000, 2])
def test_deleted_reference_links_come_back_exactly_and_a_second_run_changes_nothing(
        deployed: MakeUow, actors: dict[str, Actor], batch: int) -> None:
    ids = build(deployed, actors)
    records.update_record(deployed(), actors["head"], ids["deal2"], {"client": ids["ann"]}, NOW)
    expected = links(deployed)
    assert (ids["deal2"], ids["ann"], "reference", "client") in expected
    assert len(expected) == 11
    with deployed() as uow:  # as before links existed: records written with no link rows
        uow.session.execute(delete(RecordLinkRow).where(RecordLinkRow.kind == "reference"))
        uow.commit()
    assert links(deployed) == []

    first = run(deployed, batch)
    assert links(deployed) == expected
    assert (first.created, first.removed, first.kept, first.records) == (11, 0, 0, 10)  # no Organization: no field
    with deployed() as uow:
        made = uow.session.scalars(select(RecordLinkRow.created_by).where(RecordLinkRow.kind == "reference")).all()
    assert set(made) == {BACKFILL_BY}

    second = run(deployed, batch)
    assert (second.created, second.removed, second.kept) == (0, 0, 11)
    assert links(deployed) == expected


def test_stale_doubled_and_orphan_reference_links_are_removed_and_hand_made_ones_kept(
        deployed: MakeUow, actors: dict[str, Actor]) -> None:
    ids = build(deployed, actors)
    expected = links(deployed)
    with deployed() as uow:
        deal = uow.records.get(ids["deal"])
        assert deal is not None
        deal.data = {k: v for k, v in deal.data.items() if k != "organization"}  # cleared behind the engine's back
        lead = uow.records.get(ids["lead"])
        assert lead is not None
        lead.data = {**lead.data, "contact": ids["ann"]}  # changed behind the engine's back
        stale = [
            (ids["deal2"], ids["acme"], "organization"),  # a link with no value behind it
            (ids["deal"], ids["ann"], "client"),  # a twin of a right one
            (ids["ann"], ids["globex"], "position"),  # a field that is no reference field
            (ids["bob"], ids["acme"], None),  # no field at all
        ]
        for origin, target, field in stale:
            uow.links.add(RecordLinkRow(from_record_id=origin, to_record_id=target, kind="reference", field=field,
                                        created_at=NOW, created_by="legacy"))
        uow.links.add(RecordLinkRow(from_record_id=ids["ann"], to_record_id=ids["bob"], kind="spouse", field=None,
                                    created_at=NOW, created_by="sam"))
        uow.commit()

    counts = run(deployed, batch=3)
    want = sorted({*expected} - {(ids["deal"], ids["acme"], "reference", "organization"),
                                 (ids["lead"], ids["bob"], "reference", "contact")}
                  | {(ids["lead"], ids["ann"], "reference", "contact")})
    assert links(deployed) == want
    assert (counts.created, counts.removed) == (1, 2 + len(stale))
    assert (ids["ann"], ids["bob"], "spouse", None) in links(deployed, None)
    assert run(deployed).created == run(deployed).removed == 0


def test_a_value_naming_a_missing_or_wrong_record_gets_no_link(deployed: MakeUow, actors: dict[str, Actor]) -> None:
    ids = build(deployed, actors)
    with deployed() as uow:
        for key, value in (("deal", 999_999), ("deal2", ids["acme"])):  # gone; an Organization, not a Contact
            row = uow.records.get(ids[key])
            assert row is not None
            row.data = {**row.data, "client": value}
        comment = uow.records.get(ids["comment0"])
        assert comment is not None
        comment.data = {**comment.data, "about": str(ids["ann"])}  # not an id
        uow.commit()
    run(deployed)
    found = links(deployed)
    assert not [e for e in found if e[0] in (ids["deal"], ids["deal2"]) and e[3] == "client"]
    assert not [e for e in found if e[0] == ids["comment0"]]
    assert (ids["deal"], ids["acme"], "reference", "organization") in found


def test_a_merged_record_gets_no_reference_links_back(deployed: MakeUow, actors: dict[str, Actor]) -> None:
    ids = build(deployed, actors)
    merge_records(deployed(), actors["head"], ids["deal"], ids["deal2"], {}, NOW)
    after_merge = links(deployed)
    assert not [e for e in after_merge if e[0] == ids["deal2"]]
    with deployed() as uow:
        uow.session.execute(delete(RecordLinkRow).where(RecordLinkRow.kind == "reference"))
        uow.commit()
    run(deployed)
    assert links(deployed) == after_merge


def test_bad_arguments_are_refused(deployed: MakeUow, actors: dict[str, Actor]) -> None:
    bundle, _ = active_bundle(deployed())
    with pytest.raises(ValidationError) as batch:
        backfill_reference_links(deployed(), bundle, LATER, batch=0)
    assert batch.value.errors == {"batch": ["must be at least 1, not 0"]}
    with pytest.raises(NotFound, match="unknown entity 'Nope'"):
        backfill_reference_links(deployed(), bundle, LATER, entities=["Nope"])


def test_the_cli_command_prints_what_it_did(db_url: str, deployed: MakeUow, actors: dict[str, Actor]) -> None:
    ids = build(deployed, actors)
    expected = links(deployed)
    with deployed() as uow:
        uow.session.execute(delete(RecordLinkRow).where(RecordLinkRow.from_record_id == ids["deal"]))
        uow.commit()
    runner = CliRunner()
    result = runner.invoke(cli.main, ["--database-url", db_url, "backfill-links", "--entity", "Deal",
                                      "--batch", "1"])
    assert result.exit_code == 0, result.output
    assert result.output == ("2 record(s) in 2 batch(es): 2 link(s) created, 0 stale link(s) removed, "
                             "1 already right\n")
    assert links(deployed) == expected
    again = runner.invoke(cli.main, ["--database-url", db_url, "backfill-links"])
    assert again.exit_code == 0, again.output
    assert ": 0 link(s) created, 0 stale link(s) removed, 11 already right" in again.output
    bad = runner.invoke(cli.main, ["--database-url", db_url, "backfill-links", "--entity", "Nope"])
    assert bad.exit_code == 1
    assert "unknown entity 'Nope'" in bad.output
