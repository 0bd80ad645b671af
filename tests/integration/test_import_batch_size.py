"""An import's duplicate pairs do not depend on its batch size: each new record meets the duplicate rules as the
database was when its row was written (what importing the file one row at a time leaves), whether the rows
after it that change another record or join its key groups are in its batch or in a later one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from engine.imports.run import run_import
from engine.services.imports import create_job, get_job
from engine.services.views import Actor
from engine.store.quality_models import DuplicatePairRow
from engine.store.uow import UnitOfWork
from tests.conftest import NOW

Factory = Callable[[], UnitOfWork]


def imported_pairs(make_uow: Factory, actor: Actor, path: Path, batch_size: int, bulk: bool) -> list[Any]:
    job = create_job(make_uow(), actor, "Contact", path.name, path, NOW)
    run_import(make_uow, job.id, lambda: NOW, batch_size=batch_size, bulk=bulk)
    done = get_job(make_uow(), actor, job.id)
    assert done.status == "done", done.message
    with make_uow() as uow:
        pairs = uow.session.scalars(select(DuplicatePairRow).order_by(DuplicatePairRow.id))
        found = [(p.record_a_id, p.record_b_id, p.rule, p.score) for p in pairs]
    return [done.counts, sorted(found)]


@pytest.mark.parametrize("bulk", [True, False])
@pytest.mark.parametrize("batch_size", [1, 2, 3, 10])
def test_a_record_changed_after_a_new_one_was_written_is_compared_as_it_was_then(
    deployed: Factory, actors: dict[str, Actor], tmp_path: Path, batch_size: int, bulk: bool
) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text(
        "Name,Phone,Email\n"
        "Ivan Petrov,,ivan.petrov@example.com\n"  # a record without a phone
        "Ivan Petrov,+7 912 345-67-89,\n"  # another with a phone: a similar name, nothing disagrees
        "Ivan Petrov,+7 912 345-67-89,ivan.petrov@example.com\n",  # the first by e-mail: its phone filled
        encoding="utf-8",
    )
    counts, pairs = imported_pairs(deployed, actors["admin"], path, batch_size, bulk)
    assert (counts["created"], counts["merged"], counts["rule_pairs"]) == (2, 1, 1)
    # when the second row was written the first record had no phone: the same name, no conflict, not the same
    # phone (a batch holding the third row too scored the pair with the phone the third row gave it)
    assert [pair[2:] for pair in pairs] == [("similar_name_no_conflict", 90.0)]


@pytest.mark.parametrize("batch_size", [1, 150, 300])
def test_a_key_group_a_batch_pushes_over_its_limit_keeps_the_records_that_joined_it_in_time(
    deployed: Factory, actors: dict[str, Actor], tmp_path: Path, batch_size: int
) -> None:
    path = tmp_path / "namesakes.csv"
    # 201 records of one name and nothing else to tell them apart: one group of the name keys (max_block 200)
    lines = [f"Ivan Petrov,note {n}\n" for n in range(201)]
    path.write_text("Name,Notes\n" + "".join(lines), encoding="utf-8")
    counts, pairs = imported_pairs(deployed, actors["admin"], path, batch_size, True)
    # one by one, each of the first 200 pairs with those before it; the 201st finds the group over its limit
    assert (counts["created"], counts["rule_pairs"], len(pairs)) == (201, 200 * 199 // 2, 200 * 199 // 2)
    assert max(b for _, b, *_ in pairs) - min(a for a, *_ in pairs) == 199
