"""Match keys around a merge: the merged record's keys go (and come back on undo), the survivor's are recomputed."""

from __future__ import annotations

from typing import Any

from engine.config.model import Bundle
from engine.store.models import RecordRow
from engine.store.quality_models import MatchKeyRow
from engine.store.uow import UnitOfWork


def key_memo(uow: UnitOfWork, record: RecordRow) -> list[dict[str, Any]]:
    """A record's match keys as they are, for undo."""
    return [{"id": k.id, "entity": k.entity, "key": k.key, "value": k.value} for k in uow.merges.keys_of(record.id)]


def drop_keys(uow: UnitOfWork, memo: list[dict[str, Any]]) -> None:
    """Delete the match keys `key_memo` listed."""
    for saved in memo:
        row = uow.merges.match_key(saved["id"])
        if row is not None:
            uow.merges.delete(row)


def restore_keys(uow: UnitOfWork, record: RecordRow, memo: list[dict[str, Any]]) -> None:
    """Put back the match keys `drop_keys` returned (under their old ids while those are free)."""
    for saved in memo:
        taken = uow.merges.match_key(saved["id"]) is not None
        uow.merges.add(MatchKeyRow(id=None if taken else saved["id"], record_id=record.id, entity=saved["entity"],
                                   key=saved["key"], value=saved["value"]))
    uow.merges.flush()


def refresh_survivor_keys(uow: UnitOfWork, bundle: Bundle, survivor: RecordRow) -> None:
    """Recompute the survivor's match keys from its values after they changed."""
    from engine.quality.matching import refresh_keys

    refresh_keys(uow, bundle, survivor)
