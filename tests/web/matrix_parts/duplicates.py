"""The duplicate review pages. P is a pair of two contacts sam owns, already dismissed (so no decision changes
anything: 409 for those who may decide); M is a merge of them that was already undone (409 for undo)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.quality.merge import merge_records, undo_merge
from engine.quality.review import dismiss_pair
from engine.services.records import create_record
from engine.services.views import Actor
from engine.store.quality_models import DuplicatePairRow
from engine.store.uow import UnitOfWork
from tests.conftest import NOW
from tests.web.matrix_parts import LOGIN, row

ROWS = {
    ("GET", "/duplicates"): row(LOGIN, 200, 200, 403, 200, 200),
    ("GET", "/duplicates/<int:pair_id>"): row(LOGIN, 200, 200, 403, 200, 200),
    ("GET", "/duplicates/tuning"): row(LOGIN, 403, 200, 200, 200, 403),  # reads every record: no sellers
    ("POST", "/duplicates/<int:pair_id>/merge"): row(LOGIN, 403, 409, 403, 409, 403),
    ("POST", "/duplicates/<int:pair_id>/related"): row(LOGIN, 409, 409, 403, 409, 403),
    ("POST", "/duplicates/<int:pair_id>/dismiss"): row(LOGIN, 409, 409, 403, 409, 403),
    ("POST", "/merges/<int:merge_id>/undo"): row(LOGIN, 403, 409, 404, 409, 403),
}


def prepare(make_uow: Callable[[], UnitOfWork], actors: dict[str, Actor]) -> dict[str, Any]:
    """Two contacts of sam, their dismissed pair, and a merge of them that was undone."""
    sam, head = actors["sales"], actors["head"]
    ids = sorted(create_record(make_uow(), head, "Contact", {"full_name": name, "phone": "+7 916 100-20-30"}, NOW,
                               owner_id=sam.id).id for name in ("Pavel Orlov", "Pavel Orlov Jr"))
    with make_uow() as uow:
        pair = uow.merges.pair_between(*ids)
        if pair is None:
            pair = DuplicatePairRow(entity="Contact", record_a_id=ids[0], record_b_id=ids[1], score=95.0,
                                    rule="same_phone", reasons=[], status="open", found_by="scan", found_at=NOW)
            uow.session.add(pair)
            uow.commit()
        pair_id = pair.id
    merge_id = merge_records(make_uow(), head, ids[0], ids[1], {}, NOW, pair_id=pair_id)
    undo_merge(make_uow(), head, merge_id, NOW)
    dismiss_pair(make_uow(), head, pair_id, NOW)
    return {"pair_id": pair_id, "merge_id": merge_id}
